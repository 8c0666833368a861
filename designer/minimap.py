"""A minimap: the whole flow in miniature, with the visible part framed.

It does not render the scene. It draws one small rectangle per node (in the
kind's colour) and one line per edge from the items' positions, and only when
something changed, after a short pause (debounced), into a cached pixmap; a
drag therefore costs it nothing per frame. The pause has a ceiling: a canvas
that never goes quiet (a run's status badges, a long drag) would otherwise keep
pushing the redraw back and leave the minimap blank or stale all along. A newly
opened flow (the scene was rebuilt) is drawn at once, along with the canvas, before
the problems panel's check starts competing for the interpreter.
Clicking or dragging on the minimap centres the main view there.
"""

from __future__ import annotations

import time

from PySide6.QtCore import QLineF, QPointF, QRect, QRectF, Qt, QTimer
from PySide6.QtGui import QColor, QMouseEvent, QPainter, QPaintEvent, QPen, QPixmap
from PySide6.QtWidgets import QWidget

from .icons import kind_color
from .layout import NODE_H, NODE_W
from .view import FlowView

__all__ = ["MiniMap"]

DEBOUNCE_MS = 150  # redraw once the scene has been quiet this long...
MAX_WAIT_MS = 500  # ...but never later than this after the first change


class MiniMap(QWidget):
    """An overview of the flow; by default it sits in the view's bottom-right corner."""

    def __init__(self, view: FlowView, overlay: bool = True, size: tuple[int, int] = (200, 130),
                 parent: QWidget | None = None) -> None:
        super().__init__(parent if parent is not None or not overlay else view)
        self.view = view
        self.scene = view.flow_scene
        self.overlay = overlay
        self.setFixedSize(*size)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setToolTip("Overview: click to move the view")
        self._pixmap = QPixmap()
        self._world = QRectF()
        self._redraw = QTimer(self)
        self._redraw.setSingleShot(True)
        self._redraw.timeout.connect(self.refresh)
        self._deadline = 0.0  # monotonic time by which a pending redraw must happen
        self.scene.changed.connect(lambda _rects: self._schedule(DEBOUNCE_MS, MAX_WAIT_MS))
        self.scene.rebuilt.connect(self.refresh)  # a new flow: draw it with the canvas
        view.horizontalScrollBar().valueChanged.connect(self.update)
        view.verticalScrollBar().valueChanged.connect(self.update)
        view.zoomChanged.connect(self.update)
        if overlay:
            view.viewport().installEventFilter(self)
            self._place()
        self.refresh()
        if overlay:
            self.show()  # a child made after its parent was shown stays hidden otherwise

    def _schedule(self, delay_ms: int, latest_ms: int) -> None:
        """Redraw ``delay_ms`` from now, yet never past the pending redraw's deadline."""
        now = time.monotonic()
        deadline = now + latest_ms / 1000
        if self._redraw.isActive():
            deadline = min(deadline, self._deadline)
        self._deadline = deadline
        fire_at = min(now + delay_ms / 1000, deadline)
        self._redraw.start(max(0, round((fire_at - now) * 1000)))

    # -- placement over the view -----------------------------------------------------
    def _place(self) -> None:
        vp = self.view.viewport()
        self.move(vp.width() - self.width() - 10, vp.height() - self.height() - 10)

    def eventFilter(self, obj: object, event: object) -> bool:  # noqa: N802
        from PySide6.QtCore import QEvent

        if getattr(event, "type", lambda: None)() == QEvent.Type.Resize:
            self._place()
        return False

    # -- drawing -----------------------------------------------------------------------
    def _transform(self) -> tuple[float, QPointF]:
        w = self._world
        if w.isEmpty():
            return 1.0, QPointF(0, 0)
        scale = min((self.width() - 8) / w.width(), (self.height() - 8) / w.height())
        off = QPointF((self.width() - w.width() * scale) / 2 - w.left() * scale,
                      (self.height() - w.height() * scale) / 2 - w.top() * scale)
        return scale, off

    def refresh(self) -> None:
        """Redraw the miniature (called, debounced, after the scene changed or was rebuilt).

        Plain floats, not QPointF/QRectF arithmetic: at 5,000 nodes this is a few
        tens of milliseconds instead of most of a second.
        """
        self._redraw.stop()
        at: dict[str, tuple[float, float]] = {}
        kinds: dict[str, list[str]] = {}
        for item in self.scene.node_items():
            p = item.pos()
            at[item.node_id] = (p.x(), p.y())
            kinds.setdefault(item.kind, []).append(item.node_id)
        if at:
            xs = [x for x, _y in at.values()]
            ys = [y for _x, y in at.values()]
            self._world = QRectF(min(xs) - NODE_W / 2, min(ys) - NODE_H / 2,
                                 max(xs) - min(xs) + NODE_W,
                                 max(ys) - min(ys) + NODE_H).adjusted(-40, -40, 40, 40)
        else:
            self._world = QRectF()
        pixmap = QPixmap(self.size())
        pixmap.fill(QColor(255, 255, 255, 230))
        if at:
            scale, off = self._transform()
            ox, oy = off.x(), off.y()
            painter = QPainter(pixmap)
            painter.setPen(QPen(QColor("#b0bec5"), 0))
            lines = []
            for e in self.scene.edge_items():
                a, b = at.get(e.edge.source), at.get(e.edge.target)
                if a is not None and b is not None:
                    lines.append(QLineF(a[0] * scale + ox, a[1] * scale + oy,
                                        b[0] * scale + ox, b[1] * scale + oy))
            painter.drawLines(lines)
            painter.setPen(Qt.PenStyle.NoPen)
            w, h = max(2.0, NODE_W * scale), max(2.0, NODE_H * scale)
            for kind, ids in kinds.items():
                painter.setBrush(kind_color(kind))
                painter.drawRects([QRectF(at[i][0] * scale + ox - w / 2,
                                          at[i][1] * scale + oy - h / 2, w, h) for i in ids])
            painter.end()
        self._pixmap = pixmap
        self.update()

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802
        painter = QPainter(self)
        painter.drawPixmap(0, 0, self._pixmap)
        painter.setPen(QPen(QColor("#90a4ae"), 1))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawRect(QRect(0, 0, self.width() - 1, self.height() - 1))
        if not self._world.isEmpty():
            scale, off = self._transform()
            visible = self.view.visible_scene_rect()
            frame = QRectF(visible.topLeft() * scale + off, visible.size() * scale)
            painter.setPen(QPen(QColor("#1976d2"), 1.5))
            painter.setBrush(QColor(25, 118, 210, 30))
            painter.drawRect(frame.intersected(QRectF(self.rect())))
        painter.end()

    def scene_pos_at(self, point: QPointF) -> QPointF:
        scale, off = self._transform()
        return (point - off) / scale

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        if not self._world.isEmpty():
            self.view.centerOn(self.scene_pos_at(event.position()))
        event.accept()

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        if event.buttons() & Qt.MouseButton.LeftButton:
            self.mousePressEvent(event)
