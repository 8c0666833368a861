"""File → Connection profiles…: add, edit, remove and switch to a profile."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.profiles import DEFAULT_PROFILE, Profile, ProfileBook, ProfileError, make_profile


class ProfilesDialog(QDialog):
    """Lists the profiles; ``profileChosen(name)`` when the user switches to one."""

    profileChosen = Signal(str)

    def __init__(self, book: ProfileBook, current: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.book = book
        self.current = current
        self.setWindowTitle("Connection profiles")
        self.setObjectName("profilesDialog")
        layout = QHBoxLayout(self)
        left = QVBoxLayout()
        self.list = QListWidget()
        self.list.setObjectName("profileList")
        self.list.currentItemChanged.connect(self._load)
        left.addWidget(self.list, 1)
        new = QPushButton("New")
        new.clicked.connect(self.new_profile)
        self.remove_button = QPushButton("Remove")
        self.remove_button.clicked.connect(self.remove_profile)
        row = QHBoxLayout()
        row.addWidget(new)
        row.addWidget(self.remove_button)
        left.addLayout(row)
        layout.addLayout(left, 1)
        right = QVBoxLayout()
        form = QFormLayout()
        self.name = QLineEdit()
        self.name.setObjectName("profileName")
        self.type = QComboBox()
        self.type.setObjectName("profileType")
        self.type.addItem("SQLite file", "sqlite")
        self.type.addItem("PostgreSQL", "postgresql")
        self.type.addItem("Flowdesk server (https://user@host:port)", "server")
        self.type.currentIndexChanged.connect(self._type_changed)
        self.location = QLineEdit()
        self.location.setObjectName("profileLocation")
        self.password = QLineEdit()
        self.password.setObjectName("profilePassword")
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.password.setPlaceholderText("kept in the system keyring")
        form.addRow("Name", self.name)
        form.addRow("Type", self.type)
        self.location_label = QLabel("Database file")
        form.addRow(self.location_label, self.location)
        form.addRow("Password", self.password)
        right.addLayout(form)
        self.error = QLabel("")
        self.error.setObjectName("profileError")
        self.error.setWordWrap(True)
        self.error.setForegroundRole(self.error.palette().ColorRole.BrightText)
        right.addWidget(self.error)
        buttons = QHBoxLayout()
        self.save_button = QPushButton("Save")
        self.save_button.setObjectName("profileSave")
        self.save_button.clicked.connect(self.save_profile)
        self.use_button = QPushButton("Connect")
        self.use_button.setObjectName("profileUse")
        self.use_button.clicked.connect(self.use_profile)
        close = QPushButton("Close")
        close.clicked.connect(self.reject)
        buttons.addStretch(1)
        buttons.addWidget(self.save_button)
        buttons.addWidget(self.use_button)
        buttons.addWidget(close)
        right.addStretch(1)
        right.addLayout(buttons)
        layout.addLayout(right, 2)
        self._editing: str | None = None
        self.reload(select=current)
        self.resize(640, 320)

    def reload(self, select: str | None = None) -> None:
        self.list.clear()
        for profile in self.book.all():
            text = profile.name + ("  (current)" if profile.name == self.current else "")
            item = QListWidgetItem(text)
            item.setData(Qt.ItemDataRole.UserRole, profile.name)
            item.setToolTip(profile.describe())
            self.list.addItem(item)
            if profile.name == select:
                self.list.setCurrentItem(item)

    def _type_changed(self) -> None:
        pg = self.type.currentData() == "postgresql"
        self.location_label.setText("URL" if pg else "Database file")
        self.location.setPlaceholderText("postgresql+psycopg://user@host:5432/database" if pg
                                         else "/path/to/flowdesk.db")
        self.password.setEnabled(pg)

    def _load(self, item: QListWidgetItem | None) -> None:
        self.error.setText("")
        if item is None:
            return
        profile = self.book.get(item.data(Qt.ItemDataRole.UserRole))
        self._editing = profile.name
        self.name.setText(profile.name)
        self.type.setCurrentIndex(max(0, self.type.findData(profile.type)))
        location = profile.url
        if profile.type == "sqlite" and location.startswith("sqlite:///"):
            location = location[len("sqlite:///"):]
        self.location.setText(location)
        self.password.clear()
        builtin = profile.name == DEFAULT_PROFILE
        for widget in (self.name, self.type, self.location, self.save_button,
                       self.remove_button):
            widget.setEnabled(not builtin)
        self.password.setEnabled(not builtin and profile.type == "postgresql")
        if builtin:
            self.location.setText(profile.store_url())

    def new_profile(self) -> None:
        self.list.clearSelection()
        self._editing = None
        for widget in (self.name, self.type, self.location, self.save_button):
            widget.setEnabled(True)
        self.name.clear()
        self.location.clear()
        self.password.clear()
        self.type.setCurrentIndex(0)
        self._type_changed()
        self.name.setFocus()

    def save_profile(self) -> Profile | None:
        """Check and save the form; a bad value or an unsafe keyring is one sentence."""
        try:
            profile, from_url = make_profile(self.name.text(), self.type.currentData(),
                                             self.location.text())
            password = self.password.text() or from_url
            self.book.save(profile, password, replacing=self._editing)
        except ProfileError as exc:
            self.error.setText(str(exc))
            return None
        self.error.setText("")
        self.password.clear()
        self._editing = profile.name
        self.reload(select=profile.name)
        return profile

    def remove_profile(self) -> None:
        item = self.list.currentItem()
        if item is None:
            return
        try:
            self.book.remove(item.data(Qt.ItemDataRole.UserRole))
        except ProfileError as exc:
            self.error.setText(str(exc))
            return
        self.reload(select=self.current)

    def use_profile(self) -> None:
        item = self.list.currentItem()
        if item is not None:
            self.profileChosen.emit(str(item.data(Qt.ItemDataRole.UserRole)))
