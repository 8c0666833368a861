"""The model's edge index answers exactly what a walk over every edge would."""

from __future__ import annotations

import random

import pytest

from engine.flowfile import flow_from_dict
from engine.model import Edge, Flow, ModelError, Node


def _walk(flow: Flow, node_id: str) -> tuple[list[int], list[int], list[int]]:
    """The slow, obviously right answers, as edge keys in the flow's order."""
    return ([e.key for e in flow.edges if e.source == node_id],
            [e.key for e in flow.edges if e.target == node_id],
            [e.key for e in flow.edges if node_id in (e.source, e.target)])


def _indexed(flow: Flow, node_id: str) -> tuple[list[int], list[int], list[int]]:
    return ([e.key for e in flow.edges_from(node_id)], [e.key for e in flow.edges_to(node_id)],
            [e.key for e in flow.edges_of(node_id)])


def _agrees(flow: Flow) -> None:
    for node in flow.nodes:
        assert _indexed(flow, node.id) == _walk(flow, node.id), node.id
    for edge in flow.edges:
        assert flow.edge(edge.key) is edge


def test_random_edits_and_their_undos_keep_the_index_right() -> None:
    rng = random.Random(7)
    flow = Flow("index")
    for i in range(12):
        flow.add_node(Node(f"n{i}", "shell"))
    undo: list = []
    for _step in range(600):
        ids = [n.id for n in flow.nodes]
        roll = rng.random()
        if roll < 0.35:
            edge = flow.connect(rng.choice(ids), rng.choice(ids))  # self-loops too
            undo.append(("edge", edge.key))
        elif roll < 0.5 and flow.edges:
            edge, index = flow.remove_edge(rng.choice(flow.edges).key)
            undo.append(("re-add", edge, index))
        elif roll < 0.6 and flow.edges:
            key = rng.choice(flow.edges).key
            name = rng.choice(("from", "to"))
            undo.append(("field", key, name, flow.set_edge_field(key, name, rng.choice(ids))))
        elif roll < 0.7 and len(ids) > 2:
            node, index, edges = flow.remove_node(rng.choice(ids))
            undo.append(("node", node, index, edges))
        elif roll < 0.78:
            old = rng.choice(ids)
            new = flow.unique_id("r")
            flow.rename_node(old, new)
            undo.append(("rename", new, old))
        elif undo:
            _undo(flow, undo.pop())
        _agrees(flow)
    while undo:
        _undo(flow, undo.pop())
        _agrees(flow)
    assert flow.edges == [] and [n.id for n in flow.nodes] == [f"n{i}" for i in range(12)]


def _undo(flow: Flow, step: tuple) -> None:
    what = step[0]
    if what == "edge":
        flow.remove_edge(step[1])
    elif what == "re-add":
        flow.add_edge(step[1], step[2])
    elif what == "field":
        flow.set_edge_field(step[1], step[2], step[3])
    elif what == "node":
        _, node, index, edges = step
        flow.add_node(node, index)
        for at, edge in edges:
            flow.add_edge(edge, at)
    else:
        flow.rename_node(step[1], step[2])


def test_a_loaded_flow_and_lists_filled_directly_are_indexed() -> None:
    flow = flow_from_dict({"format": "flowdesk/1", "name": "f", "nodes": [
        {"id": "a", "kind": "start"}, {"id": "b", "kind": "end"}],
        "edges": [{"from": "a", "to": "b"}]})
    assert [e.target for e in flow.edges_from("a")] == ["b"]
    flow.edges.append(Edge("b", "a"))  # as the loader does: no mutator, no announcement
    _agrees(flow)
    other = Flow("other")
    other.replace_with(flow)
    _agrees(other)


def test_an_unknown_edge_key_is_one_sentence() -> None:
    with pytest.raises(ModelError, match=r"^no edge with key -1$"):
        Flow("f").edge(-1)
