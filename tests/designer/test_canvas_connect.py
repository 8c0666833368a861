"""Connecting by dragging from a port, refusing cycles and duplicates, reconnecting ends."""

from __future__ import annotations

from canvas_support import Canvas, edge_pairs, model_json
from PySide6.QtCore import QPointF

from engine.model import Flow, Node


def _three(qtbot) -> Canvas:
    flow = Flow("t")
    for i, (nid, kind) in enumerate([("a", "start"), ("b", "shell"), ("c", "python")]):
        flow.add_node(Node(nid, kind, x=i * 250, y=0))
    return Canvas(qtbot, flow)


def test_dragging_from_an_output_port_to_a_node_creates_an_edge(qtbot) -> None:
    c = _three(qtbot)
    c.drag(c.port("a"), c.centre_of("b"))
    assert edge_pairs(c.flow) == [("a", "b")]
    assert c.scene.edge_item(c.flow.edges[0].key) is not None
    c.document.undo_stack.undo()
    assert c.flow.edges == [] and c.scene.edge_items() == []


def test_a_cycle_is_refused_with_a_visible_reason(qtbot) -> None:
    c = _three(qtbot)
    c.drag(c.port("b"), c.centre_of("c"))
    assert edge_pairs(c.flow) == [("b", "c")]
    before = model_json(c.flow)
    with qtbot.waitSignal(c.view.message) as sig:
        c.drag(c.port("c"), c.centre_of("b"))
    assert model_json(c.flow) == before
    assert "cycle" in sig.args[0]
    assert "cycle" in c.view.message_text  # shown over the canvas


def test_a_duplicate_edge_is_refused(qtbot) -> None:
    c = _three(qtbot)
    c.drag(c.port("a"), c.centre_of("b"))
    with qtbot.waitSignal(c.view.message) as sig:
        c.drag(c.port("a"), c.centre_of("b"))
    assert edge_pairs(c.flow) == [("a", "b")]
    assert "already an edge" in sig.args[0]


def test_an_edge_into_the_start_node_is_refused(qtbot) -> None:
    c = _three(qtbot)
    with qtbot.waitSignal(c.view.message) as sig:
        c.drag(c.port("b"), c.centre_of("a"))
    assert c.flow.edges == []
    assert "start" in sig.args[0]


def test_dragging_from_the_error_port_creates_an_error_edge(qtbot) -> None:
    c = _three(qtbot)
    c.drag(c.port("b", "error"), c.centre_of("c"))
    assert [e.to_dict() for e in c.flow.edges] == [{"from": "b", "to": "c", "on": "error"}]


def test_dropping_on_empty_canvas_asks_for_quick_add_with_the_source(qtbot) -> None:
    c = _three(qtbot)
    empty = c.at((250, 250))
    with qtbot.waitSignal(c.view.quickAddRequested) as sig:
        c.drag(c.port("b"), empty)
    pos, source = sig.args
    assert source == "b"
    assert abs(pos.x() - 250) < 3 and abs(pos.y() - 250) < 3
    assert c.flow.edges == []
    # The editor then adds the chosen node connected to the source, as one undo step.
    new_id = c.view.add_node_at("python", pos, source)
    assert edge_pairs(c.flow) == [("b", new_id)]
    c.document.undo_stack.undo()
    assert c.flow.edges == [] and not c.flow.has_node(new_id)


def test_reconnecting_an_edge_end_by_dragging_it(qtbot) -> None:
    c = _three(qtbot)
    c.flow.add_node(Node("d", "shell", x=500, y=200))
    c.drag(c.port("a"), c.centre_of("b"))
    edge = c.scene.edge_item(c.flow.edges[0].key)
    c.drag(c.at(edge.end_point() + QPointF(-3, 0)), c.centre_of("d"))
    assert edge_pairs(c.flow) == [("a", "d")]
    assert edge.target is c.scene.node_item("d")
    c.document.undo_stack.undo()
    assert edge_pairs(c.flow) == [("a", "b")]
    assert edge.target is c.scene.node_item("b")


def test_reconnecting_into_a_cycle_is_refused(qtbot) -> None:
    c = _three(qtbot)
    c.drag(c.port("b"), c.centre_of("c"))
    c.flow.connect("a", "b")
    edge = c.scene.edge_item(c.flow.edges[1].key)  # a -> b
    before = model_json(c.flow)
    with qtbot.waitSignal(c.view.message) as sig:
        # Grab the edge just after it leaves a's output port, drop that end on c.
        c.drag(c.at(edge.start_point() + QPointF(12, 0)), c.centre_of("c"))
    assert "cycle" in sig.args[0]
    assert model_json(c.flow) == before


def test_read_only_view_does_not_connect(qtbot) -> None:
    c = _three(qtbot)
    c.view.set_read_only(True)
    c.drag(c.port("a"), c.centre_of("b"))
    assert c.flow.edges == []


def test_the_node_under_a_dragged_edge_shows_whether_it_may_end_there(qtbot) -> None:
    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest

    c = _three(qtbot)
    c.flow.connect("b", "c")
    vp = c.viewport
    QTest.mousePress(vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                     c.port("c"))
    QTest.mouseMove(vp, c.centre_of("b"))  # c -> b would be a cycle
    assert c.scene.node_item("b").drop_hint is False
    QTest.mouseMove(vp, c.at((300, 300)))
    assert c.scene.node_item("b").drop_hint is None
    QTest.keyClick(vp, Qt.Key.Key_Escape)  # cancels the drag
    assert c.view._drag is None
    assert [i for i in c.scene.items() if i.type() == 2] == []  # the rubber line is gone
    QTest.mouseRelease(vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                       c.centre_of("b"))
    assert [(e.source, e.target) for e in c.flow.edges] == [("b", "c")]
    QTest.mousePress(vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                     c.port("a"))
    QTest.mouseMove(vp, c.centre_of("c"))
    assert c.scene.node_item("c").drop_hint is True
    QTest.mouseRelease(vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                       c.centre_of("c"))
    assert c.scene.node_item("c").drop_hint is None
    assert ("a", "c") in [(e.source, e.target) for e in c.flow.edges]
