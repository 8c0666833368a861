"""The canvas view: zoom, pan, rubber band, connecting by drag, drops from the palette.

Every edit the view starts is an undo command pushed on the document's stack;
the scene then repaints from the model's announcements. Edges that would make
a cycle or a duplicate are refused with a visible reason: a short message
over the canvas and the :attr:`FlowView.message` signal.
"""

from __future__ import annotations

from PySide6.QtCore import QPoint, QPointF, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import (
    QColor,
    QCursor,
    QDragEnterEvent,
    QDragMoveEvent,
    QDropEvent,
    QKeyEvent,
    QKeySequence,
    QMouseEvent,
    QPainter,
    QPen,
    QPixmapCache,
    QWheelEvent,
)
from PySide6.QtWidgets import QFrame, QGraphicsPathItem, QGraphicsView, QLabel, QWidget

from engine.kinds import KINDS
from engine.model import ModelError, Node

from .commands import (
    AddNodeCommand,
    ConnectCommand,
    MacroCommand,
    ReconnectEdgeCommand,
    RemoveItemsCommand,
    connection_problem,
)
from .items import LOW_DETAIL_ZOOM, EdgeItem, NodeItem, PortItem, curve
from .scene import FlowScene

__all__ = ["KIND_MIME", "FlowView"]

KIND_MIME = "application/x-flowdesk-kind"
MIN_ZOOM, MAX_ZOOM = 0.05, 4.0


def _shift_as_ctrl(event: QMouseEvent) -> QMouseEvent:
    """Shift+click adds to the selection like Ctrl+click (Qt's scene only knows Ctrl)."""
    mods = event.modifiers()
    if not mods & Qt.KeyboardModifier.ShiftModifier:
        return event
    return QMouseEvent(event.type(), event.position(), event.scenePosition(),
                       event.globalPosition(), event.button(), event.buttons(),
                       (mods & ~Qt.KeyboardModifier.ShiftModifier)
                       | Qt.KeyboardModifier.ControlModifier)


