"""The palette: every kind, a filter, drag onto the canvas, double-click to add."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from PySide6.QtCore import QEvent, QMimeData, QPoint, QPointF, Qt
from PySide6.QtGui import QDrag, QDragEnterEvent, QDragMoveEvent, QDropEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QHBoxLayout, QWidget

from designer.editor import FlowEditor
from designer.palette import KIND_MIME, PaletteWidget
from engine.kinds import KINDS


@pytest.fixture
def window(qtbot) -> Iterator[tuple[QWidget, FlowEditor]]:
    win = QWidget()
    row = QHBoxLayout(win)
    editor = FlowEditor()
    row.addWidget(editor.palette)
    row.addWidget(editor, 1)
    win.resize(1100, 650)
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win)
    yield win, editor


def test_every_kind_is_listed_with_icon_title_and_description(qtbot) -> None:
    palette = PaletteWidget()
    qtbot.addWidget(palette)
    assert palette.visible_kinds() == list(KINDS)
    for name, spec in KINDS.items():
        item = palette.item_for(name)
        assert item.text() == f"{spec.title}\n{spec.description}"
        assert not item.icon().isNull()


def test_filter_box_narrows_the_list(qtbot) -> None:
    palette = PaletteWidget()
    qtbot.addWidget(palette)
    QTest.keyClicks(palette.filter_box, "python")
    assert palette.visible_kinds() == ["python"]
    palette.filter_box.clear()
    QTest.keyClicks(palette.filter_box, "WAITS")
    assert set(palette.visible_kinds()) == {"delay", "approval"}
    QTest.keyClicks(palette.filter_box, " person")
    assert palette.visible_kinds() == ["approval"]
    with qtbot.waitSignal(palette.kindActivated) as activated:
        QTest.keyClick(palette.filter_box, Qt.Key.Key_Return)
    assert activated.args == ["approval"]


def test_double_click_adds_the_kind_at_the_centre_of_the_view(window) -> None:
    _win, editor = window
    palette = editor.palette
    rect = palette.list.visualItemRect(palette.item_for("shell"))
    QTest.mouseClick(palette.list.viewport(), Qt.MouseButton.LeftButton,
                     Qt.KeyboardModifier.NoModifier, rect.center())
    assert editor.flow.nodes == []  # one click only selects the entry
    QTest.mouseDClick(palette.list.viewport(), Qt.MouseButton.LeftButton,
                      Qt.KeyboardModifier.NoModifier, rect.center())
    assert [(n.id, n.kind) for n in editor.flow.nodes] == [("shell", "shell")]
    centre = editor.view.centre_scene_pos()
    node = editor.flow.node("shell")
    assert abs(node.x - centre.x()) <= 20 and abs(node.y - centre.y()) <= 20
    assert editor.scene.selected_node_ids() == ["shell"]


def _deliver_drag_to(target: QWidget, at: QPoint):
    """Stand in for the platform's drag loop, which the offscreen platform lacks.

    The palette builds its real QDrag from real mouse events; this delivers that
    drag's mime data to ``target`` as the window system would: enter, move, drop.
    """
    seen: dict[str, object] = {}

    def exec_(drag: QDrag, *args: object) -> Qt.DropAction:
        mime: QMimeData = drag.mimeData()
        seen["formats"] = mime.formats()
        seen["kind"] = bytes(mime.data(KIND_MIME).data()).decode("utf-8")
        actions = Qt.DropAction.CopyAction
        buttons, mods = Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
        enter = QDragEnterEvent(at, actions, mime, buttons, mods)
        QApplication.sendEvent(target, enter)
        if not enter.isAccepted():
            return Qt.DropAction.IgnoreAction
        move = QDragMoveEvent(at, actions, mime, buttons, mods)
        QApplication.sendEvent(target, move)
        drop = QDropEvent(QPointF(at), actions, mime, buttons, mods, QEvent.Type.Drop)
        QApplication.sendEvent(target, drop)
        return drop.dropAction() if drop.isAccepted() else Qt.DropAction.IgnoreAction

    return exec_, seen


def test_dragging_a_kind_onto_the_canvas_creates_it_at_the_drop_point(
        window, monkeypatch) -> None:
    _win, editor = window
    palette, view = editor.palette, editor.view
    drop_at = view.viewport().rect().center() + QPoint(120, -60)
    exec_, seen = _deliver_drag_to(view.viewport(), drop_at)
    monkeypatch.setattr(QDrag, "exec", exec_)

    start = palette.list.visualItemRect(palette.item_for("http")).center()
    vp = palette.list.viewport()
    QTest.mousePress(vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, start)
    for dx in (4, 12, 30, 60):  # past the start-drag distance, with the button held
        QTest.mouseMove(vp, start + QPoint(dx, 0))
        _move_with_button(vp, start + QPoint(dx, 0))
    QTest.mouseRelease(vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                       start + QPoint(60, 0))

    assert seen["kind"] == "http"
    assert KIND_MIME in seen["formats"]
    assert [(n.id, n.kind) for n in editor.flow.nodes] == [("http", "http")]
    expected = view.mapToScene(drop_at)
    node = editor.flow.node("http")
    assert (node.x, node.y) == (round(expected.x()), round(expected.y()))
    item = editor.scene.node_item("http")
    assert item is not None and item.pos() == QPointF(node.x, node.y)
    editor.document.undo_stack.undo()
    assert editor.flow.nodes == []


def test_a_drop_of_something_else_is_refused(window) -> None:
    _win, editor = window
    mime = QMimeData()
    mime.setText("just text")
    at = editor.view.viewport().rect().center()
    enter = QDragEnterEvent(at, Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                            Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(editor.view.viewport(), enter)
    assert not enter.isAccepted()
    assert editor.flow.nodes == []


def _move_with_button(widget: QWidget, pos: QPoint) -> None:
    """A mouse move that says the left button is held (QTest's move may not)."""
    from PySide6.QtGui import QMouseEvent

    event = QMouseEvent(QEvent.Type.MouseMove, QPointF(pos),
                        QPointF(widget.mapToGlobal(pos)), Qt.MouseButton.NoButton,
                        Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(widget, event)
