"""Moving nodes with the mouse: one undo step per drag, edges follow, snap to grid."""

from __future__ import annotations

from canvas_support import Canvas, model_json
from PySide6.QtCore import QPoint, Qt

from designer.scene import GRID


def test_a_drag_moves_the_node_in_the_model_as_one_undo_step(qtbot) -> None:
    c = Canvas(qtbot)
    before = model_json(c.flow)
    edge = c.scene.edge_item(c.flow.edges[1].key)  # fetch -> check
    old_start = edge.start_point()
    c.drag(c.centre_of("fetch"), c.centre_of("fetch") + QPoint(60, 100), steps=12)
    node = c.flow.node("fetch")
    assert (node.x, node.y) == (260, 100)
    assert (edge.start_point() - old_start).toTuple() == (60, 100)  # the edge followed
    assert c.document.undo_stack.count() == 1
    c.document.undo_stack.undo()
    assert model_json(c.flow) == before
    assert c.scene.node_item("fetch").pos().toTuple() == (200, 0)
    assert edge.start_point() == old_start


def test_dragging_a_selection_moves_every_selected_node_in_one_step(qtbot) -> None:
    c = Canvas(qtbot)
    c.click(c.centre_of("check"))
    c.click(c.centre_of("notify"), Qt.KeyboardModifier.ControlModifier)
    c.drag(c.centre_of("check"), c.centre_of("check") + QPoint(0, 80))
    assert (c.flow.node("check").x, c.flow.node("check").y) == (400, 80)
    assert (c.flow.node("notify").x, c.flow.node("notify").y) == (600, -40)
    assert c.document.undo_stack.count() == 1
    assert c.document.undo_stack.undoText() == "Move 2 nodes"


def test_snap_to_grid(qtbot) -> None:
    c = Canvas(qtbot)
    c.scene.snap_grid = GRID
    c.drag(c.centre_of("fetch"), c.centre_of("fetch") + QPoint(33, 47))
    node = c.flow.node("fetch")
    assert node.x % GRID == 0 and node.y % GRID == 0
    assert (node.x, node.y) == (240, 40)


def test_a_click_without_moving_pushes_nothing(qtbot) -> None:
    c = Canvas(qtbot)
    c.click(c.centre_of("fetch"))
    assert c.document.undo_stack.count() == 0


def test_read_only_nodes_do_not_move(qtbot) -> None:
    c = Canvas(qtbot)
    c.view.set_read_only(True)
    c.drag(c.centre_of("fetch"), c.centre_of("fetch") + QPoint(60, 60))
    assert (c.flow.node("fetch").x, c.flow.node("fetch").y) == (200, 0)
    assert c.scene.node_item("fetch").pos().toTuple() == (200, 0)
