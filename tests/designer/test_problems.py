"""The problems panel: live, debounced validation; marks on items; click to go there."""

from __future__ import annotations

import json

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QGraphicsView

from designer.commands import ConnectCommand, SetEdgeFieldCommand, SetNodeFieldCommand
from designer.document import FlowDocument
from designer.problems import ProblemsPanel
from designer.scene import FlowScene
from engine.flowfile import flow_from_dict

INVALID = {
    "format": "flowdesk/1",
    "name": "broken",
    "nodes": [
        {"id": "start", "kind": "start", "x": 0, "y": 0},
        {"id": "fetch", "kind": "http", "x": 200, "y": 0},
        {"id": "lonely", "kind": "shell", "config": {"command": ["true"]}, "x": 2000,
         "y": 1500},
        {"id": "end", "kind": "end", "x": 400, "y": 0},
    ],
    "edges": [
        {"from": "start", "to": "fetch"},
        {"from": "fetch", "to": "end", "when": "nodes.fetch.output.status =="},
    ],
}


@pytest.fixture
def setup(qtbot):
    doc = FlowDocument(flow_from_dict(json.loads(json.dumps(INVALID))))
    scene = FlowScene(doc)
    view = QGraphicsView(scene)
    view.resize(600, 400)
    panel = ProblemsPanel(doc, scene)
    panel.resize(600, 300)
    qtbot.addWidget(view)
    qtbot.addWidget(panel)
    view.show()
    panel.show()
    return doc, scene, view, panel


def _row_of(panel: ProblemsPanel, text: str) -> int:
    for i in range(panel.tree.topLevelItemCount()):
        item = panel.tree.topLevelItem(i)
        if text in item.text(1):
            return i
    raise AssertionError(f"no problem mentioning {text!r} in {panel.problems}")


def test_an_invalid_flow_lists_its_problems_and_marks_the_items(setup) -> None:
    doc, scene, view, panel = setup
    listed = [(panel.tree.topLevelItem(i).text(0), panel.tree.topLevelItem(i).text(1))
              for i in range(panel.tree.topLevelItemCount())]
    assert ("node 'fetch'", "config 'url' is required for a http node") in listed
    assert ("node 'lonely'", "not reachable from the start node") in listed
    assert any(w == "edge fetch → end" and "invalid expression" in m for w, m in listed)
    assert panel.summary.text().startswith(f"{panel.error_count} errors")
    assert scene.node_item("fetch").problem[0] == "error"
    assert scene.node_item("lonely").problem[0] == "error"
    assert scene.node_item("start").problem is None
    assert scene.edge_item(doc.flow.edges[1].key).problem[0] == "error"


def test_clicking_a_problem_selects_and_centres_its_node(setup, qtbot) -> None:
    doc, scene, view, panel = setup
    row = _row_of(panel, "not reachable")
    item = panel.tree.topLevelItem(row)
    rect = panel.tree.visualItemRect(item)
    assert not view.viewport().rect().contains(
        view.mapFromScene(scene.node_item("lonely").sceneBoundingRect().center()))
    QTest.mouseClick(panel.tree.viewport(), Qt.MouseButton.LeftButton,
                     Qt.KeyboardModifier.NoModifier, rect.center())
    assert scene.selected_node_ids() == ["lonely"]
    centre = view.mapFromScene(scene.node_item("lonely").sceneBoundingRect().center())
    assert view.viewport().rect().contains(centre)


def test_clicking_an_edge_problem_selects_the_edge(setup) -> None:
    doc, scene, view, panel = setup
    item = panel.tree.topLevelItem(_row_of(panel, "invalid expression"))
    QTest.mouseClick(panel.tree.viewport(), Qt.MouseButton.LeftButton,
                     Qt.KeyboardModifier.NoModifier, panel.tree.visualItemRect(item).center())
    assert scene.selected_edge_keys() == [doc.flow.edges[1].key]
    assert scene.selected_node_ids() == []


