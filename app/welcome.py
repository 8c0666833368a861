"""The first-start page: the example flows, each a click away."""

from __future__ import annotations

import json
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QVBoxLayout,
    QWidget,
)

from designer.resources import resource_path

EXAMPLES_DIR = resource_path("examples")


def example_files() -> list[tuple[Path, str, str]]:
    """(path, name, description) of every example flow, sorted by file name."""
    out = []
    for path in sorted(EXAMPLES_DIR.glob("*.flow.json")):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        out.append((path, str(data.get("name", path.stem)), str(data.get("description", ""))))
    return out


class WelcomeDialog(QDialog):
    """Lists the examples; ``exampleChosen(path)`` when one is opened."""

    exampleChosen = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Welcome to Flowdesk")
        self.setObjectName("welcomeDialog")
        layout = QVBoxLayout(self)
        intro = QLabel("<h2>Welcome to Flowdesk</h2><p>Design a flow on the canvas, press "
                       "<b>F5</b> to run it, and watch it in the run monitor "
                       "(<b>Ctrl+M</b>). Open an example to start:</p>")
        intro.setWordWrap(True)
        layout.addWidget(intro)
        self.list = QListWidget()
        self.list.setObjectName("exampleList")
        # Long descriptions wrap instead of hiding behind a horizontal scroll bar.
        self.list.setWordWrap(True)
        self.list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.list.setUniformItemSizes(False)
        self.list.setSpacing(3)
        for path, name, description in example_files():
            item = QListWidgetItem(f"{name}\n{description}" if description else name)
            item.setData(Qt.ItemDataRole.UserRole, str(path))
            item.setToolTip(str(path))
            self.list.addItem(item)
        self.list.itemActivated.connect(self._open)
        layout.addWidget(self.list, 1)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Open
                                   | QDialogButtonBox.StandardButton.Close)
        buttons.accepted.connect(lambda: self._open(self.list.currentItem()))
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.resize(560, 420)

    def _open(self, item: QListWidgetItem | None) -> None:
        if item is None:
            return
        self.exampleChosen.emit(str(item.data(Qt.ItemDataRole.UserRole)))
        self.accept()
