"""Auto-layout: layered left to right, no overlapping nodes, one undoable step."""

from __future__ import annotations

import random

from canvas_support import Canvas, example_flow, model_json
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from designer.actions import EditActions
from designer.layout import NODE_H, NODE_W, auto_layout, overlapping_pairs
from engine.model import Flow, Node


def _random_dag(n: int, seed: int) -> Flow:
    rng = random.Random(seed)
    flow = Flow("random")
    for i in range(n):
        flow.add_node(Node(f"n{i}", "shell", x=0, y=0))  # all piled on one spot
    for i in range(1, n):
        for j in rng.sample(range(i), k=min(i, rng.randint(1, 3))):
            flow.connect(f"n{j}", f"n{i}")
    return flow


def test_layers_go_left_to_right_along_every_edge() -> None:
    flow = _random_dag(120, seed=7)
    pos = auto_layout(flow)
    assert set(pos) == {n.id for n in flow.nodes}
    for e in flow.edges:
        assert pos[e.source][0] < pos[e.target][0], (e.source, e.target)
    assert overlapping_pairs(pos) == []


def test_example_is_laid_out_in_generations() -> None:
    pos = auto_layout(example_flow())
    columns = {nid: x for nid, (x, _) in pos.items()}
    assert columns["start"] < columns["fetch"] < columns["check"] < columns["notify"] < columns[
        "end"]


def test_overlap_checker_sees_overlaps() -> None:
    assert overlapping_pairs({"a": (0, 0), "b": (NODE_W - 1, NODE_H - 1)}) == [("a", "b")]
    assert overlapping_pairs({"a": (0, 0), "b": (NODE_W, 0)}) == []


def test_a_cycle_still_gets_a_layout_without_overlaps() -> None:
    flow = Flow("loop")
    for nid in ("a", "b", "c", "d"):
        flow.add_node(Node(nid, "shell"))
    flow.connect("a", "b")
    flow.connect("b", "c")
    flow.connect("c", "b")
    flow.connect("c", "d")
    pos = auto_layout(flow)
    assert overlapping_pairs(pos) == [] and len(pos) == 4
    assert pos["a"][0] < pos["b"][0] < pos["d"][0]


def test_auto_layout_from_the_canvas_is_one_step_and_leaves_no_overlapping_items(qtbot) -> None:
    c = Canvas(qtbot, _random_dag(40, seed=3))
    actions = EditActions(c.view)
    before = model_json(c.flow)
    c.activate()
    QTest.keyClick(c.viewport, Qt.Key.Key_L, Qt.KeyboardModifier.ControlModifier)
    assert actions.auto_layout.isEnabled()
    assert c.document.undo_stack.count() == 1
    bodies = [(i.node_id, i.mapRectToScene(i.body_rect())) for i in c.scene.node_items()]
    for k, (a, ra) in enumerate(bodies):
        for b, rb in bodies[k + 1:]:
            assert not ra.intersects(rb), (a, b)
    c.document.undo_stack.undo()
    assert model_json(c.flow) == before
