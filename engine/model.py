"""The flow document: plain Python objects with small, announced mutators.

Everything that edits a flow (the designer's undo commands, file loading, the
server) goes through the mutators below, and every mutator announces exactly
one :class:`Change` carrying enough data to undo it (``remove_node`` is the one
compound edit: it announces each of its edges' removals, then the node's). The designer's scene only
listens to these announcements, so undo, file load and API edits all repaint
the same way. networkx graphs are built from the model when analysis needs
them (see :mod:`engine.validate`); they are never the model. Edges are also
indexed by key and by end node (kept by the mutators, rebuilt when the lists
were filled directly), so deleting thousands of nodes is not quadratic.
"""

from __future__ import annotations

import copy
import itertools
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

FORMAT = "flowdesk/1"

# Field order is the order fields are written to a file.
NODE_FIELDS = (
    "id", "kind", "name", "config", "retry", "timeout_s", "join",
    "cancel_others", "cancels", "x", "y",
)
EDGE_FIELDS = ("from", "to", "when", "default", "on", "label")
FLOW_FIELDS = ("format", "name", "description", "inputs", "concurrency", "nodes", "edges")
INPUT_TYPES = ("string", "integer", "number", "boolean", "object", "array")
DEFAULT_CONCURRENCY = 8
# What a node id (and an input name) looks like.
ID_PATTERN = r"^[A-Za-z_][A-Za-z0-9_-]*$"
ID_RE = re.compile(ID_PATTERN)

_edge_keys = itertools.count(1)


@dataclass
class Node:
    """One step of a flow. Optional fields are ``None`` when the file omits them."""

    id: str
    kind: str
    name: str | None = None
    config: dict[str, Any] | None = None
    retry: dict[str, Any] | None = None
    timeout_s: float | None = None
    join: str | dict[str, Any] | None = None
    cancel_others: bool | None = None
    cancels: list[str] | None = None
    x: float | None = None
    y: float | None = None

    @property
    def label(self) -> str:
        return self.name or self.id

    @property
    def cfg(self) -> dict[str, Any]:
        """The config, or an empty mapping when the file has none."""
        return self.config if self.config is not None else {}

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name in NODE_FIELDS:
            value = getattr(self, name)
            if value is not None:
                out[name] = copy.deepcopy(value)
        return out


@dataclass(eq=False)
class Edge:
    """A connection. ``key`` is a process-local identity, never written to a file."""

    source: str
    target: str
    when: str | None = None
    default: bool | None = None
    on: str | None = None
    label: str | None = None
    key: int = field(default_factory=lambda: next(_edge_keys))

    @property
    def is_error(self) -> bool:
        return self.on == "error"

    @property
    def is_default(self) -> bool:
        return bool(self.default)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"from": self.source, "to": self.target}
        for name in ("when", "default", "on", "label"):
            value = getattr(self, name)
            if value is not None:
                out[name] = value
        return out

    def __repr__(self) -> str:
        return f"Edge({self.source!r}->{self.target!r}, key={self.key})"


# Attribute names of Edge for the file's field names.
EDGE_ATTR = {"from": "source", "to": "target", "when": "when", "default": "default",
             "on": "on", "label": "label"}


@dataclass(frozen=True)
class Change:
    """One announced edit.

    ``what`` is one of: ``node_added`` (node, index), ``node_removed`` (node,
    index), ``node_changed`` (node, field, old, new), ``node_renamed`` (node,
    old, new), ``edge_added`` (edge, index), ``edge_removed`` (edge, index),
    ``edge_changed`` (edge, field, old, new), ``flow_changed`` (field, old,
    new), ``reset`` (nothing: everything may have changed).
    """

    what: str
    node: Node | None = None
    edge: Edge | None = None
    index: int | None = None
    field: str | None = None
    old: Any = None
    new: Any = None


Listener = Callable[[Change], None]


class _EdgeIndex:
    """Edges by key and by end node, so lookups and removals need not walk every edge.

    ``count`` is the length of ``Flow.edges`` the index was made for: code that fills
    the lists directly (the file loader) leaves it behind, and the next lookup rebuilds.
    """

    __slots__ = ("by_key", "count", "incoming", "outgoing")

    def __init__(self, edges: list[Edge]) -> None:
        self.by_key: dict[int, Edge] = {}
        self.outgoing: dict[str, dict[int, Edge]] = {}
        self.incoming: dict[str, dict[int, Edge]] = {}
        for edge in edges:
            self.add(edge)
        self.count = len(edges)

    def add(self, edge: Edge) -> None:
        self.by_key.setdefault(edge.key, edge)
        self.outgoing.setdefault(edge.source, {})[edge.key] = edge
        self.incoming.setdefault(edge.target, {})[edge.key] = edge

    def discard(self, edge: Edge) -> None:
        if self.by_key.get(edge.key) is edge:
            del self.by_key[edge.key]
        for table, end in ((self.outgoing, edge.source), (self.incoming, edge.target)):
            at = table.get(end)
            if at is not None and at.get(edge.key) is edge:
                del at[edge.key]
                if not at:
                    del table[end]


