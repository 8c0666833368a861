"""Kind icons and colours, loaded from ``resources/icons/<kind>.svg`` and cached.

The SVGs are the same pictures in the palette, on the canvas and in exported
diagrams; the canvas renders them as vectors so an SVG export stays sharp.
An unknown kind gets a grey square with a question mark rather than an error,
so a half-broken file still draws.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QIcon, QPainter, QPixmap
from PySide6.QtSvg import QSvgRenderer

from designer.resources import resource_path
from engine.kinds import KINDS

__all__ = ["ICON_DIR", "icon_path", "kind_color", "kind_icon", "kind_pixmap", "paint_kind_icon"]

ICON_DIR = resource_path("icons")
_UNKNOWN_COLOR = "#757575"


def icon_path(kind: str) -> Path | None:
    spec = KINDS.get(kind)
    if spec is None:
        return None
    path = ICON_DIR / spec.icon
    return path if path.exists() else None


def kind_color(kind: str) -> QColor:
    spec = KINDS.get(kind)
    return QColor(spec.color if spec else _UNKNOWN_COLOR)


@lru_cache(maxsize=64)
def _renderer(kind: str) -> QSvgRenderer | None:
    path = icon_path(kind)
    if path is None:
        return None
    renderer = QSvgRenderer(str(path))
    return renderer if renderer.isValid() else None


def paint_kind_icon(painter: QPainter, rect: QRectF, kind: str) -> None:
    """Draw the kind's icon into ``rect`` (vector when the SVG exists)."""
    renderer = _renderer(kind)
    if renderer is not None:
        renderer.render(painter, rect)
        return
    painter.save()
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(kind_color(kind))
    painter.drawRoundedRect(rect, rect.width() / 5, rect.width() / 5)
    painter.setPen(QColor("white"))
    painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, "?")
    painter.restore()


@lru_cache(maxsize=256)
def kind_pixmap(kind: str, size: int = 24) -> QPixmap:
    pixmap = QPixmap(size, size)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    paint_kind_icon(painter, QRectF(0, 0, size, size), kind)
    painter.end()
    return pixmap


def kind_icon(kind: str) -> QIcon:
    """The icon for menus, the palette and the quick-add list."""
    path = icon_path(kind)
    if path is not None:
        return QIcon(str(path))
    icon = QIcon()
    for size in (16, 24, 32, 48):
        icon.addPixmap(kind_pixmap(kind, size))
    return icon
