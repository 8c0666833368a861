"""The editor's files: new, open, save, save as, revert, and the unsaved-changes guard."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PySide6.QtCore import QPointF
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QMessageBox

from designer.commands import SetFlowFieldCommand, SetNodeFieldCommand
from designer.editor import FlowEditor
from engine.flowfile import dumps, flow_from_dict

Button = QMessageBox.StandardButton

FLOW = {
    "format": "flowdesk/1",
    "name": "nightly-report",
    "description": "Fetch, check, notify",
    "inputs": {"day": {"type": "string", "default": "today"}},
    "concurrency": 8,
    "nodes": [
        {"id": "start", "kind": "start", "x": 0, "y": 0},
        {"id": "fetch", "kind": "http", "name": "Fetch data",
         "config": {"method": "GET", "url": "http://127.0.0.1:8080/data?day={{ inputs.day }}"},
         "retry": {"max_attempts": 3, "backoff_s": 0.5, "backoff_factor": 2},
         "timeout_s": 30, "x": 160, "y": 0},
        {"id": "check", "kind": "branch", "x": 320, "y": 0},
        {"id": "notify", "kind": "shell",
         "config": {"command": ["echo", "{{ nodes.fetch.output.status }}"]},
         "x": 480, "y": -80},
        {"id": "end", "kind": "end",
         "config": {"outputs": {"status": "{{ nodes.fetch.output.status }}"}},
         "x": 640, "y": 0},
    ],
    "edges": [
        {"from": "start", "to": "fetch"},
        {"from": "fetch", "to": "check"},
        {"from": "check", "to": "notify", "when": "nodes.fetch.output.status == 200"},
        {"from": "check", "to": "end", "default": True},
        {"from": "notify", "to": "end"},
    ],
}


class Answers:
    """Scripted answers to the editor's questions, recording what was asked."""

    def __init__(self, editor: FlowEditor) -> None:
        self.save_changes: list[Button] = []
        self.paths: list[str] = []
        self.revert: list[bool] = []
        self.asked: list[str] = []
        self.errors: list[str] = []
        editor.ask_save_changes = self._save_changes
        editor.ask_open_path = self._path
        editor.ask_save_path = self._path
        editor.confirm_revert = self._revert
        editor.show_error = lambda _w, _title, message: self.errors.append(message)

    def _save_changes(self, _w: object, name: str) -> Button:
        self.asked.append(f"save {name}")
        return self.save_changes.pop(0)

    def _path(self, _w: object, _start: str) -> str:
        self.asked.append("path")
        return self.paths.pop(0)

    def _revert(self, _w: object, name: str) -> bool:
        self.asked.append(f"revert {name}")
        return self.revert.pop(0)


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    a = tmp_path / "a.flow.json"
    a.write_text(dumps(flow_from_dict(FLOW)), encoding="utf-8")
    b_flow = dict(FLOW, name="other")
    b = tmp_path / "b.flow.json"
    b.write_text(dumps(flow_from_dict(b_flow)), encoding="utf-8")
    bad = tmp_path / "bad.flow.json"
    bad.write_text('{"format": "flowdesk/2", "name": "x", "nodes": []}', encoding="utf-8")
    return {"a": a, "b": b, "bad": bad}


@pytest.fixture
def editor(qtbot) -> tuple[FlowEditor, Answers]:
    ed = FlowEditor()
    qtbot.addWidget(ed)
    ed.resize(800, 500)
    ed.show()
    return ed, Answers(ed)


def test_open_then_save_untouched_changes_nothing(editor, files) -> None:
    ed, _ = editor
    before = files["a"].read_bytes()
    assert ed.open_flow(files["a"])
    assert ed.title == "a.flow.json"
    assert ed.save()
    assert files["a"].read_bytes() == before


def test_edits_mark_the_title_and_saving_writes_them_with_positions(editor, files,
                                                                   qtbot) -> None:
    ed, _ = editor
    ed.open_flow(files["a"])
    titles: list[str] = []
    ed.titleChanged.connect(titles.append)
    ed.document.push(SetNodeFieldCommand(ed.flow, "fetch", "timeout_s", 12))
    assert ed.modified and ed.title == "a.flow.json*"
    assert titles[-1] == "a.flow.json*"
    ed.add_node("delay", ed.view.centre_scene_pos())
    assert ed.save()
    assert ed.title == "a.flow.json" and titles[-1] == "a.flow.json"
    saved = json.loads(files["a"].read_text())
    assert saved["format"] == "flowdesk/1"
    assert saved["nodes"][1]["timeout_s"] == 12
    delay = saved["nodes"][-1]
    assert delay["id"] == "delay" and isinstance(delay["x"], (int, float))
    assert saved["nodes"][3]["x"] == 480 and saved["nodes"][3]["y"] == -80


