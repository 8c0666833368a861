"""Edit actions: shortcuts, enabled states, align/distribute, grid snap and the minimap."""

from __future__ import annotations

from canvas_support import Canvas, model_json
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtTest import QTest

from designer.actions import EditActions
from designer.minimap import MiniMap


def _select(c: Canvas, *ids: str) -> None:
    c.scene.clearSelection()
    for nid in ids:
        c.scene.node_item(nid).setSelected(True)


def test_enabled_states_follow_the_selection_and_read_only(qtbot) -> None:
    c = Canvas(qtbot)
    a = EditActions(c.view)
    assert not a.copy.isEnabled() and not a.delete.isEnabled() and not a.align_left.isEnabled()
    _select(c, "fetch", "check")
    assert a.copy.isEnabled() and a.delete.isEnabled() and a.align_left.isEnabled()
    assert not a.distribute_h.isEnabled()
    _select(c, "fetch", "check", "end")
    assert a.distribute_h.isEnabled()
    c.view.set_read_only(True)
    a.update_enabled()
    assert a.copy.isEnabled() and not a.delete.isEnabled() and not a.paste.isEnabled()
    assert len(a.all()) == 21


def test_undo_redo_shortcuts(qtbot) -> None:
    c = Canvas(qtbot)
    EditActions(c.view)
    before = model_json(c.flow)
    c.drag(c.centre_of("end"), c.centre_of("end") + QPoint(0, 100))
    after = model_json(c.flow)
    c.activate()
    QTest.keyClick(c.viewport, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert model_json(c.flow) == before
    QTest.keyClick(c.viewport, Qt.Key.Key_Y, Qt.KeyboardModifier.ControlModifier)
    assert model_json(c.flow) == after


def test_align_top_and_distribute_through_actions(qtbot) -> None:
    c = Canvas(qtbot)
    a = EditActions(c.view)
    _select(c, "check", "notify", "end")
    a.align_top.trigger()
    assert {c.flow.node(n).y for n in ("check", "notify", "end")} == {-120}
    assert {c.scene.node_item(n).pos().y() for n in ("check", "notify", "end")} == {-120}
    c.flow.move_node("notify", 750, -120)
    a.distribute_h.trigger()
    assert [c.flow.node(n).x for n in ("check", "notify", "end")] == [400, 600, 800]
    c.document.undo_stack.undo()
    assert c.flow.node("notify").x == 750


def test_select_all_and_delete_shortcuts(qtbot) -> None:
    c = Canvas(qtbot)
    EditActions(c.view)
    c.activate()
    QTest.keyClick(c.viewport, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    assert len(c.scene.selected_node_ids()) == 5
    QTest.keyClick(c.viewport, Qt.Key.Key_Delete)
    assert c.flow.nodes == [] and c.flow.edges == []
    assert c.document.undo_stack.count() == 1


def test_snap_toggle_and_zoom_actions(qtbot) -> None:
    c = Canvas(qtbot)
    a = EditActions(c.view)
    a.snap.trigger()
    assert c.scene.snap_grid == 20
    a.zoom_in.trigger()
    assert c.view.zoom == 1.25
    a.zoom_100.trigger()
    assert c.view.zoom == 1.0
    a.snap.trigger()
    assert c.scene.snap_grid == 0


def test_minimap_shows_the_flow_and_clicking_it_moves_the_view(qtbot) -> None:
    c = Canvas(qtbot, size=(600, 400))
    mini = MiniMap(c.view)
    a = EditActions(c.view, minimap=mini)
    assert a.show_minimap.isChecked()
    mini.refresh()
    image = mini.grab().toImage()
    start = mini._transform()
    scale, off = start
    p = QPointF(0, 0) * scale + off  # the start node's centre on the minimap
    assert image.pixelColor(int(p.x()), int(p.y())).name() != "#ffffff"
    target = QPointF(800, 0) * scale + off  # the end node
    QTest.mouseClick(mini, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                     target.toPoint())
    centre = c.view.mapToScene(c.viewport.rect().center())
    assert abs(centre.x() - 800) < 10 and abs(centre.y()) < 10
    a.show_minimap.trigger()
    assert mini.isHidden()


def test_minimap_redraws_after_an_edit_once_things_settle(qtbot) -> None:
    c = Canvas(qtbot)
    mini = MiniMap(c.view)
    before = mini._world
    c.flow.move_node("end", 2000, 500)
    qtbot.waitUntil(lambda: mini._world != before)
    assert mini._world.contains(QPointF(2000, 500))


def test_pasting_many_nodes_selects_them_with_one_selection_change(qtbot) -> None:
    c = Canvas(qtbot)
    a = EditActions(c.view)
    a.select_all.trigger()
    a.copy.trigger()
    changes: list[int] = []

    def count() -> None:
        changes.append(len(c.scene.selectedItems()))

    c.scene.selectionChanged.connect(count)
    a.paste.trigger()
    c.scene.selectionChanged.disconnect(count)  # the scene's teardown changes it too
    pasted = c.scene.selected_node_ids()
    assert len(pasted) == 5 and not set(pasted) & {"start", "fetch", "check", "notify", "end"}
    assert changes == [5]  # not one announcement per pasted node
    assert a.align_left.isEnabled() and a.distribute_h.isEnabled()
