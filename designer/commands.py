"""Undo commands: each one calls only :class:`engine.model.Flow` mutators.

Because the scene repaints from the model's announcements, a command never
touches an item. Commands take the bare :class:`~engine.model.Flow`, so they
are tested without any scene: push, undo, redo, compare the model's JSON.
Multi-item operations are one parent command with children, so they undo as
one step. Property edits merge (``id``/``mergeWith``) while the same field of
the same node or edge is edited in a row.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from typing import Any

from PySide6.QtGui import QUndoCommand

from engine.flowfile import ID_RE
from engine.model import Edge, Flow, ModelError, Node

from .layout import auto_layout

__all__ = [
    "AddNodeCommand", "AlignCommand", "AutoLayoutCommand", "ConnectCommand",
    "DistributeCommand", "MacroCommand", "MoveNodesCommand", "PasteCommand", "ReconnectEdgeCommand",
    "RemoveEdgeCommand", "RemoveItemsCommand", "RemoveNodeCommand", "RenameNodeCommand",
    "SetEdgeFieldCommand", "SetFlowFieldCommand", "SetNodeFieldCommand", "connection_problem",
]

Pos = tuple[float | None, float | None]

_SET_NODE_ID, _SET_EDGE_ID, _SET_FLOW_ID = 1001, 1002, 1003


def _reaches(flow: Flow, start: str, goal: str, ignore_key: int | None = None) -> bool:
    succ: dict[str, list[str]] = {}
    for e in flow.edges:
        if e.key != ignore_key:
            succ.setdefault(e.source, []).append(e.target)
    seen, todo = {start}, [start]
    while todo:
        for nxt in succ.get(todo.pop(), ()):
            if nxt == goal:
                return True
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return False


def connection_problem(flow: Flow, source: str, target: str, on: str | None = None,
                       ignore_key: int | None = None) -> str | None:
    """Why an edge ``source -> target`` may not be drawn, or ``None`` when it may.

    ``ignore_key`` leaves out one existing edge (the one being reconnected).
    """
    if not flow.has_node(source) or not flow.has_node(target):
        return "an edge must join two existing nodes"
    if source == target:
        return f"a node cannot connect to itself ('{source}')"
    if flow.node(target).kind == "start":
        return "no edge may lead into the start node"
    if flow.node(source).kind == "end":
        return "no edge may leave an end node"
    kind = on or "success"
    for e in flow.edges:
        if (e.key != ignore_key and e.source == source and e.target == target
                and (e.on or "success") == kind):
            return f"there is already an edge from '{source}' to '{target}'"
    if _reaches(flow, target, source, ignore_key):
        return f"an edge from '{source}' to '{target}' would make a cycle"
    return None


class AddNodeCommand(QUndoCommand):
    def __init__(self, flow: Flow, node: Node) -> None:
        super().__init__(f"Add {node.label}")
        if flow.has_node(node.id):
            raise ModelError(f"a node with id '{node.id}' already exists")
        self.flow, self.node, self.index = flow, node, None

    def redo(self) -> None:
        self.index = self.flow.add_node(self.node, self.index)

    def undo(self) -> None:
        self.flow.remove_node(self.node.id)


class RemoveEdgeCommand(QUndoCommand):
    def __init__(self, flow: Flow, key: int) -> None:
        self.flow, self.edge = flow, flow.edge(key)
        super().__init__(f"Remove edge {self.edge.source} → {self.edge.target}")
        self.index = 0

    def redo(self) -> None:
        _, self.index = self.flow.remove_edge(self.edge.key)

    def undo(self) -> None:
        self.flow.add_edge(self.edge, self.index)


class RemoveNodeCommand(QUndoCommand):
    """Removes one node that has no edges left (its parent removed them first)."""

    def __init__(self, flow: Flow, node_id: str) -> None:
        super().__init__(f"Remove {node_id}")
        self.flow, self.node, self.index = flow, flow.node(node_id), 0

    def redo(self) -> None:
        _, self.index, _ = self.flow.remove_node(self.node.id)

    def undo(self) -> None:
        self.flow.add_node(self.node, self.index)


class MacroCommand(QUndoCommand):
    """A parent command whose child commands run in order and undo in reverse.

    The children are kept in a Python list rather than given a Qt parent: with a
    Qt parent, PySide deletes them twice when the stack drops the parent (a crash).
    """

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.children: list[QUndoCommand] = []

    def redo(self) -> None:
        for child in self.children:
            child.redo()

    def undo(self) -> None:
        for child in reversed(self.children):
            child.undo()


class RemoveItemsCommand(MacroCommand):
    """Delete nodes and edges as one step: children remove the edges, then the nodes."""

    def __init__(self, flow: Flow, node_ids: Iterable[str] = (), edge_keys: Iterable[int] = (),
                 text: str = "Delete") -> None:
        super().__init__(text)
        ids = [n.id for n in flow.nodes if n.id in set(node_ids)]
        keys = set(edge_keys)
        self.children = [RemoveEdgeCommand(flow, e.key) for e in flow.edges
                         if e.key in keys or e.source in ids or e.target in ids]
        self.children += [RemoveNodeCommand(flow, nid) for nid in ids]
        self.empty = not self.children


class MoveNodesCommand(QUndoCommand):
    """Move nodes to new centres; one step for a whole drag (pushed on mouse release)."""

    def __init__(self, flow: Flow, new: dict[str, tuple[float, float]], text: str = "Move") -> None:
        super().__init__(text)
        self.flow = flow
        self.old: dict[str, Pos] = {nid: (flow.node(nid).x, flow.node(nid).y) for nid in new}
        self.new = {nid: (_tidy(x), _tidy(y)) for nid, (x, y) in new.items()}

    def redo(self) -> None:
        for nid, (x, y) in self.new.items():
            self.flow.move_node(nid, x, y)

    def undo(self) -> None:
        for nid, (x, y) in self.old.items():
            self.flow.move_node(nid, x, y)  # type: ignore[arg-type]


def _tidy(v: float) -> float:
    """Round positions to 0.1 and write whole numbers as integers, so files stay clean."""
    v = round(float(v), 1)
    return int(v) if v.is_integer() else v


def _pos(flow: Flow, nid: str) -> tuple[float, float]:
    n = flow.node(nid)
    return (n.x or 0.0, n.y or 0.0)


class AlignCommand(MoveNodesCommand):
    """Line nodes up: ``left``, ``right``, ``hcentre`` (one column) or ``top``,
    ``bottom``, ``vcentre`` (one row). All nodes have the same size, so the
    left edges line up exactly when the centres do."""

    MODES = ("left", "right", "hcentre", "top", "bottom", "vcentre")

    def __init__(self, flow: Flow, node_ids: Iterable[str], mode: str) -> None:
        if mode not in self.MODES:
            raise ValueError(f"unknown alignment '{mode}' (use {', '.join(self.MODES)})")
        ids = list(node_ids)
        pos = {nid: _pos(flow, nid) for nid in ids}
        xs, ys = [p[0] for p in pos.values()], [p[1] for p in pos.values()]
        new: dict[str, tuple[float, float]] = {}
        if ids:
            target = {"left": min, "right": max, "top": min, "bottom": max,
                      "hcentre": lambda v: sum(v) / len(v), "vcentre": lambda v: sum(v) / len(v)}
            horizontal = mode in ("left", "right", "hcentre")
            value = target[mode](xs if horizontal else ys)
            new = {nid: (value, y) if horizontal else (x, value) for nid, (x, y) in pos.items()}
        super().__init__(flow, new, f"Align {mode}")


class DistributeCommand(MoveNodesCommand):
    """Space nodes evenly between the outermost two, along ``horizontal`` or ``vertical``."""

    def __init__(self, flow: Flow, node_ids: Iterable[str], axis: str = "horizontal") -> None:
        if axis not in ("horizontal", "vertical"):
            raise ValueError(f"unknown axis '{axis}' (use horizontal or vertical)")
        i = 0 if axis == "horizontal" else 1
        pos = sorted(((nid, _pos(flow, nid)) for nid in node_ids), key=lambda p: p[1][i])
        new: dict[str, tuple[float, float]] = {}
        if len(pos) >= 3:
            first, last = pos[0][1][i], pos[-1][1][i]
            step = (last - first) / (len(pos) - 1)
            for k, (nid, (x, y)) in enumerate(pos):
                v = first + k * step
                new[nid] = (v, y) if i == 0 else (x, v)
        super().__init__(flow, new, f"Distribute {axis}ly")


class AutoLayoutCommand(MoveNodesCommand):
    """Lay the whole flow out in layers, left to right, as one undoable step."""

    def __init__(self, flow: Flow) -> None:
        super().__init__(flow, auto_layout(flow), "Auto-layout")


class ConnectCommand(QUndoCommand):
    """Add one edge; refuses (ModelError) an edge that would be a cycle or duplicate."""

    def __init__(self, flow: Flow, source: str, target: str, *, check: bool = True,
                 **fields: Any) -> None:
        super().__init__(f"Connect {source} → {target}")
        if check and (why := connection_problem(flow, source, target, fields.get("on"))):
            raise ModelError(why)
        self.flow = flow
        self.edge = Edge(source, target, **fields)
        self.index: int | None = None

    def redo(self) -> None:
        self.index = self.flow.add_edge(self.edge, self.index)

    def undo(self) -> None:
        self.flow.remove_edge(self.edge.key)


class ReconnectEdgeCommand(QUndoCommand):
    """Move one end (``from`` or ``to``) of an edge to another node."""

    def __init__(self, flow: Flow, key: int, end: str, node_id: str) -> None:
        if end not in ("from", "to"):
            raise ValueError(f"an edge end is 'from' or 'to', not '{end}'")
        edge = flow.edge(key)
        source = node_id if end == "from" else edge.source
        target = node_id if end == "to" else edge.target
        if why := connection_problem(flow, source, target, edge.on, ignore_key=key):
            raise ModelError(why)
        super().__init__(f"Reconnect {source} → {target}")
        self.flow, self.key, self.end = flow, key, end
        self.old = edge.source if end == "from" else edge.target
        self.new = node_id

    def redo(self) -> None:
        self.flow.set_edge_field(self.key, self.end, self.new)

    def undo(self) -> None:
        self.flow.set_edge_field(self.key, self.end, self.old)


class _MergingSet(QUndoCommand):
    """A field edit that merges with the next edit of the same target and field."""

    merge_id = -1

    def __init__(self, text: str, target: object, name: str, value: Any) -> None:
        super().__init__(text)
        self.target, self.name = target, name
        self.value = copy.deepcopy(value)
        self.old: Any = None
        self._done_once = False

    def _set(self, value: Any) -> Any:
        raise NotImplementedError

    def redo(self) -> None:
        old = self._set(self.value)
        if not self._done_once:
            self.old, self._done_once = copy.deepcopy(old), True

    def undo(self) -> None:
        self._set(self.old)

    def id(self) -> int:
        return self.merge_id

    def mergeWith(self, other: QUndoCommand) -> bool:  # noqa: N802 - Qt's name
        if not isinstance(other, type(self)) or (other.target, other.name) != (
                self.target, self.name):
            return False
        self.value = other.value
        if self.value == self.old:
            self.setObsolete(True)
        return True


class SetNodeFieldCommand(_MergingSet):
    """Set one node field (``name``, ``config``, ``retry``, ``timeout_s``, ``join``…).

    ``value=None`` removes an optional field. For one config key use
    :meth:`config_key`, which builds the whole new config.
    """

    merge_id = _SET_NODE_ID

    def __init__(self, flow: Flow, node_id: str, name: str, value: Any) -> None:
        flow.node(node_id)
        if name in ("id", "x", "y", "pos"):
            raise ModelError(f"'{name}' is changed with RenameNodeCommand or MoveNodesCommand")
        super().__init__(f"Set {node_id}.{name}", node_id, name, value)
        self.flow = flow

    @classmethod
    def config_key(cls, flow: Flow, node_id: str, key: str, value: Any) -> SetNodeFieldCommand:
        """Set (or with ``value=None`` remove) one key of the node's config."""
        config = dict(flow.node(node_id).cfg)
        if value is None:
            config.pop(key, None)
        else:
            config[key] = value
        return cls(flow, node_id, "config", config or None)

    def _set(self, value: Any) -> Any:
        return self.flow.set_node_field(self.target, self.name, value)  # type: ignore[arg-type]


