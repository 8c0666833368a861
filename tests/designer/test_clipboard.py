"""Copy, cut, paste and duplicate through the system clipboard, between documents too."""

from __future__ import annotations

import json

import pytest
from canvas_support import Canvas, model_json
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtTest import QTest

from designer import clipboard
from designer.actions import EditActions
from engine.flowfile import loads
from engine.model import Flow, Node


def _select(c: Canvas, *ids: str) -> None:
    c.scene.clearSelection()
    for nid in ids:
        c.scene.node_item(nid).setSelected(True)


def test_copy_paste_between_two_documents_keeps_ids_unique(qtbot) -> None:
    source = Canvas(qtbot)
    src_actions = EditActions(source.view)
    target_flow = Flow("other")
    target_flow.add_node(Node("start", "start", x=0, y=0))
    target_flow.add_node(Node("check", "shell", x=0, y=100,
                              config={"command": ["true"]}))
    target = Canvas(qtbot, target_flow)
    tgt_actions = EditActions(target.view)

    source.activate()
    _select(source, "fetch", "check", "notify")
    QTest.keyClick(source.viewport, Qt.Key.Key_C, Qt.KeyboardModifier.ControlModifier)
    text = QGuiApplication.clipboard().text()
    copied = loads(text)  # the clipboard holds a real flowdesk/1 document
    assert [n.id for n in copied.nodes] == ["fetch", "check", "notify"]
    assert [(e.source, e.target) for e in copied.edges] == [("fetch", "check"),
                                                            ("check", "notify")]
    assert QGuiApplication.clipboard().mimeData().hasFormat(clipboard.FLOW_MIME)

    target.activate()
    QTest.keyClick(target.viewport, Qt.Key.Key_V, Qt.KeyboardModifier.ControlModifier)
    assert [n.id for n in target.flow.nodes] == ["start", "check", "fetch", "check_2", "notify"]
    assert [(e.source, e.target) for e in target.flow.edges] == [("fetch", "check_2"),
                                                                 ("check_2", "notify")]
    pasted = target.flow.node("check_2")
    assert (pasted.x, pasted.y) == (400 + 40, 0 + 40)  # offset from the original place
    assert target.flow.node("fetch").config == source.flow.node("fetch").config
    assert target.scene.selected_node_ids() == ["fetch", "check_2", "notify"]
    assert target.document.undo_stack.count() == 1
    target.document.undo_stack.undo()
    assert [n.id for n in target.flow.nodes] == ["start", "check"]
    assert src_actions and tgt_actions


def test_paste_twice_into_the_same_flow(qtbot) -> None:
    c = Canvas(qtbot)
    actions = EditActions(c.view)
    _select(c, "notify", "end")
    c.flow.node("notify").cancels = ["end"]
    actions.copy.trigger()
    actions.paste.trigger()
    actions.paste.trigger()
    ids = [n.id for n in c.flow.nodes]
    assert ids[5:] == ["notify_2", "end_2", "notify_3", "end_3"]
    assert c.flow.node("notify_2").cancels == ["end_2"]  # references follow the rename
    assert ("notify_3", "end_3") in [(e.source, e.target) for e in c.flow.edges]


def test_cut_removes_and_paste_brings_back(qtbot) -> None:
    c = Canvas(qtbot)
    actions = EditActions(c.view)
    _select(c, "notify")
    actions.cut.trigger()
    assert not c.flow.has_node("notify")
    assert all("notify" not in (e.source, e.target) for e in c.flow.edges)
    actions.paste.trigger()
    assert c.flow.has_node("notify")  # the id is free again, so it is kept


def test_duplicate_leaves_the_clipboard_alone(qtbot) -> None:
    c = Canvas(qtbot)
    actions = EditActions(c.view)
    QGuiApplication.clipboard().setText("unrelated")
    _select(c, "fetch")
    actions.duplicate.trigger()
    assert c.flow.nodes[-1].id == "fetch_2"
    assert QGuiApplication.clipboard().text() == "unrelated"


