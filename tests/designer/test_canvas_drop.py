"""Dropping a kind (mime application/x-flowdesk-kind) on the canvas adds that node there."""

from __future__ import annotations

from canvas_support import Canvas
from PySide6.QtCore import QMimeData, QPointF, Qt
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication

from designer.view import KIND_MIME


def _drop(c: Canvas, data: bytes, scene_point: tuple[float, float],
          mime_type: str = KIND_MIME) -> QDropEvent:
    mime = QMimeData()
    mime.setData(mime_type, data)
    pos = c.at(scene_point)
    enter = QDragEnterEvent(pos, Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                            Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(c.viewport, enter)
    drop = QDropEvent(QPointF(pos), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                      Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(c.viewport, drop)
    return drop


def test_a_dropped_kind_becomes_a_node_at_the_drop_point(qtbot) -> None:
    c = Canvas(qtbot)
    drop = _drop(c, b"python", (300, 200))
    assert drop.isAccepted()
    node = c.flow.nodes[-1]
    assert (node.id, node.kind, node.x, node.y) == ("python", "python", 300, 200)
    item = c.scene.node_item("python")
    assert item.pos().toTuple() == (300, 200)
    assert c.scene.selected_node_ids() == ["python"]
    _drop(c, b"python", (300, 400))
    assert c.flow.nodes[-1].id == "python_2"  # ids stay unique
    c.document.undo_stack.undo()
    c.document.undo_stack.undo()
    assert [n.id for n in c.flow.nodes] == ["start", "fetch", "check", "notify", "end"]


def test_an_unknown_kind_is_refused_with_a_message(qtbot) -> None:
    c = Canvas(qtbot)
    with qtbot.waitSignal(c.view.message) as sig:
        drop = _drop(c, b"teleport", (300, 200))
    assert not drop.isAccepted()
    assert sig.args[0] == "'teleport' is not a node kind."
    assert len(c.flow.nodes) == 5


def test_other_drops_and_read_only_views_are_ignored(qtbot) -> None:
    c = Canvas(qtbot)
    _drop(c, b"python", (300, 200), mime_type="text/plain")
    c.view.set_read_only(True)
    _drop(c, b"python", (300, 200))
    assert len(c.flow.nodes) == 5
