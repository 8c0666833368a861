"""FlowDocument: load, save, revert, modified state, and one-sentence file errors."""

from __future__ import annotations

import pytest
from canvas_support import Canvas, write_flow

from designer.commands import SetNodeFieldCommand
from designer.document import DocumentError, FlowDocument
from engine.flowfile import dumps, load_flow


def test_open_then_save_an_untouched_file_writes_the_same_bytes(qtbot, tmp_path) -> None:
    src = tmp_path / "a.flow.json"
    src.write_text(dumps(load_flow(write_flow(tmp_path / "raw.flow.json"))), encoding="utf-8")
    original = src.read_bytes()
    doc = FlowDocument()
    doc.load(src)
    assert not doc.modified and doc.path == src and doc.display_name == "a.flow.json"
    doc.save()
    assert src.read_bytes() == original


def test_modified_follows_the_undo_stack_and_save(qtbot, tmp_path) -> None:
    doc = FlowDocument()
    doc.load(write_flow(tmp_path / "a.flow.json"))
    seen: list[bool] = []
    doc.modifiedChanged.connect(seen.append)
    doc.push(SetNodeFieldCommand(doc.flow, "fetch", "name", "Get"))
    assert doc.modified and seen[-1] is True
    doc.undo_stack.undo()
    assert not doc.modified and seen[-1] is False
    doc.undo_stack.redo()
    doc.save_as(tmp_path / "b.flow.json")
    assert not doc.modified and doc.path == tmp_path / "b.flow.json"
    assert load_flow(tmp_path / "b.flow.json").node("fetch").name == "Get"


def test_a_bad_file_is_one_sentence_and_the_open_flow_stays(qtbot, tmp_path) -> None:
    c = Canvas(qtbot)
    bad = tmp_path / "bad.flow.json"
    bad.write_text('{"format": "flowdesk/9", "nodes": []}', encoding="utf-8")
    with pytest.raises(DocumentError) as err:
        c.document.load(bad)
    assert "flowdesk/9" in str(err.value) and "\n" not in str(err.value)
    assert len(c.flow.nodes) == 5 and len(c.scene.node_items()) == 5


def test_revert_reloads_and_refuses_without_a_file(qtbot, tmp_path) -> None:
    c = Canvas(qtbot)
    with pytest.raises(DocumentError, match="never been saved"):
        c.document.revert()
    with pytest.raises(DocumentError, match="Save As"):
        c.document.save()
    path = write_flow(tmp_path / "a.flow.json")
    c.document.load(path)
    c.document.push(SetNodeFieldCommand(c.flow, "fetch", "name", "Changed"))
    item = c.scene.node_item("fetch")
    assert item.name == "Changed"
    c.document.revert()
    assert c.flow.node("fetch").name == "Fetch data"
    assert c.scene.node_item("fetch").name == "Fetch data"
    assert not c.document.modified and c.document.undo_stack.count() == 0


def test_saving_into_a_missing_folder_is_one_sentence(qtbot, tmp_path) -> None:
    doc = FlowDocument()
    with pytest.raises(DocumentError, match="cannot write the file"):
        doc.save_as(tmp_path / "no" / "such" / "x.flow.json")