@pytest.mark.parametrize(("text", "message"), [
    ("", "the clipboard is empty"),
    ("hello", "not JSON"),
    ('{"nodes": []}', 'no "format": "flowdesk/1" document'),
    ('{"format": "flowdesk/1", "nodes": [{"id": "x", "kind": "nope"}]}', "unknown kind"),
    ('{"format": "flowdesk/1", "nodes": []}', "there are no nodes to paste"),
])
def test_pasting_something_else_says_why_and_changes_nothing(qtbot, text, message) -> None:
    c = Canvas(qtbot)
    actions = EditActions(c.view)
    before = model_json(c.flow)
    QGuiApplication.clipboard().setText(text)
    with qtbot.waitSignal(c.view.message) as sig:
        actions.paste.trigger()
    assert message in sig.args[0] and sig.args[0].startswith("Cannot paste: ")
    assert model_json(c.flow) == before
    assert c.document.undo_stack.count() == 0


def test_plain_json_text_from_a_text_editor_pastes(qtbot) -> None:
    c = Canvas(qtbot, Flow("empty"))
    actions = EditActions(c.view)
    QGuiApplication.clipboard().setText(json.dumps({
        "format": "flowdesk/1", "name": "x",
        "nodes": [{"id": "a", "kind": "delay", "config": {"seconds": 1}, "x": 0, "y": 0}]}))
    actions.paste.trigger()
    assert c.flow.node("a").config == {"seconds": 1}


def test_paste_between_two_editors_in_one_app_also_after_the_exit_hook(qtbot,
                                                                       tmp_path) -> None:
    """Two whole FlowEditors: Ctrl+C in one, Ctrl+V in the other; the clipboard then goes
    to plain text (what the exit hook leaves for other programs) and still pastes."""
    from designer.editor import FlowEditor
    from engine.flowfile import dumps

    source, target = FlowEditor(), FlowEditor()
    for editor in (source, target):
        qtbot.addWidget(editor)
        editor.resize(700, 450)
        editor.show()
    path = tmp_path / "source.flow.json"
    path.write_text(dumps(Canvas(qtbot).flow), encoding="utf-8")
    assert source.open_flow(path)
    source.scene.select_nodes(["fetch", "check"])
    source.view.setFocus()
    source.activateWindow()
    qtbot.waitUntil(source.view.hasFocus)
    QTest.keyClick(source.view.viewport(), Qt.Key.Key_C, Qt.KeyboardModifier.ControlModifier)
    assert QGuiApplication.clipboard().mimeData().hasFormat(clipboard.FLOW_MIME)

    target.activateWindow()
    target.view.setFocus()
    qtbot.waitUntil(target.view.hasFocus)
    QTest.keyClick(target.view.viewport(), Qt.Key.Key_V, Qt.KeyboardModifier.ControlModifier)
    assert [n.id for n in target.flow.nodes] == ["fetch", "check"]
    assert [(e.source, e.target) for e in target.flow.edges] == [("fetch", "check")]
    assert target.flow.node("fetch").config == source.flow.node("fetch").config

    clipboard._release_clipboard_at_exit()  # as at exit: our mime type gone, the JSON kept
    assert not QGuiApplication.clipboard().mimeData().hasFormat(clipboard.FLOW_MIME)
    QTest.keyClick(target.view.viewport(), Qt.Key.Key_V, Qt.KeyboardModifier.ControlModifier)
    assert [n.id for n in target.flow.nodes] == ["fetch", "check", "fetch_2", "check_2"]
    assert [(e.source, e.target) for e in target.flow.edges] == [("fetch", "check"),
                                                                 ("fetch_2", "check_2")]
    assert target.document.undo_stack.count() == 2
    assert source.flow.node("fetch") is not target.flow.node("fetch")
