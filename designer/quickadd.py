"""Quick add: a search box with a filtered list of kinds, opened at a point of the canvas.

Like Orange's and KNIME's quick menus: Ctrl+Space or Tab over the canvas (or
dropping a connection on empty canvas) opens it where the cursor is; typing
filters, Up/Down move, Enter or a click picks (``kindChosen(kind)``), Esc or a
click elsewhere closes it (``cancelled``).
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, QPoint, QSize, Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QFrame,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QVBoxLayout,
    QWidget,
)

from designer.palette import KIND_ROLE, kind_icon, match_rank
from engine.kinds import KINDS

__all__ = ["QuickAddPopup"]

RANK_ROLE = Qt.ItemDataRole.UserRole + 1


class QuickAddPopup(QFrame):
    """A small popup window: search box on top, matching kinds below."""

    kindChosen = Signal(str)
    cancelled = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent, Qt.WindowType.Popup)
        self.setObjectName("quickAdd")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        self.search = QLineEdit(self)
        self.search.setPlaceholderText("Add a node: type to search…")
        self.list = QListWidget(self)
        self.list.setIconSize(QSize(20, 20))
        self.list.setMinimumWidth(260)
        layout.addWidget(self.search)
        layout.addWidget(self.list)
        for spec in KINDS.values():
            item = QListWidgetItem(kind_icon(spec.name), spec.title)
            item.setData(KIND_ROLE, spec.name)
            item.setToolTip(spec.description)
            self.list.addItem(item)
        self._picked = False
        self.search.textChanged.connect(self._filter)
        self.search.installEventFilter(self)
        self.list.itemClicked.connect(self._pick)
        self.list.itemActivated.connect(self._pick)
        self.resize(300, 300)

    def popup_at(self, global_pos: QPoint) -> None:
        """Show at ``global_pos`` with an empty search and the first kind highlighted."""
        self._picked = False
        self.search.clear()
        self._filter("")
        self.move(global_pos)
        self.show()
        self.raise_()
        self.activateWindow()
        self.search.setFocus(Qt.FocusReason.PopupFocusReason)

    def visible_kinds(self) -> list[str]:
        return [str(self.list.item(i).data(KIND_ROLE)) for i in range(self.list.count())
                if not self.list.item(i).isHidden()]

    def current_kind(self) -> str | None:
        item = self.list.currentItem()
        return None if item is None or item.isHidden() else str(item.data(KIND_ROLE))

    def _filter(self, text: str) -> None:
        """Hide what does not match; best matches (by title or name) first."""
        order = list(KINDS)
        ranked: list[tuple[int, int, QListWidgetItem]] = []
        while self.list.count():
            item = self.list.takeItem(0)
            kind = str(item.data(KIND_ROLE))
            rank = match_rank(KINDS[kind], text)
            item.setData(RANK_ROLE, rank)
            ranked.append((3 if rank is None else rank, order.index(kind), item))
        for _rank, _index, item in sorted(ranked, key=lambda r: r[:2]):
            self.list.addItem(item)
            item.setHidden(item.data(RANK_ROLE) is None)
        first = self.list.item(0)
        self.list.setCurrentItem(first if first is not None and not first.isHidden() else None)

    def _step(self, delta: int) -> None:
        rows = [i for i in range(self.list.count()) if not self.list.item(i).isHidden()]
        if not rows:
            return
        cur = self.list.currentRow()
        pos = rows.index(cur) if cur in rows else -delta
        self.list.setCurrentRow(rows[max(0, min(len(rows) - 1, pos + delta))])

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt's name
        if obj is self.search and event.type() == QEvent.Type.KeyPress:
            key = event.key()  # type: ignore[attr-defined]
            if key == Qt.Key.Key_Down:
                self._step(1)
                return True
            if key == Qt.Key.Key_Up:
                self._step(-1)
                return True
            if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
                item = self.list.currentItem()
                if item is not None and not item.isHidden():
                    self._pick(item)
                return True
            if key == Qt.Key.Key_Escape:
                self.close()
                return True
        return super().eventFilter(obj, event)

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 - Qt's name
        if event.key() == Qt.Key.Key_Escape:
            self.close()
            return
        super().keyPressEvent(event)

    def _pick(self, item: QListWidgetItem) -> None:
        if self._picked:
            return
        self._picked = True
        kind = str(item.data(KIND_ROLE))
        self.hide()
        self.kindChosen.emit(kind)

    def hideEvent(self, event: QEvent) -> None:  # noqa: N802 - Qt's name
        super().hideEvent(event)  # type: ignore[arg-type]
        if not self._picked:
            self._picked = True
            self.cancelled.emit()
