"""The quick-add popup: typing filters, arrows move, Enter or a click picks, Esc closes."""

from __future__ import annotations

from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtTest import QTest

from designer.quickadd import QuickAddPopup
from engine.kinds import KINDS


def _popup(qtbot) -> QuickAddPopup:
    popup = QuickAddPopup()
    qtbot.addWidget(popup)
    popup.popup_at(QPoint(100, 100))
    qtbot.waitUntil(popup.isVisible)
    return popup


def test_typing_filters_and_enter_picks_the_highlighted_kind(qtbot) -> None:
    popup = _popup(qtbot)
    assert popup.visible_kinds() == list(KINDS)
    QTest.keyClicks(popup.search, "http")
    assert popup.visible_kinds() == ["http"]
    with qtbot.waitSignal(popup.kindChosen) as chosen:
        QTest.keyClick(popup.search, Qt.Key.Key_Return)
    assert chosen.args == ["http"]
    assert not popup.isVisible()


def test_arrow_keys_move_through_matches(qtbot) -> None:
    popup = _popup(qtbot)
    QTest.keyClicks(popup.search, "wait")  # delay and approval both mention waiting
    matches = popup.visible_kinds()
    assert set(matches) == {"delay", "approval"}
    assert popup.current_kind() == matches[0]
    QTest.keyClick(popup.search, Qt.Key.Key_Down)
    assert popup.current_kind() == matches[1]
    QTest.keyClick(popup.search, Qt.Key.Key_Up)
    assert popup.current_kind() == matches[0]


def test_clicking_an_entry_picks_it(qtbot) -> None:
    popup = _popup(qtbot)
    item = popup.list.item(list(KINDS).index("python"))
    rect = popup.list.visualItemRect(item)
    with qtbot.waitSignal(popup.kindChosen) as chosen:
        QTest.mouseClick(popup.list.viewport(), Qt.MouseButton.LeftButton,
                         Qt.KeyboardModifier.NoModifier, rect.center())
    assert chosen.args == ["python"]


def test_escape_closes_without_choosing(qtbot) -> None:
    popup = _popup(qtbot)
    chosen: list[str] = []
    popup.kindChosen.connect(chosen.append)
    QTest.keyClicks(popup.search, "sh")
    with qtbot.waitSignal(popup.cancelled):
        QTest.keyClick(popup.search, Qt.Key.Key_Escape)
    assert not popup.isVisible()
    assert chosen == []


def test_enter_with_no_match_does_nothing(qtbot) -> None:
    popup = _popup(qtbot)
    chosen: list[str] = []
    popup.kindChosen.connect(chosen.append)
    QTest.keyClicks(popup.search, "no such kind at all")
    assert popup.visible_kinds() == []
    QTest.keyClick(popup.search, Qt.Key.Key_Return)
    assert chosen == []
    assert popup.isVisible()


def test_port_drag_to_empty_canvas_adds_and_connects_in_one_step(qtbot) -> None:
    from designer.editor import FlowEditor

    editor = FlowEditor()
    qtbot.addWidget(editor)
    editor.resize(900, 600)
    editor.show()
    qtbot.waitExposed(editor)
    view = editor.view
    editor.add_node("start", view.centre_scene_pos() + QPointF(-200, 0))
    stack = editor.document.undo_stack
    steps = stack.count()
    item = editor.scene.node_item("start")
    port = view.mapFromScene(item.port_scene_pos("out"))
    empty = port + QPoint(250, 40)
    vp = view.viewport()
    QTest.mousePress(vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, port)
    QTest.mouseMove(vp, port + QPoint(100, 20))
    QTest.mouseMove(vp, empty)
    QTest.mouseRelease(vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, empty)
    qtbot.waitUntil(editor.quick_add.isVisible)
    QTest.keyClicks(editor.quick_add.search, "shell")
    QTest.keyClick(editor.quick_add.search, Qt.Key.Key_Return)
    assert [n.id for n in editor.flow.nodes] == ["start", "shell"]
    assert [(e.source, e.target) for e in editor.flow.edges] == [("start", "shell")]
    dropped = view.mapToScene(empty)
    node = editor.flow.node("shell")
    assert (node.x, node.y) == (round(dropped.x()), round(dropped.y()))
    assert stack.count() == steps + 1
    stack.undo()
    assert [n.id for n in editor.flow.nodes] == ["start"] and editor.flow.edges == []


def test_tab_over_the_canvas_opens_quick_add_at_the_cursor(qtbot) -> None:
    from designer.editor import FlowEditor

    editor = FlowEditor()
    qtbot.addWidget(editor)
    editor.resize(900, 600)
    editor.show()
    qtbot.waitExposed(editor)
    editor.view.setFocus()
    QTest.keyClick(editor.view, Qt.Key.Key_Tab)
    qtbot.waitUntil(editor.quick_add.isVisible)
    QTest.keyClicks(editor.quick_add.search, "start")
    QTest.keyClick(editor.quick_add.search, Qt.Key.Key_Return)
    assert [(n.id, n.kind) for n in editor.flow.nodes] == [("start", "start")]
    assert editor.flow.edges == []


def test_matches_by_name_come_before_matches_in_descriptions(qtbot) -> None:
    popup = _popup(qtbot)
    QTest.keyClicks(popup.search, "re")
    matches = popup.visible_kinds()
    assert matches[0] == "http"  # "HTTP request": the title contains "re"
    assert "start" in matches  # its description mentions "where"
    assert popup.current_kind() == "http"
    popup.search.clear()
    QTest.keyClicks(popup.search, "s")
    assert popup.visible_kinds()[:3] == ["start", "set", "shell"]
