"""The canvas scene: it listens to the document's model changes and nothing else.

The scene keeps two maps, node id → :class:`NodeItem` and edge key →
:class:`EdgeItem`, and updates them from each announced
:class:`engine.model.Change`. Editing goes the other way round, through undo
commands on the model, so loading, undo and programmatic edits repaint alike.
The only edit the scene starts itself is a move: a drag of selected nodes
becomes one :class:`MoveNodesCommand` when the mouse is released.
"""

from __future__ import annotations

import shiboken6
from PySide6.QtCore import QLineF, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QPainter, QPen
from PySide6.QtWidgets import QGraphicsItem, QGraphicsScene, QGraphicsSceneMouseEvent

from engine.model import Change, Edge, Node

from .commands import MoveNodesCommand
from .document import FlowDocument
from .items import EdgeItem, NodeItem
from .layout import auto_layout

__all__ = ["FlowScene"]

GRID = 20


class FlowScene(QGraphicsScene):
    """Items for one :class:`FlowDocument`, kept in step with its model."""

    rebuilt = Signal()  # after a reset (load, revert, new)

    def __init__(self, document: FlowDocument, parent: object | None = None) -> None:
        super().__init__(parent)  # type: ignore[arg-type]
        self.document = document
        self.flow = document.flow
        self._nodes: dict[str, NodeItem] = {}
        self._edges: dict[int, EdgeItem] = {}
        self.snap_grid = 0
        self.show_grid = True
        self.read_only = False
        self._caching = True
        self.full_text = False  # True while exporting: names in full, not shortened
        self._press_positions: dict[str, QPointF] = {}
        self.setBackgroundBrush(QColor("#fafafa"))
        self.setItemIndexMethod(QGraphicsScene.ItemIndexMethod.BspTreeIndex)
        document.changed.connect(self._on_change)
        self._rebuild()

    # -- public API -----------------------------------------------------------------
    def node_item(self, node_id: str) -> NodeItem | None:
        """The item drawing this node, or None (also once the scene has been destroyed)."""
        item = self._nodes.get(node_id)
        return item if item is not None and shiboken6.isValid(item) else None

    def edge_item(self, edge_key: int) -> EdgeItem | None:
        item = self._edges.get(edge_key)
        return item if item is not None and shiboken6.isValid(item) else None

    def node_items(self) -> list[NodeItem]:
        return list(self._nodes.values())

    def edge_items(self) -> list[EdgeItem]:
        return list(self._edges.values())

    def selected_node_ids(self) -> list[str]:
        """Selected nodes, in the model's order."""
        chosen = {i.node_id for i in self.selectedItems() if isinstance(i, NodeItem)}
        return [n.id for n in self.flow.nodes if n.id in chosen]

    def selected_edge_keys(self) -> list[int]:
        chosen = {i.key for i in self.selectedItems() if isinstance(i, EdgeItem)}
        return [e.key for e in self.flow.edges if e.key in chosen]

    def select_node(self, node_id: str, centre: bool = True) -> bool:
        """Select only this node and (by default) centre every view on it."""
        item = self._nodes.get(node_id)
        return self._select_only(item, centre)

    def select_edge(self, edge_key: int, centre: bool = True) -> bool:
        return self._select_only(self._edges.get(edge_key), centre)

    def _select_only(self, item: QGraphicsItem | None, centre: bool) -> bool:
        if item is None:
            return False
        self.clearSelection()
        item.setSelected(True)
        if centre:
            for view in self.views():
                view.centerOn(item)
        return True

    def select_all(self) -> None:
        """Select every node and edge, announcing selectionChanged once (not per item)."""
        self._select_items([*self._nodes.values(), *self._edges.values()], clear=False)

    def select_nodes(self, node_ids: list[str]) -> None:
        """Select exactly these nodes (pasted, duplicated…), announcing selectionChanged once:
        listeners such as the edit actions scan the selection, and 2,000 announcements of a
        growing selection made pasting 2,000 nodes quadratic."""
        self._select_items([item for nid in node_ids
                            if (item := self._nodes.get(nid)) is not None], clear=True)

    def _select_items(self, items: list[QGraphicsItem], clear: bool) -> None:
        blocked = self.blockSignals(True)
        try:
            if clear:
                self.clearSelection()
            for item in items:
                item.setSelected(True)
        finally:
            self.blockSignals(blocked)
        self.selectionChanged.emit()

    def set_read_only(self, read_only: bool) -> None:
        self.read_only = read_only
        for item in self._nodes.values():
            item.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIsMovable, not read_only)

    def set_item_caches(self, on: bool) -> None:
        """Item pixmap caches pay off at working zoom; zoomed far out (thousands of tiny
        nodes) making a pixmap per item costs more than drawing plain boxes."""
        if on == self._caching:
            return
        self._caching = on
        mode = (QGraphicsItem.CacheMode.DeviceCoordinateCache if on
                else QGraphicsItem.CacheMode.NoCache)
        for item in (*self._nodes.values(), *self._edges.values()):
            item.setCacheMode(mode)

    def clear_problems(self) -> None:
        for item in (*self._nodes.values(), *self._edges.values()):
            if item.problem:
                item.set_problem(None)

    def clear_run_states(self) -> None:
        for item in self._nodes.values():
            if item.run_state:
                item.set_run_state(None)

    def nodes_bounding_rect(self) -> QRectF:
        rect = QRectF()
        for item in self._nodes.values():
            rect = rect.united(item.sceneBoundingRect())
        for item in self._edges.values():
            rect = rect.united(item.sceneBoundingRect())
        return rect

    # -- following the model ------------------------------------------------------
    def _on_change(self, change: Change) -> None:
        handler = getattr(self, f"_on_{change.what}", None)
        if handler is not None:
            handler(change)

    def _on_reset(self, change: Change) -> None:
        self._rebuild()

    def _rebuild(self) -> None:
        self.clearSelection()
        for item in list(self._edges.values()):
            self.removeItem(item)
        for item in list(self._nodes.values()):
            self.removeItem(item)
        self._nodes.clear()
        self._edges.clear()
        missing = any(n.x is None or n.y is None for n in self.flow.nodes)
        placed = auto_layout(self.flow) if missing else {}
        # Set the scene rect up front: an unset one is recomputed from every item on
        # each query, which made loading quadratic.
        points = [(n.x, n.y) if n.x is not None and n.y is not None else placed[n.id]
                  for n in self.flow.nodes] or [(0.0, 0.0)]
        xs, ys = [p[0] for p in points], [p[1] for p in points]
        self.setSceneRect(QRectF(min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys))
                          .adjusted(-2000, -2000, 2000, 2000))
        for node in self.flow.nodes:
            self._add_node_item(node, placed.get(node.id))
        for edge in self.flow.edges:
            self._add_edge_item(edge)
        self.rebuilt.emit()

    def _add_node_item(self, node: Node, fallback: tuple[float, float] | None = None) -> None:
        item = NodeItem(node)
        if not self._caching:
            item.setCacheMode(QGraphicsItem.CacheMode.NoCache)
        if node.x is not None and node.y is not None:
            item.setPos(node.x, node.y)
        elif fallback is not None:
            item.setPos(*fallback)
        item.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIsMovable, not self.read_only)
        self._nodes[node.id] = item
        self.addItem(item)
        self._grow_rect(item.sceneBoundingRect())

    def _grow_rect(self, rect: QRectF) -> None:
        if not self.sceneRect().contains(rect):
            self.setSceneRect(self.sceneRect().united(rect.adjusted(-2000, -2000, 2000, 2000)))

    def _add_edge_item(self, edge: Edge) -> None:
        source, target = self._nodes.get(edge.source), self._nodes.get(edge.target)
        if source is None or target is None:
            return  # an edge naming a missing node: validation reports it
        item = EdgeItem(edge, source, target)
        if not self._caching:
            item.setCacheMode(QGraphicsItem.CacheMode.NoCache)
        self._edges[edge.key] = item
        self.addItem(item)

    def _on_node_added(self, change: Change) -> None:
        assert change.node is not None
        self._add_node_item(change.node, (0.0, 0.0))
        # An edge may have been waiting for this node (e.g. a file edited by hand).
        for edge in self.flow.edges_of(change.node.id):
            if edge.key not in self._edges:
                self._add_edge_item(edge)

    def _on_node_removed(self, change: Change) -> None:
        assert change.node is not None
        item = self._nodes.pop(change.node.id, None)
        if item is not None:
            for edge_item in list(item.edges):
                self._remove_edge_item(edge_item.key)
            self.removeItem(item)

    def _on_node_changed(self, change: Change) -> None:
        assert change.node is not None
        item = self._nodes.get(change.node.id)
        if item is None:
            return
        if change.field == "kind":  # other ports: draw the node afresh
            selected = item.isSelected()
            self._on_node_removed(change)
            self._on_node_added(Change("node_added", node=change.node))
            new_item = self._nodes[change.node.id]
            new_item.setSelected(selected)
            return
        if change.field == "pos":
            x, y = change.node.x, change.node.y
            if x is not None and y is not None and (item.pos().x(), item.pos().y()) != (x, y):
                item.setPos(x, y)
                item.move_edges()
                self._grow_rect(item.sceneBoundingRect())
        else:
            item.refresh(change.node)

    def _on_node_renamed(self, change: Change) -> None:
        assert change.node is not None
        item = self._nodes.pop(change.old, None)
        if item is not None:
            self._nodes[change.new] = item
            item.refresh(change.node)
            for edge_item in item.edges:
                edge_item.restyle()

    def _on_edge_added(self, change: Change) -> None:
        assert change.edge is not None
        self._add_edge_item(change.edge)

    def _remove_edge_item(self, key: int) -> None:
        item = self._edges.pop(key, None)
        if item is not None:
            item.detach()
            self.removeItem(item)

    def _on_edge_removed(self, change: Change) -> None:
        assert change.edge is not None
        self._remove_edge_item(change.edge.key)

    def _on_edge_changed(self, change: Change) -> None:
        edge = change.edge
        assert edge is not None
        item = self._edges.get(edge.key)
        if change.field in ("from", "to"):
            source, target = self._nodes.get(edge.source), self._nodes.get(edge.target)
            if item is None:
                self._add_edge_item(edge)
            elif source is None or target is None:
                self._remove_edge_item(edge.key)
            else:
                item.attach(source, target)
                item.restyle()
        elif item is not None:
            item.restyle()

    # -- moves: one undo step per drag -----------------------------------------------
    def mousePressEvent(self, event: QGraphicsSceneMouseEvent) -> None:  # noqa: N802
        super().mousePressEvent(event)
        self._press_positions = {
            i.node_id: i.pos() for i in self.selectedItems() if isinstance(i, NodeItem)}

    def mouseMoveEvent(self, event: QGraphicsSceneMouseEvent) -> None:  # noqa: N802
        super().mouseMoveEvent(event)
        if self._press_positions and event.buttons() & Qt.MouseButton.LeftButton:
            self._follow_drag()

    def _follow_drag(self) -> None:
        """Snap the dragged nodes to the grid (when on) and let their edges follow."""
        grid = self.snap_grid
        for node_id in self._press_positions:
            item = self._nodes.get(node_id)
            if item is None:
                continue
            if grid:
                p = item.pos()
                snapped = QPointF(round(p.x() / grid) * grid, round(p.y() / grid) * grid)
                if snapped != p:
                    item.setPos(snapped)
            item.move_edges()

    def mouseReleaseEvent(self, event: QGraphicsSceneMouseEvent) -> None:  # noqa: N802
        super().mouseReleaseEvent(event)
        self.commit_moves()

    def commit_moves(self) -> None:
        """Turn the item moves since the press into one MoveNodesCommand."""
        pressed, self._press_positions = self._press_positions, {}
        if self.read_only:
            return
        moved: dict[str, tuple[float, float]] = {}
        for node_id, before in pressed.items():
            item = self._nodes.get(node_id)
            if item is not None and item.pos() != before:
                moved[node_id] = (item.pos().x(), item.pos().y())
        if moved:
            text = "Move" if len(moved) == 1 else f"Move {len(moved)} nodes"
            self.document.push(MoveNodesCommand(self.flow, moved, text))

    # -- background grid ---------------------------------------------------------------
    def drawBackground(self, painter: QPainter, rect: QRectF) -> None:  # noqa: N802
        super().drawBackground(painter, rect)
        if not self.show_grid:
            return
        scale = painter.worldTransform().m11()
        step = GRID * 5 if scale < 0.6 else GRID
        if scale * step < 6:
            return
        painter.setPen(QPen(QColor("#ececec"), 0))
        left = int(rect.left()) - int(rect.left()) % step
        top = int(rect.top()) - int(rect.top()) % step
        lines = [QLineF(x, rect.top(), x, rect.bottom())
                 for x in range(left, int(rect.right()) + 1, step)]
        lines += [QLineF(rect.left(), y, rect.right(), y)
                  for y in range(top, int(rect.bottom()) + 1, step)]
        painter.drawLines(lines)  # one painter call for the whole grid
