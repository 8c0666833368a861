"""The flow model: every mutator announces one Change that is enough to undo it."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from engine.flowfile import flow_from_dict
from engine.model import Change, Edge, Flow, ModelError, Node


def sample() -> Flow:
    return flow_from_dict({
        "format": "flowdesk/1", "name": "sample", "description": "d",
        "inputs": {"n": {"type": "integer", "default": 1}},
        "nodes": [
            {"id": "start", "kind": "start", "x": 0, "y": 0},
            {"id": "a", "kind": "set", "config": {"vars": {"v": "{{ inputs.n }}"}}, "x": 200,
             "y": 0},
            {"id": "b", "kind": "delay", "config": {"seconds": 1}, "cancels": ["a"], "x": 200,
             "y": 100},
            {"id": "end", "kind": "end", "x": 400, "y": 0},
        ],
        "edges": [
            {"from": "start", "to": "a"}, {"from": "start", "to": "b"},
            {"from": "a", "to": "end", "when": "vars.v > 0"}, {"from": "b", "to": "end"},
        ],
    })


def undo(flow: Flow, change: Change) -> None:
    """Apply the inverse of ``change`` using only the model's mutators and the Change's data."""
    w = change.what
    if w == "node_added":
        flow.remove_node(change.node.id)
    elif w == "node_removed":
        flow.add_node(change.node, change.index)
    elif w == "node_changed" and change.field == "pos":
        flow.move_node(change.node.id, *change.old)
    elif w == "node_changed":
        flow.set_node_field(change.node.id, change.field, change.old)
    elif w == "node_renamed":
        flow.rename_node(change.new, change.old)
    elif w == "edge_added":
        flow.remove_edge(change.edge.key)
    elif w == "edge_removed":
        flow.add_edge(change.edge, change.index)
    elif w == "edge_changed":
        flow.set_edge_field(change.edge.key, change.field, change.old)
    elif w == "flow_changed":
        flow.set_flow_field(change.field, change.old)
    else:
        raise AssertionError(f"cannot undo {w}")


def record(flow: Flow) -> list[Change]:
    seen: list[Change] = []
    flow.subscribe(seen.append)
    return seen


def undo_all(flow: Flow, changes: list[Change]) -> None:
    replay = list(changes)
    for change in reversed(replay):
        undo(flow, change)


EDITS: list[tuple[str, Any]] = [
    ("add_node", lambda f: f.add_node(Node("c", "set", config={"vars": {"x": 1}}, x=1, y=2))),
    ("add_node at index", lambda f: f.add_node(Node("c", "branch"), 1)),
    ("set config", lambda f: f.set_node_field("a", "config", {"vars": {"w": 2}})),
    ("set name", lambda f: f.set_node_field("a", "name", "Renamed")),
    ("set retry", lambda f: f.set_node_field("b", "retry", {"max_attempts": 2})),
    ("clear cancels", lambda f: f.set_node_field("b", "cancels", None)),
    ("set join", lambda f: f.set_node_field("end", "join", {"min": 1})),
    ("move", lambda f: f.move_node("a", 250.5, -40)),
    ("rename", lambda f: f.rename_node("a", "alpha")),
    ("connect", lambda f: f.connect("a", "b", on="error", label="oops")),
    ("add edge at index", lambda f: f.add_edge(Edge("b", "a"), 0)),
    ("remove edge", lambda f: f.remove_edge(f.edges[2].key)),
    ("edge when", lambda f: f.set_edge_field(f.edges[2].key, "when", "true")),
    ("edge target", lambda f: f.set_edge_field(f.edges[0].key, "to", "b")),
    ("edge default", lambda f: f.set_edge_field(f.edges[3].key, "default", True)),
    ("flow name", lambda f: f.set_flow_field("name", "other")),
    ("flow inputs", lambda f: f.set_flow_field("inputs", {"m": {"type": "string"}})),
    ("flow concurrency", lambda f: f.set_flow_field("concurrency", 2)),
]


@pytest.mark.parametrize("label,edit", EDITS, ids=[e[0] for e in EDITS])
def test_each_mutator_announces_one_change_that_undoes_it(label: str, edit: Any) -> None:
    flow = sample()
    before = flow.to_dict()
    changes = record(flow)
    edit(flow)
    assert len(changes) == 1, changes
    assert flow.to_dict() != before
    after = flow.to_dict()
    undo(flow, changes[0])
    assert flow.to_dict() == before
    # Redo from the same record gives the edited document back.
    c = changes[0]
    if c.what == "node_changed" and c.field != "pos":
        flow.set_node_field(c.node.id, c.field, c.new)
        assert flow.to_dict() == after


def test_remove_node_announces_its_edges_then_the_node_and_undo_restores_order() -> None:
    flow = sample()
    before = flow.to_dict()
    changes = record(flow)
    node, index, edges = flow.remove_node("a")
    assert [c.what for c in changes] == ["edge_removed", "edge_removed", "node_removed"]
    assert (node.id, index) == ("a", 1)
    assert [(i, e.source, e.target) for i, e in edges] == [(0, "start", "a"), (2, "a", "end")]
    assert not flow.has_node("a") and all("a" not in (e.source, e.target) for e in flow.edges)
    undo_all(flow, changes)
    assert flow.to_dict() == before


def test_rename_rewrites_edges_and_cancels_and_undo_restores_them() -> None:
    flow = sample()
    before = flow.to_dict()
    changes = record(flow)
    flow.rename_node("a", "alpha")
    assert flow.node("b").cancels == ["alpha"]
    assert {(e.source, e.target) for e in flow.edges} >= {("start", "alpha"), ("alpha", "end")}
    undo(flow, changes[0])
    assert flow.to_dict() == before
    assert flow.node("a").id == "a"


def test_a_long_edit_session_undoes_back_to_the_start() -> None:
    flow = sample()
    before = flow.to_dict()
    changes = record(flow)
    for label, edit in EDITS:
        if label in ("rename", "add_node at index"):
            continue
        edit(flow)
    flow.rename_node("a", "alpha")
    flow.remove_node("b")
    assert len(changes) > len(EDITS)
    undo_all(flow, changes)
    assert flow.to_dict() == before


def test_the_announced_value_is_a_copy_the_caller_cannot_change_later() -> None:
    flow = sample()
    changes = record(flow)
    cfg = {"vars": {"w": 2}}
    flow.set_node_field("a", "config", cfg)
    cfg["vars"]["w"] = 99
    assert flow.node("a").config == {"vars": {"w": 2}}
    assert changes[0].new == {"vars": {"w": 2}}
    inputs = {"m": {"type": "string"}}
    flow.set_flow_field("inputs", inputs)
    inputs["m"]["type"] = "number"
    assert changes[1].new == {"m": {"type": "string"}}
    assert flow.inputs == {"m": {"type": "string"}}


@pytest.mark.parametrize("edit,message", [
    (lambda f: f.add_node(Node("a", "set")), "already exists"),
    (lambda f: f.add_node(Node("has space", "set")), "not a valid node id"),
    (lambda f: f.add_node(Node("1abc", "set")), "not a valid node id"),
    (lambda f: f.rename_node("a", "b"), "already exists"),
    (lambda f: f.rename_node("a", "bad.id"), "not a valid node id"),
    (lambda f: f.rename_node("nope", "x"), "no node with id 'nope'"),
    (lambda f: f.set_node_field("a", "id", "z"), "'id' is not a node field"),
    (lambda f: f.set_node_field("a", "colour", "red"), "'colour' is not a node field"),
    (lambda f: f.move_node("ghost", 0, 0), "no node with id 'ghost'"),
    (lambda f: f.connect("a", "ghost"), "no node with id 'ghost'"),
    (lambda f: f.remove_edge(-5), "no edge with key -5"),
    (lambda f: f.set_edge_field(f.edges[0].key, "weight", 1), "'weight' is not an edge field"),
    (lambda f: f.set_edge_field(f.edges[0].key, "to", "ghost"), "no node with id 'ghost'"),
    (lambda f: f.set_flow_field("nodes", []), "'nodes' is not a flow field"),
])
def test_refused_edits_say_why_and_change_nothing(edit: Any, message: str) -> None:
    flow = sample()
    before = flow.to_dict()
    changes = record(flow)
    with pytest.raises(ModelError, match=message):
        edit(flow)
    assert changes == []
    assert flow.to_dict() == before


def test_replace_with_announces_reset_and_takes_everything() -> None:
    flow = Flow("empty")
    changes = record(flow)
    other = sample()
    flow.replace_with(other)
    assert [c.what for c in changes] == ["reset"]
    assert flow.to_dict() == other.to_dict()
    assert flow.node("a") is other.node("a")


def test_copy_is_deep_and_unconnected() -> None:
    flow = sample()
    changes = record(flow)
    dup = flow.copy()
    dup.set_node_field("a", "name", "changed")
    dup.node("b").cancels.append("end")
    assert changes == []
    assert flow.node("a").name is None and flow.node("b").cancels == ["a"]


def test_to_dict_writes_fields_in_format_order_and_omits_absent_ones() -> None:
    flow = Flow("f")
    flow.add_node(Node("n", "delay", y=5, x=3, config={"seconds": 1}, join="any",
                       name="N"))
    flow.add_node(Node("m", "end"))
    flow.connect("n", "m", label="go", on="success")
    d = flow.to_dict()
    assert list(d) == ["format", "name", "nodes", "edges"]
    assert list(d["nodes"][0]) == ["id", "kind", "name", "config", "join", "x", "y"]
    assert d["nodes"][1] == {"id": "m", "kind": "end"}
    assert list(d["edges"][0]) == ["from", "to", "on", "label"]


def test_unique_id_and_listener_removal() -> None:
    flow = sample()
    assert flow.unique_id("a") == "a_2"
    assert flow.unique_id("fresh") == "fresh"
    seen: list[Change] = []
    flow.subscribe(seen.append)
    flow.unsubscribe(seen.append)
    flow.move_node("a", 1, 1)
    assert seen == []
    assert copy.deepcopy(flow.node("a").to_dict())["x"] == 1