class ModelError(ValueError):
    """An edit that the model refuses (unknown id, duplicate id, …)."""


def _check_id(node_id: object) -> None:
    """Refuse an id that could not be saved and loaded again."""
    if not isinstance(node_id, str) or not ID_RE.match(node_id):
        raise ModelError(f"'{node_id}' is not a valid node id: use a letter or _ followed by "
                         "letters, digits, _ or -")


class Flow:
    """A flow definition (format ``flowdesk/1``) that announces its changes."""

    def __init__(self, name: str = "untitled", *, description: str | None = None,
                 inputs: dict[str, dict[str, Any]] | None = None,
                 concurrency: int | None = None) -> None:
        self.name = name
        self.description = description
        self.inputs = inputs
        self.concurrency = concurrency
        self.nodes: list[Node] = []
        self.edges: list[Edge] = []
        self._by_id: dict[str, Node] = {}
        self._edge_index: _EdgeIndex | None = None
        self._listeners: list[Listener] = []

    # -- reading -----------------------------------------------------------
    def node(self, node_id: str) -> Node:
        try:
            return self._by_id[node_id]
        except KeyError:
            raise ModelError(f"no node with id '{node_id}'") from None

    def has_node(self, node_id: str) -> bool:
        return node_id in self._by_id

    def get_node(self, node_id: str) -> Node | None:
        return self._by_id.get(node_id)

    def _index(self) -> _EdgeIndex:
        index = self._edge_index
        if index is None or index.count != len(self.edges):
            index = self._edge_index = _EdgeIndex(self.edges)
        return index

    def _in_order(self, edges: list[Edge]) -> list[Edge]:
        """``edges`` in the flow's edge order (each ``index`` is a C-speed identity scan)."""
        if len(edges) > 1:
            edges.sort(key=self.edges.index)
        return edges

    def edge(self, key: int) -> Edge:
        edge = self._index().by_key.get(key)
        if edge is None:
            raise ModelError(f"no edge with key {key}")
        return edge

    def edges_from(self, node_id: str) -> list[Edge]:
        return self._in_order(list(self._index().outgoing.get(node_id, {}).values()))

    def edges_to(self, node_id: str) -> list[Edge]:
        return self._in_order(list(self._index().incoming.get(node_id, {}).values()))

    def _edges_touching(self, node_id: str) -> list[Edge]:
        index = self._index()
        found = dict(index.outgoing.get(node_id, {}))
        found.update(index.incoming.get(node_id, {}))
        return list(found.values())

    def edges_of(self, node_id: str) -> list[Edge]:
        return self._in_order(self._edges_touching(node_id))

    @property
    def effective_concurrency(self) -> int:
        return self.concurrency if self.concurrency is not None else DEFAULT_CONCURRENCY

    def unique_id(self, base: str) -> str:
        """An id not used yet: ``base``, else ``base_2``, ``base_3`` …"""
        if base not in self._by_id:
            return base
        for n in itertools.count(2):
            candidate = f"{base}_{n}"
            if candidate not in self._by_id:
                return candidate
        raise AssertionError("unreachable")

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"format": FORMAT, "name": self.name}
        if self.description is not None:
            out["description"] = self.description
        if self.inputs is not None:
            out["inputs"] = copy.deepcopy(self.inputs)
        if self.concurrency is not None:
            out["concurrency"] = self.concurrency
        out["nodes"] = [n.to_dict() for n in self.nodes]
        out["edges"] = [e.to_dict() for e in self.edges]
        return out

    def copy(self) -> Flow:
        """A deep, unconnected copy (no listeners)."""
        from engine.flowfile import flow_from_dict

        return flow_from_dict(self.to_dict())

    # -- listening ---------------------------------------------------------
    def subscribe(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def unsubscribe(self, listener: Listener) -> None:
        if listener in self._listeners:
            self._listeners.remove(listener)

    def _announce(self, change: Change) -> None:
        for listener in list(self._listeners):
            listener(change)

    # -- nodes -------------------------------------------------------------
    def add_node(self, node: Node, index: int | None = None) -> int:
        _check_id(node.id)
        if node.id in self._by_id:
            raise ModelError(f"a node with id '{node.id}' already exists")
        index = len(self.nodes) if index is None else index
        self.nodes.insert(index, node)
        self._by_id[node.id] = node
        self._announce(Change("node_added", node=node, index=index))
        return index

    def remove_node(self, node_id: str) -> tuple[Node, int, list[tuple[int, Edge]]]:
        """Remove a node and its edges; returns what undo needs to put them back.

        The edges are removed first (each announced), then the node.
        """
        node = self.node(node_id)
        removed: list[tuple[int, Edge]] = []
        for edge in self._edges_touching(node_id):
            removed.append((self.edges.index(edge), edge))
        for _index, edge in sorted(removed, key=lambda p: -p[0]):
            self.remove_edge(edge.key)
        index = self.nodes.index(node)
        del self.nodes[index]
        del self._by_id[node_id]
        self._announce(Change("node_removed", node=node, index=index))
        return node, index, sorted(removed, key=lambda p: p[0])

    def set_node_field(self, node_id: str, name: str, value: Any) -> Any:
        """Set one field (not ``id``; see :meth:`rename_node`); returns the old value."""
        if name not in NODE_FIELDS or name == "id":
            raise ModelError(f"'{name}' is not a node field that can be set")
        node = self.node(node_id)
        old = getattr(node, name)
        setattr(node, name, copy.deepcopy(value))
        self._announce(Change("node_changed", node=node, field=name, old=old,
                              new=copy.deepcopy(value)))
        return old

    def move_node(self, node_id: str, x: float, y: float) -> tuple[Any, Any]:
        """Move a node; announces one ``node_changed`` with field ``pos``."""
        node = self.node(node_id)
        old = (node.x, node.y)
        node.x, node.y = x, y
        self._announce(Change("node_changed", node=node, field="pos", old=old, new=(x, y)))
        return old

    def rename_node(self, old_id: str, new_id: str) -> None:
        """Change a node's id, rewriting edges and ``cancels`` lists that name it."""
        if new_id == old_id:
            return
        _check_id(new_id)
        if new_id in self._by_id:
            raise ModelError(f"a node with id '{new_id}' already exists")
        node = self.node(old_id)
        index = self._index()
        touching = self._edges_touching(old_id)
        for edge in touching:
            index.discard(edge)
        node.id = new_id
        del self._by_id[old_id]
        self._by_id[new_id] = node
        for edge in touching:
            if edge.source == old_id:
                edge.source = new_id
            if edge.target == old_id:
                edge.target = new_id
            index.add(edge)
        for other in self.nodes:
            if other.cancels and old_id in other.cancels:
                other.cancels = [new_id if c == old_id else c for c in other.cancels]
        self._announce(Change("node_renamed", node=node, old=old_id, new=new_id))

    # -- edges -------------------------------------------------------------
    def add_edge(self, edge: Edge, index: int | None = None) -> int:
        edge_index = self._index()
        index = len(self.edges) if index is None else index
        self.edges.insert(index, edge)
        edge_index.add(edge)
        edge_index.count = len(self.edges)
        self._announce(Change("edge_added", edge=edge, index=index))
        return index

    def connect(self, source: str, target: str, **fields: Any) -> Edge:
        """Add an edge between two existing nodes and return it."""
        self.node(source)
        self.node(target)
        edge = Edge(source, target, **fields)
        self.add_edge(edge)
        return edge

    def remove_edge(self, key: int) -> tuple[Edge, int]:
        edge = self.edge(key)
        edge_index = self._index()
        index = self.edges.index(edge)
        del self.edges[index]
        edge_index.discard(edge)
        edge_index.count = len(self.edges)
        self._announce(Change("edge_removed", edge=edge, index=index))
        return edge, index

    def set_edge_field(self, key: int, name: str, value: Any) -> Any:
        """Set ``from``, ``to``, ``when``, ``default``, ``on`` or ``label``; returns the old value."""
        if name not in EDGE_ATTR:
            raise ModelError(f"'{name}' is not an edge field")
        if name in ("from", "to"):
            self.node(value)
        edge = self.edge(key)
        attr = EDGE_ATTR[name]
        old = getattr(edge, attr)
        moves_end = name in ("from", "to")
        if moves_end:
            self._index().discard(edge)
        setattr(edge, attr, value)
        if moves_end:
            self._index().add(edge)
        self._announce(Change("edge_changed", edge=edge, field=name, old=old, new=value))
        return old

    # -- the flow itself ----------------------------------------------------
    def set_flow_field(self, name: str, value: Any) -> Any:
        if name not in ("name", "description", "inputs", "concurrency"):
            raise ModelError(f"'{name}' is not a flow field that can be set")
        old = getattr(self, name)
        setattr(self, name, copy.deepcopy(value))
        self._announce(Change("flow_changed", field=name, old=old, new=copy.deepcopy(value)))
        return old

    def replace_with(self, other: Flow) -> None:
        """Take every field, node and edge of ``other`` (revert, load); announces ``reset``."""
        self.name, self.description = other.name, other.description
        self.inputs, self.concurrency = other.inputs, other.concurrency
        self.nodes = list(other.nodes)
        self.edges = list(other.edges)
        self._by_id = {n.id: n for n in self.nodes}
        self._edge_index = None
        self._announce(Change("reset"))

    def __iter__(self) -> Iterator[Node]:
        return iter(self.nodes)

    def __len__(self) -> int:
        return len(self.nodes)
