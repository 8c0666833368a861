"""Undo commands against the bare model: push, undo, redo, compare the model's JSON."""

from __future__ import annotations

import json

import pytest
from canvas_support import example_flow, model_json
from PySide6.QtGui import QUndoStack

from designer.commands import (
    AddNodeCommand,
    AlignCommand,
    AutoLayoutCommand,
    ConnectCommand,
    DistributeCommand,
    MoveNodesCommand,
    PasteCommand,
    ReconnectEdgeCommand,
    RemoveEdgeCommand,
    RemoveItemsCommand,
    RenameNodeCommand,
    SetEdgeFieldCommand,
    SetFlowFieldCommand,
    SetNodeFieldCommand,
    connection_problem,
)
from engine.model import Edge, ModelError, Node


def _round_trip(stack: QUndoStack, flow, command) -> str:  # noqa: ANN001
    """Push, then check undo restores and redo re-applies exactly; returns the after JSON."""
    before = model_json(flow)
    stack.push(command)
    after = model_json(flow)
    assert after != before
    stack.undo()
    assert model_json(flow) == before
    stack.redo()
    assert model_json(flow) == after
    return after


@pytest.fixture
def setup():
    return QUndoStack(), example_flow()


def test_add_node(setup) -> None:
    stack, flow = setup
    after = _round_trip(stack, flow, AddNodeCommand(flow, Node("log", "shell", x=5, y=6)))
    assert json.loads(after)["nodes"][-1] == {"id": "log", "kind": "shell", "x": 5, "y": 6}
    with pytest.raises(ModelError, match="already exists"):
        AddNodeCommand(flow, Node("log", "shell"))


def test_remove_nodes_and_edges_is_one_step_and_restores_order(setup) -> None:
    stack, flow = setup
    edge_key = flow.edges[0].key
    _round_trip(stack, flow, RemoveItemsCommand(flow, ["check", "fetch"], [edge_key]))
    assert [n.id for n in flow.nodes] == ["start", "notify", "end"]
    assert [(e.source, e.target) for e in flow.edges] == [("notify", "end")]
    assert stack.count() == 1
    stack.undo()
    assert [(e.source, e.target) for e in flow.edges][:2] == [("start", "fetch"),
                                                              ("fetch", "check")]


def test_remove_nothing_is_empty(setup) -> None:
    _, flow = setup
    assert RemoveItemsCommand(flow, [], []).empty


def test_move_is_one_step_for_many_nodes(setup) -> None:
    stack, flow = setup
    after = _round_trip(stack, flow, MoveNodesCommand(flow, {"start": (10.04, 20), "end": (
        1.5, 2)}))
    nodes = {n["id"]: n for n in json.loads(after)["nodes"]}
    assert (nodes["start"]["x"], nodes["start"]["y"]) == (10, 20)  # tidy numbers in files
    assert (nodes["end"]["x"], nodes["end"]["y"]) == (1.5, 2)


def test_connect_remove_and_reconnect_edges(setup) -> None:
    stack, flow = setup
    _round_trip(stack, flow, ConnectCommand(flow, "fetch", "end", on="error"))
    assert flow.edges[-1].to_dict() == {"from": "fetch", "to": "end", "on": "error"}
    key = flow.edges[-1].key
    _round_trip(stack, flow, ReconnectEdgeCommand(flow, key, "to", "notify"))
    assert flow.edges[-1].target == "notify"
    _round_trip(stack, flow, RemoveEdgeCommand(flow, key))
    assert all(e.key != key for e in flow.edges)


@pytest.mark.parametrize(("source", "target", "on", "reason"), [
    ("end", "fetch", None, "no edge may leave an end node"),
    ("fetch", "start", None, "no edge may lead into the start node"),
    ("fetch", "fetch", None, "cannot connect to itself"),
    ("start", "fetch", None, "there is already an edge from 'start' to 'fetch'"),
    ("notify", "fetch", None, "would make a cycle"),
    ("end", "ghost", None, "two existing nodes"),
])
def test_connections_that_are_refused(setup, source, target, on, reason) -> None:
    _, flow = setup
    assert reason in connection_problem(flow, source, target, on)
    with pytest.raises(ModelError, match=reason.split("'")[0]):
        ConnectCommand(flow, source, target)


def test_an_error_edge_beside_a_success_edge_is_not_a_duplicate(setup) -> None:
    _, flow = setup
    assert connection_problem(flow, "start", "fetch", "error") is None
    assert connection_problem(flow, "fetch", "end") is None