def test_fixing_the_flow_clears_list_and_marks_after_the_debounce(setup, qtbot) -> None:
    doc, scene, view, panel = setup
    counts: list[tuple[int, int]] = []
    panel.problemsChanged.connect(lambda e, w: counts.append((e, w)))
    doc.push(SetNodeFieldCommand(doc.flow, "fetch", "config", {"url": "http://x/"}))
    doc.push(SetEdgeFieldCommand(doc.flow, doc.flow.edges[1].key, "when",
                                 "nodes.fetch.output.status == 200"))
    doc.push(ConnectCommand(doc.flow, "fetch", "lonely"))
    assert counts == []  # not yet: the check waits until the edits settle
    assert panel.timer.isActive()
    qtbot.waitUntil(lambda: not panel.pending, timeout=5000)  # checked and shown
    assert counts == [(0, 1)]  # one validation for three quick edits
    assert [p.message for p in panel.problems] == [
        "no path from this node reaches an end node"]
    assert scene.node_item("fetch").problem is None
    assert scene.node_item("lonely").problem[0] == "warning"
    assert scene.edge_item(doc.flow.edges[1].key).problem is None
    assert panel.summary.text() == "0 errors, 1 warning."
    doc.push(ConnectCommand(doc.flow, "lonely", "end"))
    qtbot.waitUntil(lambda: not panel.pending, timeout=5000)
    assert len(counts) == 2
    assert panel.problems == []
    assert scene.node_item("lonely").problem is None
    assert panel.summary.text() == "No problems: the flow can run."


def test_undo_brings_the_problems_back(setup, qtbot) -> None:
    doc, scene, view, panel = setup
    doc.push(SetNodeFieldCommand(doc.flow, "fetch", "config", {"url": "http://x/"}))
    panel.validate_now()
    assert scene.node_item("fetch").problem is None
    doc.undo_stack.undo()
    qtbot.waitUntil(lambda: scene.node_item("fetch").problem is not None, timeout=3000)
    assert "url" in scene.node_item("fetch").problem[1]


def test_an_edit_during_a_background_check_leads_to_the_newer_result(setup, qtbot,
                                                                      monkeypatch) -> None:
    import threading

    import designer.problems as problems_module
    from engine.validate import validate

    doc, scene, view, panel = setup
    started, release = threading.Event(), threading.Event()
    real_check = problems_module.check_snapshot
    calls: list[int] = []

    def slow_first_check(snapshot):  # the first check is held until the second edit is made
        calls.append(len(snapshot["edges"]))
        if len(calls) == 1:
            started.set()
            release.wait(10)
        return real_check(snapshot)

    monkeypatch.setattr(problems_module, "check_snapshot", slow_first_check)
    shown: list[tuple[int, int]] = []
    panel.problemsChanged.connect(lambda e, w: shown.append((e, w)))
    doc.push(SetNodeFieldCommand(doc.flow, "fetch", "config", {"url": "http://x/"}))
    qtbot.waitUntil(started.is_set, timeout=3000)  # the worker is checking that edit now
    doc.push(ConnectCommand(doc.flow, "fetch", "lonely"))
    release.set()
    qtbot.waitUntil(lambda: shown != [] and not panel.pending, timeout=5000)
    assert calls == [2, 3]  # both states were checked …
    assert len(shown) == 1  # … and only the newer result was shown
    expected = [p.message for p in validate(doc.flow)]
    assert [p.message for p in panel.problems] == expected
    assert "not reachable from the start node" not in expected
    assert scene.node_item("lonely").problem[0] == "warning"  # no path to an end node


def test_the_worker_thread_ends_with_the_panel(qtbot) -> None:
    doc = FlowDocument(flow_from_dict(json.loads(json.dumps(INVALID))))
    panel = ProblemsPanel(doc)
    panel.validate_soon()
    qtbot.waitUntil(lambda: not panel.pending, timeout=3000)
    worker = panel._worker
    assert worker.running
    panel.deleteLater()
    qtbot.waitUntil(lambda: not worker.running, timeout=3000)