class FlowView(QGraphicsView):
    """The editor's canvas; :meth:`set_read_only` turns it into the run monitor's diagram."""

    quickAddRequested = Signal(QPointF, str)  # scene position, source node id or ""
    message = Signal(str)
    zoomChanged = Signal(float)

    def __init__(self, scene: FlowScene, parent: QWidget | None = None) -> None:
        super().__init__(scene, parent)
        self.flow_scene = scene
        self.document = scene.document
        self.read_only = False
        self.last_quick_add_on: str | None = None
        self._pan_from: QPoint | None = None
        self._space_down = False
        self._drag: dict | None = None  # a connect or reconnect drag in progress
        self.setRenderHints(QPainter.RenderHint.Antialiasing
                            | QPainter.RenderHint.TextAntialiasing)
        self.setViewportUpdateMode(QGraphicsView.ViewportUpdateMode.SmartViewportUpdate)
        self.setOptimizationFlags(QGraphicsView.OptimizationFlag.DontAdjustForAntialiasing)
        self.setCacheMode(QGraphicsView.CacheModeFlag.CacheBackground)  # the grid
        # Item caches live in QPixmapCache (10 MB by default): a few hundred visible
        # nodes overflow it and every frame would redraw every node from scratch.
        QPixmapCache.setCacheLimit(max(QPixmapCache.cacheLimit(), 96 * 1024))
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        self.setResizeAnchor(QGraphicsView.ViewportAnchor.AnchorViewCenter)
        self.setDragMode(QGraphicsView.DragMode.RubberBandDrag)
        self.setRubberBandSelectionMode(Qt.ItemSelectionMode.IntersectsItemShape)
        self.setAcceptDrops(True)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self._toast = QLabel(self.viewport())
        self._toast.setStyleSheet("background: rgba(33,33,33,220); color: white; "
                                  "padding: 6px 10px; border-radius: 6px;")
        self._toast.hide()
        self._toast_timer = QTimer(self)
        self._toast_timer.setSingleShot(True)
        self._toast_timer.timeout.connect(self._toast.hide)

    # -- zoom --------------------------------------------------------------------------
    @property
    def zoom(self) -> float:
        return self.transform().m11()

    def set_zoom(self, factor: float, under_mouse: bool = False) -> None:
        """Zoom to ``factor`` (clamped), keeping the view's centre in place, or the point
        under the mouse for wheel zooms."""
        factor = max(MIN_ZOOM, min(MAX_ZOOM, factor))
        anchor = (QGraphicsView.ViewportAnchor.AnchorUnderMouse if under_mouse
                  else QGraphicsView.ViewportAnchor.AnchorViewCenter)
        self.setTransformationAnchor(anchor)
        self.scale(factor / self.zoom, factor / self.zoom)
        self._zoom_changed()

    def _zoom_changed(self) -> None:
        self.flow_scene.set_item_caches(self.zoom >= LOW_DETAIL_ZOOM)
        self.zoomChanged.emit(self.zoom)

    def zoom_in(self) -> None:
        self.set_zoom(self.zoom * 1.25)

    def zoom_out(self) -> None:
        self.set_zoom(self.zoom / 1.25)

    def zoom_reset(self) -> None:
        """100 %."""
        self.set_zoom(1.0)

    def zoom_to_fit(self) -> None:
        rect = self.flow_scene.nodes_bounding_rect()
        if rect.isEmpty():
            self.zoom_reset()
            self.centerOn(0, 0)
            return
        self.fitInView(rect.adjusted(-30, -30, 30, 30), Qt.AspectRatioMode.KeepAspectRatio)
        if self.zoom > 1.5 or self.zoom < MIN_ZOOM:
            self.set_zoom(min(self.zoom, 1.5))
            self.centerOn(rect.center())
        self._zoom_changed()

    def wheelEvent(self, event: QWheelEvent) -> None:  # noqa: N802
        delta = event.angleDelta().y()
        if delta:
            self.set_zoom(self.zoom * (1.0015 ** delta), under_mouse=True)
        event.accept()

    # -- messages ------------------------------------------------------------------------
    def show_message(self, text: str, msec: int = 3500) -> None:
        """Show a short message over the canvas and emit :attr:`message`."""
        self._toast.setText(text)
        self._toast.adjustSize()
        self._toast.move(max(8, (self.viewport().width() - self._toast.width()) // 2), 12)
        self._toast.show()
        self._toast.raise_()
        self._toast_timer.start(msec)
        self.message.emit(text)

    @property
    def message_text(self) -> str:
        """The message on screen now, or "" (for tests and the status bar)."""
        return self._toast.text() if self._toast.isVisible() else ""

    # -- read-only and editing helpers -------------------------------------------------
    def set_read_only(self, read_only: bool) -> None:
        """No moves, drops, connections or deletes; selection and zoom still work."""
        self.read_only = read_only
        self.flow_scene.set_read_only(read_only)
        self.setAcceptDrops(not read_only)

    def scene_pos_under_cursor(self) -> QPointF:
        local = self.viewport().mapFromGlobal(QCursor.pos())
        if not self.viewport().rect().contains(local):
            local = self.viewport().rect().center()
        return self.mapToScene(local)

    def centre_scene_pos(self) -> QPointF:
        return self.mapToScene(self.viewport().rect().center())

    def _snap(self, pos: QPointF) -> tuple[float, float]:
        grid = self.flow_scene.snap_grid
        if grid:
            return (round(pos.x() / grid) * grid, round(pos.y() / grid) * grid)
        return (round(pos.x()), round(pos.y()))

    def add_node_at(self, kind: str, scene_pos: QPointF, connect_from: str = "",
                    on: str | None = None) -> str | None:
        """Add a node of ``kind`` centred at ``scene_pos`` as one undo step, optionally
        connected from ``connect_from``; returns the new id, or ``None`` when refused."""
        if self.read_only:
            return None
        if kind not in KINDS:
            self.show_message(f"'{kind}' is not a node kind.")
            return None
        flow = self.document.flow
        x, y = self._snap(scene_pos)
        node = Node(id=flow.unique_id(kind), kind=kind, x=x, y=y)
        if connect_from and on is None:
            on = self.last_quick_add_on
        if not connect_from:
            self.document.push(AddNodeCommand(flow, node))
        else:
            if not flow.has_node(connect_from):
                self.show_message(f"There is no node '{connect_from}' to connect from.")
                return None
            if kind == "start":
                self.show_message("No edge may lead into the start node.")
                return None
            macro = MacroCommand(f"Add {node.id} after {connect_from}")
            macro.children.append(AddNodeCommand(flow, node))
            edge_fields = {"on": "error"} if on == "error" else {}
            macro.children.append(ConnectCommand(flow, connect_from, node.id, check=False,
                                                 **edge_fields))
            self.document.push(macro)
        self.flow_scene.select_node(node.id, centre=False)
        return node.id

    def connect_nodes(self, source: str, target: str, on: str | None = None) -> bool:
        """Connect two nodes, or show why not (cycle, duplicate, start/end rules)."""
        why = connection_problem(self.document.flow, source, target, on)
        if why:
            self.show_message(f"Cannot connect: {why}.")
            return False
        fields = {"on": "error"} if on == "error" else {}
        self.document.push(ConnectCommand(self.document.flow, source, target, **fields))
        return True

    def delete_selection(self) -> None:
        if self.read_only:
            return
        nodes = self.flow_scene.selected_node_ids()
        edges = self.flow_scene.selected_edge_keys()
        if nodes or edges:
            self.document.push(RemoveItemsCommand(self.document.flow, nodes, edges))

    # -- drops from the palette ------------------------------------------------------------
    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802
        if not self.read_only and event.mimeData().hasFormat(KIND_MIME):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dragMoveEvent(self, event: QDragMoveEvent) -> None:  # noqa: N802
        if not self.read_only and event.mimeData().hasFormat(KIND_MIME):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802
        if self.read_only or not event.mimeData().hasFormat(KIND_MIME):
            event.ignore()
            return
        kind = bytes(event.mimeData().data(KIND_MIME).data()).decode("utf-8", "replace")
        if self.add_node_at(kind, self.mapToScene(event.position().toPoint())):
            event.acceptProposedAction()
        else:
            event.ignore()

    # -- mouse -------------------------------------------------------------------------------
    def _node_at(self, view_pos: QPoint) -> NodeItem | None:
        for item in self.items(view_pos):
            if isinstance(item, PortItem):
                return item.node_item
            if isinstance(item, NodeItem):
                return item
        return None

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        button = event.button()
        if button == Qt.MouseButton.MiddleButton or (
                button == Qt.MouseButton.LeftButton and self._space_down):
            self._pan_from = event.position().toPoint()
            self.viewport().setCursor(Qt.CursorShape.ClosedHandCursor)
            event.accept()
            return
        if button == Qt.MouseButton.LeftButton and not self.read_only:
            pos = event.position().toPoint()
            item = self.itemAt(pos)
            if isinstance(item, PortItem) and item.role in ("out", "error"):
                self._start_drag("connect", item.node_item, item.role, pos)
                event.accept()
                return
            for under in self.items(pos):  # an edge end, even under an input port
                if isinstance(under, EdgeItem):
                    end = self._edge_end_near(under, self.mapToScene(pos))
                    if end:
                        self._start_drag("reconnect", under, end, pos)
                        event.accept()
                        return
        super().mousePressEvent(_shift_as_ctrl(event))

    def _edge_end_near(self, item: EdgeItem, scene_pos: QPointF) -> str | None:
        reach = 16 / max(self.zoom, 0.1)
        for end, point in (("to", item.end_point()), ("from", item.start_point())):
            d = point - scene_pos
            if (d.x() ** 2 + d.y() ** 2) ** 0.5 <= reach:
                return end
        return None

    def _start_drag(self, mode: str, item: object, role: str, pos: QPoint) -> None:
        line = QGraphicsPathItem()
        pen = QPen(QColor("#1976d2"), 1.8, Qt.PenStyle.DashLine)
        pen.setCosmetic(True)
        line.setPen(pen)
        line.setZValue(10)
        self.flow_scene.addItem(line)
        self._drag = {"mode": mode, "item": item, "role": role, "line": line}
        self._update_drag(self.mapToScene(pos))

    def _drag_anchor(self) -> tuple[QPointF, bool]:
        """The fixed end of the line being dragged, and whether it is the source."""
        assert self._drag is not None
        item, role = self._drag["item"], self._drag["role"]
        if self._drag["mode"] == "connect":
            return item.port_scene_pos(role), True
        if role == "to":
            return item.start_point(), True
        return item.end_point(), False

    def _update_drag(self, scene_pos: QPointF) -> None:
        assert self._drag is not None
        anchor, is_source = self._drag_anchor()
        path = curve(anchor, scene_pos) if is_source else curve(scene_pos, anchor)
        self._drag["line"].setPath(path)
        self._hint_target(self._node_at(self.mapFromScene(scene_pos)))

    def _hint_target(self, target: NodeItem | None) -> None:
        """Show on the node under the cursor whether the dragged edge may end there."""
        assert self._drag is not None
        hinted: NodeItem | None = self._drag.get("hinted")
        if target is hinted:
            return
        if hinted is not None:
            hinted.set_drop_hint(None)
        self._drag["hinted"] = target
        if target is None:
            return
        flow = self.document.flow
        if self._drag["mode"] == "connect":
            source: NodeItem = self._drag["item"]
            if target is source:
                return
            on = "error" if self._drag["role"] == "error" else None
            why = connection_problem(flow, source.node_id, target.node_id, on)
        else:
            edge = self._drag["item"].edge
            a, b = (edge.source, target.node_id) if self._drag["role"] == "to" else (
                target.node_id, edge.target)
            why = connection_problem(flow, a, b, edge.on, ignore_key=edge.key)
        target.set_drop_hint(why is None)

    def _end_drag(self) -> dict:
        drag, self._drag = self._drag, None
        assert drag is not None
        self.flow_scene.removeItem(drag["line"])
        if drag.get("hinted") is not None:
            drag["hinted"].set_drop_hint(None)
        return drag

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        if self._pan_from is not None:
            delta = event.position().toPoint() - self._pan_from
            self._pan_from = event.position().toPoint()
            self.horizontalScrollBar().setValue(self.horizontalScrollBar().value() - delta.x())
            self.verticalScrollBar().setValue(self.verticalScrollBar().value() - delta.y())
            event.accept()
            return
        if self._drag is not None:
            self._update_drag(self.mapToScene(event.position().toPoint()))
            event.accept()
            return
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        if self._pan_from is not None and event.button() in (
                Qt.MouseButton.MiddleButton, Qt.MouseButton.LeftButton):
            self._pan_from = None
            self.viewport().unsetCursor()
            event.accept()
            return
        if self._drag is not None and event.button() == Qt.MouseButton.LeftButton:
            drag = self._end_drag()
            self._finish_drag(drag, event.position().toPoint())
            event.accept()
            return
        super().mouseReleaseEvent(_shift_as_ctrl(event))

    def _finish_drag(self, drag: dict, pos: QPoint) -> None:
        target = self._node_at(pos)
        flow = self.document.flow
        if drag["mode"] == "connect":
            source: NodeItem = drag["item"]
            on = "error" if drag["role"] == "error" else None
            if target is None:
                if not self.items(pos):
                    self.last_quick_add_on = on
                    self.quickAddRequested.emit(self.mapToScene(pos), source.node_id)
                return
            if target is source:
                return
            self.connect_nodes(source.node_id, target.node_id, on)
            return
        edge_item: EdgeItem = drag["item"]
        end: str = drag["role"]
        current = edge_item.edge.target if end == "to" else edge_item.edge.source
        if target is None:
            self.show_message("Drop the end of an edge on a node to reconnect it.")
            return
        if target.node_id == current:
            self.flow_scene.select_edge(edge_item.key, centre=False)
            return
        try:
            self.document.push(ReconnectEdgeCommand(flow, edge_item.key, end, target.node_id))
        except ModelError as exc:
            self.show_message(f"Cannot reconnect: {exc}.")

    # -- keys ----------------------------------------------------------------------------------
    def focusNextPrevChild(self, next: bool) -> bool:  # noqa: N802, A002
        return False  # Tab opens the quick-add instead of moving the focus

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802
        key, mods = event.key(), event.modifiers()
        ctrl = bool(mods & Qt.KeyboardModifier.ControlModifier)
        if key == Qt.Key.Key_Space and ctrl or key == Qt.Key.Key_Tab and not ctrl:
            if not self.read_only:
                self.last_quick_add_on = None
                self.quickAddRequested.emit(self.scene_pos_under_cursor(), "")
            event.accept()
        elif key == Qt.Key.Key_Space:
            if not event.isAutoRepeat():
                self._space_down = True
                self.viewport().setCursor(Qt.CursorShape.OpenHandCursor)
            event.accept()
        elif event.matches(QKeySequence.StandardKey.ZoomIn) or (ctrl and key in (
                Qt.Key.Key_Equal, Qt.Key.Key_Plus)):
            self.zoom_in()
        elif event.matches(QKeySequence.StandardKey.ZoomOut) or (ctrl and key == Qt.Key.Key_Minus):
            self.zoom_out()
        elif ctrl and key == Qt.Key.Key_0:
            self.zoom_reset()
        elif key in (Qt.Key.Key_Delete, Qt.Key.Key_Backspace) and not self.read_only:
            self.delete_selection()
        elif key == Qt.Key.Key_Escape and self._drag is not None:
            self._end_drag()
        else:
            super().keyPressEvent(event)

    def keyReleaseEvent(self, event: QKeyEvent) -> None:  # noqa: N802
        if event.key() == Qt.Key.Key_Space and not event.isAutoRepeat():
            self._space_down = False
            self.viewport().unsetCursor()
            event.accept()
            return
        super().keyReleaseEvent(event)

    def visible_scene_rect(self) -> QRectF:
        return self.mapToScene(self.viewport().rect()).boundingRect()