def test_reconnect_into_a_cycle_is_refused(setup) -> None:
    _, flow = setup
    key = flow.edges[0].key  # start -> fetch
    with pytest.raises(ModelError, match="cycle"):
        # notify -> end becomes notify -> fetch: fetch -> check -> notify -> fetch
        ReconnectEdgeCommand(flow, flow.edges[4].key, "to", "fetch")
    with pytest.raises(ValueError, match="'from' or 'to'"):
        ReconnectEdgeCommand(flow, key, "middle", "end")


def test_consecutive_edits_of_one_field_merge(setup) -> None:
    stack, flow = setup
    for text in ("F", "Fe", "Fetch it"):
        stack.push(SetNodeFieldCommand(flow, "fetch", "name", text))
    assert stack.count() == 1 and flow.node("fetch").name == "Fetch it"
    stack.push(SetNodeFieldCommand(flow, "fetch", "timeout_s", 5))
    stack.push(SetNodeFieldCommand(flow, "check", "name", "x"))
    assert stack.count() == 3  # other field, other node: new steps
    stack.undo()
    stack.undo()
    stack.undo()
    assert flow.node("fetch").name == "Fetch data" and flow.node("fetch").timeout_s == 30


def test_editing_back_to_the_original_value_leaves_no_step(setup) -> None:
    stack, flow = setup
    stack.push(SetNodeFieldCommand(flow, "fetch", "name", "X"))
    stack.push(SetNodeFieldCommand(flow, "fetch", "name", "Fetch data"))
    assert stack.count() == 0
    assert flow.node("fetch").name == "Fetch data"


def test_config_key_and_removing_optional_fields(setup) -> None:
    stack, flow = setup
    _round_trip(stack, flow, SetNodeFieldCommand.config_key(flow, "fetch", "method", "POST"))
    assert flow.node("fetch").config["method"] == "POST"
    _round_trip(stack, flow, SetNodeFieldCommand(flow, "fetch", "retry", None))
    assert "retry" not in flow.node("fetch").to_dict()
    with pytest.raises(ModelError, match="RenameNodeCommand or MoveNodesCommand"):
        SetNodeFieldCommand(flow, "fetch", "id", "x")


def test_edge_and_flow_fields_merge_too(setup) -> None:
    stack, flow = setup
    key = flow.edges[2].key
    stack.push(SetEdgeFieldCommand(flow, key, "when", "nodes.fetch.output.status == 2"))
    stack.push(SetEdgeFieldCommand(flow, key, "when", "nodes.fetch.output.status == 201"))
    assert stack.count() == 1
    stack.push(SetFlowFieldCommand(flow, "description", "a"))
    stack.push(SetFlowFieldCommand(flow, "description", "ab"))
    assert stack.count() == 2 and flow.description == "ab"
    stack.undo()
    assert flow.description == "Fetch, check, notify"
    with pytest.raises(ModelError):
        SetEdgeFieldCommand(flow, key, "from", "end")
    with pytest.raises(ModelError):
        SetFlowFieldCommand(flow, "nodes", [])


def test_rename_rewrites_edges_and_refuses_bad_ids(setup) -> None:
    stack, flow = setup
    flow.node("end").cancels = ["notify"]
    _round_trip(stack, flow, RenameNodeCommand(flow, "notify", "tell"))
    assert ("check", "tell") in [(e.source, e.target) for e in flow.edges]
    assert flow.node("end").cancels == ["tell"]
    with pytest.raises(ModelError, match="not a valid id"):
        RenameNodeCommand(flow, "tell", "9 lives")
    with pytest.raises(ModelError, match="already exists"):
        RenameNodeCommand(flow, "tell", "end")


def test_align_and_distribute(setup) -> None:
    stack, flow = setup
    _round_trip(stack, flow, AlignCommand(flow, ["check", "notify", "end"], "top"))
    assert {flow.node(n).y for n in ("check", "notify", "end")} == {-120}
    stack.push(AlignCommand(flow, ["fetch", "notify"], "left"))
    assert flow.node("notify").x == 200
    stack.undo()
    flow.move_node("check", 410, 0)
    _round_trip(stack, flow, DistributeCommand(flow, ["start", "check", "end"]))
    assert [flow.node(n).x for n in ("start", "check", "end")] == [0, 400, 800]
    with pytest.raises(ValueError, match="unknown alignment"):
        AlignCommand(flow, ["start"], "diagonal")


def test_paste_and_auto_layout_are_one_step_each(setup) -> None:
    stack, flow = setup
    _round_trip(stack, flow, PasteCommand(flow, [Node("a", "shell"), Node("b", "shell")],
                                          [Edge("a", "b")]))
    assert stack.count() == 1 and ("a", "b") in [(e.source, e.target) for e in flow.edges]
    _round_trip(stack, flow, AutoLayoutCommand(flow))
    assert stack.count() == 2
