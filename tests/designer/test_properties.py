"""The property editor: typed edits change the model (through undo) and the saved file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QTextCursor
from PySide6.QtTest import QTest

from designer.document import FlowDocument
from designer.fields import CodeEditor, KeyValueEditor, NumberEditor
from designer.properties import PropertyEditor
from engine.flowfile import flow_from_dict, load_flow

FLOW = {
    "format": "flowdesk/1",
    "name": "demo",
    "nodes": [
        {"id": "start", "kind": "start", "x": 0, "y": 0},
        {"id": "fetch", "kind": "http", "config": {"url": "http://a/"}, "x": 200, "y": 0},
        {"id": "calc", "kind": "python", "config": {"code": "result = 1\n"}, "x": 400, "y": 0},
        {"id": "end", "kind": "end", "x": 600, "y": 0},
    ],
    "edges": [
        {"from": "start", "to": "fetch"},
        {"from": "fetch", "to": "calc"},
        {"from": "calc", "to": "end"},
    ],
}


@pytest.fixture
def doc() -> FlowDocument:
    return FlowDocument(flow_from_dict(json.loads(json.dumps(FLOW))))


@pytest.fixture
def editor(qtbot, doc: FlowDocument) -> PropertyEditor:
    ed = PropertyEditor(doc)
    qtbot.addWidget(ed)
    ed.resize(420, 900)
    ed.show()
    return ed


def _line(editor: PropertyEditor, key: str):
    return editor.editors[key].line  # type: ignore[attr-defined]


def _retype(widget, text: str) -> None:
    widget.setFocus()
    widget.selectAll()
    QTest.keyClick(widget, Qt.Key.Key_Delete)
    QTest.keyClicks(widget, text)


def test_typing_a_url_edits_the_model_as_one_undo_step_and_reaches_the_file(
        editor: PropertyEditor, doc: FlowDocument, tmp_path: Path) -> None:
    editor.show_node("fetch")
    _retype(_line(editor, "config.url"), "http://example.org/x")
    assert doc.flow.node("fetch").config == {"url": "http://example.org/x"}
    assert doc.undo_stack.count() == 1  # every keystroke merged into one step
    QTest.keyClicks(_line(editor, "config.url"), "?q=1")
    assert doc.flow.node("fetch").config["url"] == "http://example.org/x?q=1"
    assert doc.undo_stack.count() == 1

    out = tmp_path / "demo.flow.json"
    doc.save_as(out)
    assert json.loads(out.read_text())["nodes"][1]["config"]["url"] == "http://example.org/x?q=1"
    assert load_flow(out).node("fetch").config == {"url": "http://example.org/x?q=1"}

    doc.undo_stack.undo()
    assert doc.flow.node("fetch").config == {"url": "http://a/"}
    assert _line(editor, "config.url").text() == "http://a/"  # the form follows undo


def test_edits_of_two_config_keys_are_two_undo_steps(editor: PropertyEditor,
                                                     doc: FlowDocument) -> None:
    editor.show_node("fetch")
    _retype(_line(editor, "config.url"), "http://b/")
    editor.editors["config.method"].combo.setCurrentText("POST")  # type: ignore[attr-defined]
    assert doc.flow.node("fetch").config == {"url": "http://b/", "method": "POST"}
    assert doc.undo_stack.count() == 2
    doc.undo_stack.undo()
    assert doc.flow.node("fetch").config == {"url": "http://b/"}
    assert editor.editors["config.method"].combo.currentText() == "GET"  # type: ignore


def test_python_code_is_highlighted_and_checked(editor: PropertyEditor,
                                                doc: FlowDocument) -> None:
    editor.show_node("calc")
    code = editor.editors["config.code"]
    assert isinstance(code, CodeEditor)
    block = code.text.document().firstBlock()
    formats = block.layout().formats()
    assert formats, "the code shown is coloured"
    code.text.setFocus()
    code.text.moveCursor(QTextCursor.MoveOperation.End)
    QTest.keyClicks(code.text, "if x")
    QTest.keyClick(code.text, Qt.Key.Key_Return)
    assert "Python syntax error on line 2" in code.error
    assert doc.flow.node("calc").config["code"] == "result = 1\nif x\n"  # kept, not lost
    QTest.keyClick(code.text, Qt.Key.Key_Backspace)
    QTest.keyClicks(code.text, ":")
    QTest.keyClick(code.text, Qt.Key.Key_Return)
    QTest.keyClicks(code.text, "    result = 2")
    QTest.keyClick(code.text, Qt.Key.Key_Return)
    assert code.error == ""
    assert doc.flow.node("calc").config["code"] == "result = 1\nif x:\n    result = 2\n"
    keyword_block = code.text.document().findBlockByNumber(1)
    colours = {f.format.foreground().color().name() for f in keyword_block.layout().formats()}
    assert code.highlighter.keyword_format.foreground().color().name() in colours


def test_headers_table_edits_the_map(editor: PropertyEditor, doc: FlowDocument) -> None:
    editor.show_node("fetch")
    table = editor.editors["config.headers"]
    assert isinstance(table, KeyValueEditor)
    QTest.mouseClick(table.add_button, Qt.MouseButton.LeftButton)
    table.table.item(0, 0).setText("Accept")
    table.table.item(0, 1).setText("application/json")
    assert doc.flow.node("fetch").config["headers"] == {"Accept": "application/json"}
    QTest.mouseClick(table.add_button, Qt.MouseButton.LeftButton)
    table.table.item(1, 1).setText("orphan value")
    assert "needs a name" in table.error
    assert doc.flow.node("fetch").config["headers"] == {"Accept": "application/json"}


def test_a_bad_number_is_refused_with_a_sentence_and_changes_nothing(
        editor: PropertyEditor, doc: FlowDocument) -> None:
    editor.show_node("fetch")
    before = doc.flow.to_dict()
    timeout = editor.editors["timeout_s"]
    assert isinstance(timeout, NumberEditor)
    _retype(timeout.line, "soon")
    assert timeout.error == "'soon' is not a number."
    assert doc.flow.to_dict() == before
    _retype(timeout.line, "-3")
    assert "positive" in editor.message.text()
    assert doc.flow.to_dict() == before
    _retype(timeout.line, "2.5")
    assert doc.flow.node("fetch").timeout_s == 2.5


def test_retry_and_join_settings(editor: PropertyEditor, doc: FlowDocument) -> None:
    editor.show_node("calc")
    _retype(editor.editors["retry.max_attempts"].line, "3")  # type: ignore[attr-defined]
    _retype(editor.editors["retry.backoff_s"].line, "0.5")  # type: ignore[attr-defined]
    assert doc.flow.node("calc").retry == {"max_attempts": 3, "backoff_s": 0.5}
    join = editor.editors["join"]
    join.mode.setCurrentIndex(2)  # type: ignore[attr-defined]
    join.count.setValue(2)  # type: ignore[attr-defined]
    assert doc.flow.node("calc").join == {"min": 2}
    join.mode.setCurrentIndex(0)  # type: ignore[attr-defined]
    assert doc.flow.node("calc").join is None


def test_renaming_a_node_keeps_its_edges_and_refuses_duplicates(
        editor: PropertyEditor, doc: FlowDocument) -> None:
    editor.show_node("fetch")
    _retype(editor.id_edit, "calc")
    QTest.keyClick(editor.id_edit, Qt.Key.Key_Return)
    assert editor.message.text() == "A node with id 'calc' already exists."
    assert doc.flow.has_node("fetch")
    _retype(editor.id_edit, "get-data")
    QTest.keyClick(editor.id_edit, Qt.Key.Key_Return)
    assert not doc.flow.has_node("fetch")
    assert [(e.source, e.target) for e in doc.flow.edges][:2] == [
        ("start", "get-data"), ("get-data", "calc")]
    assert editor.target == ("node", "get-data")
    doc.undo_stack.undo()
    assert editor.id_edit.text() == "fetch"


def test_edge_when_is_checked_live(editor: PropertyEditor, doc: FlowDocument) -> None:
    key = doc.flow.edges[1].key
    editor.show_edge(key)
    when = editor.editors["when"]
    _retype(when.line, "nodes.fetch.output.status ==")  # type: ignore[attr-defined]
    assert "invalid expression" in when.error
    QTest.keyClicks(when.line, " 200")  # type: ignore[attr-defined]
    assert when.error == ""
    assert doc.flow.edge(key).when == "nodes.fetch.output.status == 200"
    editor.editors["on"].combo.setCurrentText("error")  # type: ignore[attr-defined]
    assert doc.flow.edge(key).on == "error"
    assert doc.flow.edges[1].to_dict() == {"from": "fetch", "to": "calc",
                                           "when": "nodes.fetch.output.status == 200",
                                           "on": "error"}


def test_flow_settings_and_inputs(editor: PropertyEditor, doc: FlowDocument) -> None:
    editor.show_flow()
    _retype(_line(editor, "name"), "nightly")
    assert doc.flow.name == "nightly"
    _retype(_line(editor, "name"), "")
    assert "needs a name" in editor.message.text()
    assert doc.flow.name == "nightly"
    inputs = editor.editors["inputs"]
    QTest.mouseClick(inputs.add_button, Qt.MouseButton.LeftButton)  # type: ignore
    table = inputs.table  # type: ignore[attr-defined]
    table.item(0, 0).setText("count")
    table.item(0, 1).setText("integer")
    table.item(0, 2).setText("many")
    assert inputs.error == "Input 'count': the default 'many' is not a valid integer."
    assert doc.flow.inputs is None or "default" not in doc.flow.inputs.get("count", {})
    table.item(0, 2).setText("3")
    assert doc.flow.inputs == {"count": {"type": "integer", "default": 3}}
    _retype(_line(editor, "concurrency"), "0")
    assert editor.editors["concurrency"].error == "must be at least 1."
    _retype(_line(editor, "concurrency"), "4")
    assert doc.flow.concurrency == 4


def test_undo_of_a_node_removal_elsewhere_returns_to_the_flow_form(
        editor: PropertyEditor, doc: FlowDocument) -> None:
    from designer.commands import RemoveItemsCommand

    editor.show_node("calc")
    doc.push(RemoveItemsCommand(doc.flow, ["calc"]))
    assert editor.target == ("flow", None)
    assert editor.title.text() == "Flow"


def test_the_form_follows_clicks_on_the_canvas(qtbot, tmp_path: Path) -> None:
    from designer.editor import FlowEditor

    path = tmp_path / "demo.flow.json"
    path.write_text(json.dumps(FLOW), encoding="utf-8")
    ed = FlowEditor()
    qtbot.addWidget(ed)
    ed.resize(1000, 500)
    ed.show()
    qtbot.waitExposed(ed)
    assert ed.open_flow(path)
    props, view = ed.properties, ed.view
    vp = view.viewport()

    def click(point) -> None:
        QTest.mouseClick(vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, point)

    click(view.mapFromScene(ed.scene.node_item("fetch").sceneBoundingRect().center()))
    qtbot.waitUntil(lambda: props.target == ("node", "fetch"))
    assert props.editors["config.url"].line.text() == "http://a/"  # type: ignore[attr-defined]
    edge = ed.flow.edges[1]
    item = ed.scene.edge_item(edge.key)
    middle = (item.start_point() + item.end_point()) / 2
    click(view.mapFromScene(middle))
    qtbot.waitUntil(lambda: props.target == ("edge", edge.key))
    assert props.title.text() == "Edge fetch → calc"
    click(view.mapFromScene(ed.scene.node_item("end").sceneBoundingRect().center()
                            + QPointF(0, 300)))
    qtbot.waitUntil(lambda: props.target == ("flow", None))
    assert props.title.text() == "Flow"


def test_selecting_everything_shows_the_flow_once(qtbot, tmp_path: Path) -> None:
    from designer.editor import FlowEditor

    path = tmp_path / "demo.flow.json"
    path.write_text(json.dumps(FLOW), encoding="utf-8")
    ed = FlowEditor()
    qtbot.addWidget(ed)
    assert ed.open_flow(path)
    ed.scene.select_node("calc")
    qtbot.waitUntil(lambda: ed.properties.target == ("node", "calc"))
    builds: list[str] = []
    original = ed.properties._new_form
    ed.properties._new_form = lambda: (builds.append("form"), original())[1]
    ed.scene.select_all()
    qtbot.waitUntil(lambda: ed.properties.target == ("flow", None))
    assert ed.properties.title.text() == "7 items selected — flow settings"
    assert builds == ["form"]  # one form for the whole burst of selection signals


def test_a_shell_command_line_stays_a_string(qtbot) -> None:
    data = json.loads(json.dumps(FLOW))
    data["nodes"].append({"id": "sh", "kind": "shell",
                          "config": {"command": "ls | wc -l", "shell": True}})
    doc = FlowDocument(flow_from_dict(data))
    editor = PropertyEditor(doc)
    qtbot.addWidget(editor)
    editor.show_node("sh")
    table = editor.editors["config.command"].table  # type: ignore[attr-defined]
    assert table.rowCount() == 1 and table.item(0, 0).text() == "ls | wc -l"
    table.item(0, 0).setText("ls -l | wc -l")
    assert doc.flow.node("sh").config == {"command": "ls -l | wc -l", "shell": True}


def test_json_body_and_status_list(editor: PropertyEditor, doc: FlowDocument) -> None:
    editor.show_node("fetch")
    body = editor.editors["config.json"]
    body.text.setFocus()  # type: ignore[attr-defined]
    QTest.keyClicks(body.text, '{"day": ')  # type: ignore[attr-defined]
    assert body.error.startswith("Not valid JSON")
    assert "json" not in doc.flow.node("fetch").config  # nothing half-typed is applied
    QTest.keyClicks(body.text, '"{{ inputs.day }}"}')  # type: ignore[attr-defined]
    assert body.error == ""
    assert doc.flow.node("fetch").config["json"] == {"day": "{{ inputs.day }}"}
    status = editor.editors["config.ok_status"]
    QTest.mouseClick(status.add_button, Qt.MouseButton.LeftButton)  # type: ignore
    status.table.item(0, 0).setText("200")  # type: ignore[attr-defined]
    QTest.mouseClick(status.add_button, Qt.MouseButton.LeftButton)  # type: ignore
    status.table.item(1, 0).setText("404")  # type: ignore[attr-defined]
    assert doc.flow.node("fetch").config["ok_status"] == [200, 404]
    status.table.setCurrentCell(0, 0)  # type: ignore[attr-defined]
    QTest.mouseClick(status.remove_button, Qt.MouseButton.LeftButton)  # type: ignore
    assert doc.flow.node("fetch").config["ok_status"] == [404]


def test_an_input_type_is_picked_from_a_drop_down(editor: PropertyEditor,
                                                  doc: FlowDocument, qtbot) -> None:
    from PySide6.QtWidgets import QComboBox, QLineEdit

    editor.show_flow()
    inputs = editor.editors["inputs"]
    QTest.mouseClick(inputs.add_button, Qt.MouseButton.LeftButton)  # type: ignore
    table = inputs.table  # type: ignore[attr-defined]
    name_box = table.findChild(QLineEdit)  # the new row opens with its name being edited
    QTest.keyClicks(name_box, "verbose")
    QTest.keyClick(name_box, Qt.Key.Key_Return)  # the table commits it on the next turn
    qtbot.waitUntil(lambda: doc.flow.inputs == {"verbose": {"type": "string"}})
    table.editItem(table.item(0, 1))
    combo = table.findChild(QComboBox)
    assert combo is not None
    assert [combo.itemText(i) for i in range(combo.count())] == [
        "string", "integer", "number", "boolean", "object", "array"]
    combo.setCurrentText("boolean")
    table.commitData(combo)
    table.closeEditor(combo, table.itemDelegate().EndEditHint.NoHint)
    table.item(0, 2).setText("true")
    assert doc.flow.inputs == {"verbose": {"type": "boolean", "default": True}}


def test_a_triple_quoted_string_is_coloured_across_lines(qtbot) -> None:
    from PySide6.QtGui import QTextDocument

    from designer.fields import PythonHighlighter

    document = QTextDocument()
    highlighter = PythonHighlighter(document)
    document.setPlainText('x = """first\nif while\nlast""" + 1\n# not """ a string\ny = 2\n'
                          "z = '''a'''\n")
    highlighter.rehighlight()
    string = highlighter.string_format.foreground().color().name()

    def colours(line: int) -> list[tuple[int, int, str]]:
        layout = document.findBlockByNumber(line).layout()
        return [(f.start, f.length, f.format.foreground().color().name())
                for f in layout.formats()]

    assert colours(1) == [(0, 8, string)]  # keywords inside the string are string-coloured
    assert (0, 7, string) in colours(2)  # up to the closing quotes, not beyond
    assert all(c != string for _s, _l, c in colours(3))  # quotes in a comment open nothing
    assert all(c != string for _s, _l, c in colours(4))
    assert (4, 7, string) in colours(5)  # a one-line ''' string
    assert [document.findBlockByNumber(i).userState() for i in range(5)] == [2, 2, 0, 0, 0]
