"""The palette: every node kind of the engine's registry, ready to drag onto the canvas.

Each entry shows the kind's icon, title and one-line description. Typing in
the filter box narrows the list (title, kind name and description all count).
Dragging an entry carries the kind name as ``application/x-flowdesk-kind``
(UTF-8), which the canvas turns into a new node at the drop point;
double-clicking or pressing Enter emits ``kindActivated(kind)`` so the editor
adds the node at the centre of the view.
"""

from __future__ import annotations

from PySide6.QtCore import QMimeData, QPoint, QSize, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QDrag, QIcon, QPainter, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QVBoxLayout,
    QWidget,
)

from engine.kinds import KINDS, KindSpec

__all__ = ["KIND_MIME", "PaletteList", "PaletteWidget", "kind_icon", "kind_matches", "match_rank"]

KIND_MIME = "application/x-flowdesk-kind"
KIND_ROLE = Qt.ItemDataRole.UserRole


def kind_icon(kind: str) -> QIcon:
    """The kind's icon from :mod:`designer.icons` (D1's), or a plain coloured disc.

    The fallback exists so the palette works while the icon module is missing
    or fails to render a resource; it is never preferred over the real icon.
    """
    try:
        from designer import icons

        for name in ("kind_icon", "icon_for_kind", "icon"):
            fn = getattr(icons, name, None)
            if callable(fn):
                icon = fn(kind)
                if isinstance(icon, QIcon) and not icon.isNull():
                    return icon
    except ImportError:
        pass
    spec = KINDS.get(kind)
    pix = QPixmap(32, 32)
    pix.fill(Qt.GlobalColor.transparent)
    p = QPainter(pix)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    p.setBrush(QBrush(QColor(spec.color if spec else "#777777")))
    p.setPen(Qt.PenStyle.NoPen)
    p.drawEllipse(2, 2, 28, 28)
    p.end()
    return QIcon(pix)


def kind_matches(spec: KindSpec, text: str) -> bool:
    """Whether every word of ``text`` occurs in the kind's name, title or description."""
    hay = f"{spec.name} {spec.title} {spec.description}".lower()
    return all(word in hay for word in text.lower().split())


def match_rank(spec: KindSpec, text: str) -> int | None:
    """How well ``text`` names a kind: 0 title or name starts with it, 1 title or name
    contains it, 2 only the description does; ``None`` when it does not match."""
    if not kind_matches(spec, text):
        return None
    needle = text.strip().lower()
    names = (spec.name.lower(), spec.title.lower())
    if any(n.startswith(needle) for n in names):
        return 0
    if any(needle in n for n in names):
        return 1
    return 2


class PaletteList(QListWidget):
    """The list of kinds; a drag carries the kind name under :data:`KIND_MIME`."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setDragEnabled(True)
        self.setDragDropMode(QAbstractItemView.DragDropMode.DragOnly)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setIconSize(QSize(28, 28))
        self.setWordWrap(True)
        self.setSpacing(1)

    def mimeTypes(self) -> list[str]:  # noqa: N802 - Qt's name
        return [KIND_MIME, "text/plain"]

    def mimeData(self, items: list[QListWidgetItem]) -> QMimeData:  # noqa: N802
        data = QMimeData()
        if items:
            kind = str(items[0].data(KIND_ROLE))
            data.setData(KIND_MIME, kind.encode("utf-8"))
            data.setText(kind)
        return data

    def startDrag(self, supported: Qt.DropAction) -> None:  # noqa: N802 - Qt's name
        item = self.currentItem()
        if item is None:
            return
        drag = QDrag(self)
        drag.setMimeData(self.mimeData([item]))
        drag.setPixmap(item.icon().pixmap(32, 32))
        drag.setHotSpot(QPoint(16, 16))
        drag.exec(Qt.DropAction.CopyAction)


class PaletteWidget(QWidget):
    """A filter box over the list of kinds; emits ``kindActivated(kind)`` on double-click."""

    kindActivated = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("palette")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        self.filter_box = QLineEdit(self)
        self.filter_box.setPlaceholderText("Filter node kinds…")
        self.filter_box.setClearButtonEnabled(True)
        self.list = PaletteList(self)
        layout.addWidget(self.filter_box)
        layout.addWidget(self.list)
        for spec in KINDS.values():
            item = QListWidgetItem(kind_icon(spec.name), f"{spec.title}\n{spec.description}")
            item.setData(KIND_ROLE, spec.name)
            item.setToolTip(f"{spec.title} ({spec.name}): {spec.description}\n"
                            "Drag onto the canvas, or double-click to add at the centre.")
            self.list.addItem(item)
        self.filter_box.textChanged.connect(self.set_filter)
        self.filter_box.returnPressed.connect(self._activate_first_visible)
        self.list.itemActivated.connect(self._activate)

    def item_for(self, kind: str) -> QListWidgetItem:
        for i in range(self.list.count()):
            item = self.list.item(i)
            if item.data(KIND_ROLE) == kind:
                return item
        raise KeyError(kind)

    def visible_kinds(self) -> list[str]:
        return [str(self.list.item(i).data(KIND_ROLE)) for i in range(self.list.count())
                if not self.list.item(i).isHidden()]

    def set_filter(self, text: str) -> None:
        for i in range(self.list.count()):
            item = self.list.item(i)
            spec = KINDS[str(item.data(KIND_ROLE))]
            item.setHidden(not kind_matches(spec, text))

    def _activate(self, item: QListWidgetItem) -> None:
        self.kindActivated.emit(str(item.data(KIND_ROLE)))

    def _activate_first_visible(self) -> None:
        kinds = self.visible_kinds()
        if kinds:
            self.kindActivated.emit(kinds[0])