def test_guard_cancel_keeps_the_flow_and_discard_opens_the_other(editor, files) -> None:
    ed, answers = editor
    ed.open_flow(files["a"])
    ed.document.push(SetFlowFieldCommand(ed.flow, "description", "edited"))
    answers.save_changes = [Button.Cancel]
    assert not ed.open_flow(files["b"])
    assert ed.flow.description == "edited" and ed.modified
    answers.save_changes = [Button.Discard]
    assert ed.open_flow(files["b"])
    assert ed.flow.name == "other" and not ed.modified
    assert answers.asked == ["save a.flow.json", "save a.flow.json"]
    assert json.loads(files["a"].read_text())["description"] == "Fetch, check, notify"


def test_guard_save_writes_before_opening(editor, files) -> None:
    ed, answers = editor
    ed.open_flow(files["a"])
    ed.document.push(SetFlowFieldCommand(ed.flow, "description", "kept"))
    answers.save_changes = [Button.Save]
    assert ed.open_flow(files["b"])
    assert json.loads(files["a"].read_text())["description"] == "kept"


def test_new_flow_save_asks_for_a_path(editor, tmp_path) -> None:
    ed, answers = editor
    ed.add_node("start", ed.view.centre_scene_pos())
    assert ed.title == "untitled*"
    target = tmp_path / "fresh.flow.json"
    answers.save_changes = [Button.Save]
    answers.paths = [str(target)]
    assert ed.new_flow()
    assert answers.asked == ["save untitled", "path"]
    assert json.loads(target.read_text())["nodes"][0]["kind"] == "start"
    assert ed.flow.nodes == [] and ed.title == "untitled"


def test_cancelling_the_save_dialog_cancels_the_new(editor) -> None:
    ed, answers = editor
    ed.add_node("start", ed.view.centre_scene_pos())
    answers.save_changes = [Button.Save]
    answers.paths = [""]
    assert not ed.new_flow()
    assert len(ed.flow.nodes) == 1 and ed.modified


def test_a_bad_file_is_one_sentence_and_keeps_the_open_flow(editor, files) -> None:
    ed, answers = editor
    ed.open_flow(files["a"])
    ed.document.push(SetFlowFieldCommand(ed.flow, "description", "unsaved"))
    answers.save_changes = [Button.Discard]
    assert not ed.open_flow(files["bad"])
    assert answers.errors == [f"{files['bad']}: unsupported format \"flowdesk/2\" (this "
                              "version reads \"flowdesk/1\")."]
    assert ed.flow.name == "nightly-report"
    assert ed.document.path == files["a"]
    answers.save_changes = [Button.Discard]
    assert not ed.open_flow(files["a"].with_name("missing.flow.json"))
    assert answers.errors[-1].endswith("missing.flow.json: no such file.")


def test_saving_into_a_missing_folder_fails_and_stays_modified(editor, files, tmp_path) -> None:
    ed, answers = editor
    ed.open_flow(files["a"])
    ed.document.push(SetFlowFieldCommand(ed.flow, "description", "x"))
    assert not ed.save_as(tmp_path / "no" / "such" / "dir.flow.json")
    assert len(answers.errors) == 1 and "cannot write the file" in answers.errors[0]
    assert ed.modified and ed.document.path == files["a"]


def test_revert_asks_then_reloads(editor, files) -> None:
    ed, answers = editor
    ed.open_flow(files["a"])
    ed.document.push(SetFlowFieldCommand(ed.flow, "description", "changed"))
    answers.revert = [False]
    assert not ed.revert()
    assert ed.flow.description == "changed"
    answers.revert = [True]
    assert ed.revert()
    assert ed.flow.description == "Fetch, check, notify" and not ed.modified
    assert ed.scene.node_item("fetch") is not None


def test_revert_of_a_never_saved_flow_is_refused(editor) -> None:
    ed, answers = editor
    assert not ed.revert()
    assert answers.errors == ["This flow has never been saved, so there is nothing to "
                              "revert to."]


def test_file_actions_have_standard_shortcuts(editor) -> None:
    ed, _ = editor
    actions = ed.file_actions
    assert [a.text() for a in actions.all()] == ["&New", "&Open…", "&Save", "Save &As…",
                                                 "&Revert", "&Export Image…"]
    assert actions.save.shortcut().toString() == "Ctrl+S"
    assert actions.open.shortcut().toString() == "Ctrl+O"


