"""Zoom (wheel, keys, fit, 100 %), pan (middle button, space + drag), quick-add keys."""

from __future__ import annotations

from canvas_support import Canvas
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication


def _wheel(c: Canvas, delta: int) -> None:
    pos = QPointF(c.viewport.rect().center())
    event = QWheelEvent(pos, c.viewport.mapToGlobal(pos), QPoint(0, 0), QPoint(0, delta),
                        Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier,
                        Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(c.viewport, event)


def test_wheel_zooms_in_and_out(qtbot) -> None:
    c = Canvas(qtbot)
    _wheel(c, 240)
    assert c.view.zoom > 1.3
    _wheel(c, -480)
    assert c.view.zoom < 0.8


def test_keyboard_zoom_and_100_percent(qtbot) -> None:
    c = Canvas(qtbot)
    QTest.keyClick(c.viewport, Qt.Key.Key_Equal, Qt.KeyboardModifier.ControlModifier)
    assert c.view.zoom == 1.25
    QTest.keyClick(c.viewport, Qt.Key.Key_Minus, Qt.KeyboardModifier.ControlModifier)
    QTest.keyClick(c.viewport, Qt.Key.Key_Minus, Qt.KeyboardModifier.ControlModifier)
    assert abs(c.view.zoom - 0.8) < 1e-9
    QTest.keyClick(c.viewport, Qt.Key.Key_0, Qt.KeyboardModifier.ControlModifier)
    assert c.view.zoom == 1.0
    centre = c.view.mapToScene(c.viewport.rect().center())
    assert abs(centre.x() - 400) < 3 and abs(centre.y()) < 3  # keys zoom about the centre


def test_zoom_to_fit_shows_every_node(qtbot) -> None:
    c = Canvas(qtbot, size=(400, 300))
    c.view.zoom_to_fit()
    visible = c.view.visible_scene_rect()
    for item in c.scene.node_items():
        assert visible.contains(item.sceneBoundingRect()), item.node_id
    assert c.view.zoom < 1.0


def test_zoom_is_clamped(qtbot) -> None:
    c = Canvas(qtbot)
    for _ in range(40):
        c.view.zoom_in()
    assert c.view.zoom == 4.0
    for _ in range(80):
        c.view.zoom_out()
    assert abs(c.view.zoom - 0.05) < 1e-9


def test_middle_button_drag_pans(qtbot) -> None:
    c = Canvas(qtbot)
    before = c.view.mapToScene(c.viewport.rect().center())
    start = c.at((300, 300))  # empty canvas
    c.drag(start, start + QPoint(-120, -80), button=Qt.MouseButton.MiddleButton)
    after = c.view.mapToScene(c.viewport.rect().center())
    assert (after - before).toTuple() == (120, 80)
    assert c.scene.selected_node_ids() == []


def test_space_and_left_drag_pans_even_over_a_node(qtbot) -> None:
    c = Canvas(qtbot)
    before = c.view.mapToScene(c.viewport.rect().center())
    QTest.keyPress(c.viewport, Qt.Key.Key_Space)
    c.drag(c.centre_of("fetch"), c.centre_of("fetch") + QPoint(50, 0))
    QTest.keyRelease(c.viewport, Qt.Key.Key_Space)
    after = c.view.mapToScene(c.viewport.rect().center())
    assert (after - before).toTuple() == (-50, 0)
    assert (c.flow.node("fetch").x, c.flow.node("fetch").y) == (200, 0)  # not moved


def test_tab_and_ctrl_space_ask_for_quick_add(qtbot) -> None:
    c = Canvas(qtbot)
    c.view.setFocus()
    with qtbot.waitSignal(c.view.quickAddRequested) as sig:
        QTest.keyClick(c.viewport, Qt.Key.Key_Tab)
    assert sig.args[1] == ""
    with qtbot.waitSignal(c.view.quickAddRequested) as sig:
        QTest.keyClick(c.viewport, Qt.Key.Key_Space, Qt.KeyboardModifier.ControlModifier)
    assert sig.args[1] == ""
    assert c.view.visible_scene_rect().contains(sig.args[0])
