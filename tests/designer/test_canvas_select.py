"""Selecting (click, Ctrl-click, rubber band, select all), deleting, and undo restoring."""

from __future__ import annotations

from canvas_support import Canvas, model_json
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest


def test_rubber_band_then_delete_then_undo_restores_the_model_exactly(qtbot) -> None:
    c = Canvas(qtbot)
    before = model_json(c.flow)
    # Drag a band over empty canvas around 'check' and 'notify' (x 400..600, y -120..0).
    c.drag(c.at((310, -190)), c.at((690, 50)))
    assert c.scene.selected_node_ids() == ["check", "notify"]
    QTest.keyClick(c.viewport, Qt.Key.Key_Delete)
    assert [n.id for n in c.flow.nodes] == ["start", "fetch", "end"]
    assert [(e.source, e.target) for e in c.flow.edges] == [("start", "fetch")]
    assert c.scene.node_item("check") is None and len(c.scene.edge_items()) == 1
    assert c.document.undo_stack.count() == 1  # one step for nodes and edges together
    c.document.undo_stack.undo()
    assert model_json(c.flow) == before
    assert len(c.scene.node_items()) == 5 and len(c.scene.edge_items()) == 5
    c.document.undo_stack.redo()
    assert [n.id for n in c.flow.nodes] == ["start", "fetch", "end"]


def test_click_ctrl_click_and_shift_click_select(qtbot) -> None:
    c = Canvas(qtbot)
    c.click(c.centre_of("fetch"))
    assert c.scene.selected_node_ids() == ["fetch"]
    c.click(c.centre_of("end"), Qt.KeyboardModifier.ControlModifier)
    assert c.scene.selected_node_ids() == ["fetch", "end"]
    c.click(c.centre_of("check"), Qt.KeyboardModifier.ShiftModifier)
    assert c.scene.selected_node_ids() == ["fetch", "check", "end"]
    c.click(c.centre_of("fetch"), Qt.KeyboardModifier.ShiftModifier)  # toggles off
    assert c.scene.selected_node_ids() == ["check", "end"]
    c.click(c.centre_of("check"))
    assert c.scene.selected_node_ids() == ["check"]
    c.click(c.at((300, 300)))  # empty canvas clears
    assert c.scene.selected_node_ids() == []


def test_clicking_an_edge_selects_it_and_delete_removes_only_it(qtbot) -> None:
    c = Canvas(qtbot)
    edge = c.scene.edge_item(c.flow.edges[3].key)  # check -> end, straight line at y=0
    c.click(c.at(edge.path().pointAtPercent(0.3)))
    assert c.scene.selected_edge_keys() == [edge.key]
    QTest.keyClick(c.viewport, Qt.Key.Key_Delete)
    assert [(e.source, e.target) for e in c.flow.edges if e.source == "check"] == [
        ("check", "notify")]
    assert len(c.flow.nodes) == 5


def test_select_all_and_select_node_centres_it(qtbot) -> None:
    c = Canvas(qtbot)
    c.scene.select_all()
    assert c.scene.selected_node_ids() == ["start", "fetch", "check", "notify", "end"]
    assert len(c.scene.selected_edge_keys()) == 5
    assert c.scene.select_node("end")
    assert c.scene.selected_node_ids() == ["end"]
    centre = c.view.mapToScene(c.viewport.rect().center())
    assert abs(centre.x() - 800) < 5 and abs(centre.y()) < 5
    assert not c.scene.select_node("nope")


def test_delete_in_read_only_mode_changes_nothing(qtbot) -> None:
    c = Canvas(qtbot)
    before = model_json(c.flow)
    c.view.set_read_only(True)
    c.click(c.centre_of("fetch"))
    assert c.scene.selected_node_ids() == ["fetch"]  # selection still works
    QTest.keyClick(c.viewport, Qt.Key.Key_Delete)
    assert model_json(c.flow) == before