def test_export_from_the_editor_writes_png_and_svg(editor, files, tmp_path) -> None:
    from PySide6.QtGui import QImage

    ed, answers = editor
    ed.open_flow(files["a"])
    ed.scene.select_node("fetch")
    ed.ask_export_path = lambda _w, _start: str(tmp_path / "pic.png")
    assert ed.file_actions.export.isEnabled()
    ed.file_actions.export.trigger()
    image = QImage(str(tmp_path / "pic.png"))
    assert image.width() > 300 and image.height() > 100
    assert ed.export_image(tmp_path / "pic.svg")
    svg = (tmp_path / "pic.svg").read_text(encoding="utf-8")
    for name in ("Fetch data", "check", "notify", "start", "end"):
        assert f">{name}<" in svg
    assert ed.scene.selected_node_ids() == ["fetch"]  # the selection survives the export
    assert not ed.export_image(tmp_path / "pic.gif")
    assert answers.errors == [f"{tmp_path / 'pic.gif'}: the picture must end in .png or .svg."]


def test_read_only_editor_refuses_edits(editor, files, qtbot) -> None:
    ed, _ = editor
    ed.open_flow(files["a"])
    before = ed.flow.to_dict()
    ed.set_read_only(True)
    assert not ed.file_actions.save.isEnabled()
    assert ed.add_node_at_centre("shell") is None
    ed.scene.select_node("fetch")
    qtbot.waitUntil(lambda: ed.properties.target == ("node", "fetch"))
    assert not ed.properties.scroll.widget().isEnabled()
    ed.properties.editors["timeout_s"].edited.emit(5)  # as if typed
    assert ed.flow.to_dict() == before
    ed.set_read_only(False)
    assert ed.properties.scroll.widget().isEnabled()
    ed.properties.editors["timeout_s"].edited.emit(5)
    assert ed.flow.node("fetch").timeout_s == 5


def test_python_m_designer_refuses_a_bad_file_in_one_sentence(files) -> None:
    import os
    import subprocess
    import sys

    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    root = Path(__file__).resolve().parents[2]
    out = subprocess.run([sys.executable, "-m", "designer", str(files["bad"])], cwd=root,
                         env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 2
    lines = [line for line in out.stderr.splitlines() if "propagateSizeHints" not in line]
    assert lines == [f"{files['bad']}: unsupported format \"flowdesk/2\" (this version reads "
                     "\"flowdesk/1\")."]


def test_opening_paints_first_then_checks_in_the_background(editor, files, qtbot,
                                                            tmp_path) -> None:
    ed, _ = editor
    broken = dict(FLOW, edges=FLOW["edges"][1:])  # 'fetch' and the rest lose the start
    path = tmp_path / "broken.flow.json"
    path.write_text(dumps(flow_from_dict(broken)), encoding="utf-8")
    assert ed.open_flow(path)
    # Not checked yet (the canvas paints first): the list still shows the empty flow's.
    assert ed.problems.pending
    assert "the flow has no start node" in [p.message for p in ed.problems.problems]
    qtbot.waitUntil(lambda: not ed.problems.pending, timeout=5000)
    assert ed.problems.summary.text().startswith("4 errors")
    assert ed.scene.node_item("fetch").problem[0] == "error"
    assert ed.problems._worker.running  # the check ran in the worker thread


def test_the_minimap_shows_the_opened_file_not_the_previous_one(editor, files, qtbot,
                                                                tmp_path) -> None:
    from designer.minimap import MiniMap

    ed, _ = editor
    assert ed.open_flow(files["a"])
    qtbot.waitUntil(lambda: not ed.minimap._redraw.isActive())
    other = dict(FLOW, edges=FLOW["edges"][1:], nodes=[dict(n) for n in FLOW["nodes"]])
    other["nodes"][0]["y"] = 300  # the start node moves down, and loses its edge
    path = tmp_path / "other.flow.json"
    path.write_text(dumps(flow_from_dict(other)), encoding="utf-8")
    assert ed.open_flow(path)
    fresh = MiniMap(ed.view, overlay=False)  # what a minimap drawn from scratch shows
    qtbot.addWidget(fresh)

    def same() -> bool:
        shown, drawn = (m.grab().toImage().convertToFormat(QImage.Format.Format_RGB32)
                        for m in (ed.minimap, fresh))
        return shown == drawn

    qtbot.waitUntil(same, timeout=3000)
    scale, off = ed.minimap._transform()
    start = QPointF(0, 300) * scale + off
    image = ed.minimap.grab().toImage()
    assert image.pixelColor(start.toPoint()).name() != "#ffffff"


def test_a_hidden_editor_still_checks_an_opened_file(qtbot, files) -> None:
    ed = FlowEditor()  # never shown, so its canvas never paints
    qtbot.addWidget(ed)
    assert ed.open_flow(files["a"])
    assert ed.problems.pending
    qtbot.waitUntil(lambda: not ed.problems.pending, timeout=5000)
    assert ed.problems.summary.text() == "No problems: the flow can run."