class SetEdgeFieldCommand(_MergingSet):
    """Set ``when``, ``default``, ``on`` or ``label`` of an edge (``None`` removes it)."""

    merge_id = _SET_EDGE_ID

    def __init__(self, flow: Flow, key: int, name: str, value: Any) -> None:
        flow.edge(key)
        if name not in ("when", "default", "on", "label"):
            raise ModelError(f"'{name}' is not an edge field that can be edited here")
        super().__init__(f"Set edge {name}", key, name, value)
        self.flow = flow

    def _set(self, value: Any) -> Any:
        return self.flow.set_edge_field(self.target, self.name, value)  # type: ignore[arg-type]


class SetFlowFieldCommand(_MergingSet):
    """Set the flow's ``name``, ``description``, ``inputs`` or ``concurrency``."""

    merge_id = _SET_FLOW_ID

    def __init__(self, flow: Flow, name: str, value: Any) -> None:
        if name not in ("name", "description", "inputs", "concurrency"):
            raise ModelError(f"'{name}' is not a flow field that can be set")
        super().__init__(f"Set flow {name}", "flow", name, value)
        self.flow = flow

    def _set(self, value: Any) -> Any:
        return self.flow.set_flow_field(self.name, value)


class RenameNodeCommand(QUndoCommand):
    """Change a node's id; edges and ``cancels`` lists follow (the model rewrites them)."""

    def __init__(self, flow: Flow, old_id: str, new_id: str) -> None:
        flow.node(old_id)
        if not ID_RE.match(new_id):
            raise ModelError(f"'{new_id}' is not a valid id: use a letter or _ followed by "
                             "letters, digits, _ or -")
        if new_id != old_id and flow.has_node(new_id):
            raise ModelError(f"a node with id '{new_id}' already exists")
        super().__init__(f"Rename {old_id} → {new_id}")
        self.flow, self.old, self.new = flow, old_id, new_id

    def redo(self) -> None:
        self.flow.rename_node(self.old, self.new)

    def undo(self) -> None:
        self.flow.rename_node(self.new, self.old)


class PasteCommand(MacroCommand):
    """Add ready-made nodes and edges (ids already unique) as one step."""

    def __init__(self, flow: Flow, nodes: list[Node], edges: list[Edge],
                 text: str = "Paste") -> None:
        super().__init__(text)
        self.node_ids = [n.id for n in nodes]
        self.children = [AddNodeCommand(flow, n) for n in nodes]
        self.children += [
            ConnectCommand(flow, e.source, e.target, check=False, when=e.when,
                           default=e.default, on=e.on, label=e.label) for e in edges]
