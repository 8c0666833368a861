"""Open an example, press F5, watch the run in the editor, the run panel and the monitor."""

from __future__ import annotations

import json

from PySide6.QtCore import Qt

from tests.app.conftest import EXAMPLES


def _accept_inputs(window, qtbot) -> None:  # noqa: ANN001
    qtbot.waitUntil(lambda: window.runner.inputs_dialog is not None
                    and window.runner.inputs_dialog.isVisible())
    dialog = window.runner.inputs_dialog
    qtbot.mouseClick(dialog.buttons.button(dialog.buttons.StandardButton.Ok),
                     Qt.MouseButton.LeftButton)


def test_f5_runs_the_example_and_the_monitor_shows_it(window, qtbot) -> None:  # noqa: ANN001
    assert window.open_file(str(EXAMPLES / "branch-and-join.flow.json"))
    expected = json.loads((EXAMPLES / "expected.json").read_text())["branch-and-join.flow.json"]
    qtbot.keyClick(window, Qt.Key.Key_F5)
    dialog = window.runner.inputs_dialog
    qtbot.waitUntil(lambda: dialog is not None and dialog.isVisible())
    spin = dialog.widgets["n"]
    spin.setValue(expected["inputs"]["n"])
    _accept_inputs(window, qtbot)
    qtbot.waitUntil(lambda: window.runner.current_run is not None)
    run_id = window.runner.current_run
    store = window.connection.store
    qtbot.waitUntil(lambda: window.run_panel.run_status == "succeeded", timeout=20000)
    run = store.get_run(run_id)
    assert run["status"] == "succeeded"
    assert {n: s["status"] for n, s in run["nodes"].items()} == expected["nodes"]
    assert run["outputs"] == expected["outputs"]
    assert run["inputs"]["n"] == expected["inputs"]["n"]
    # the canvas shows every node's state, as the store has it
    qtbot.waitUntil(lambda: all(
        (window.editor.scene.node_item(n).run_state or (None,))[0] == s["status"]
        for n, s in run["nodes"].items() if s["status"] != "pending"))
    qtbot.waitUntil(lambda: window.engine_label.text() == "engine: idle")
    # Ctrl+M opens the monitor; the run is listed and its nodes match the store
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    qtbot.keyClick(window, Qt.Key.Key_M, Qt.KeyboardModifier.ControlModifier)
    monitor = window.monitor
    assert monitor is not None and monitor.isVisible()
    qtbot.waitUntil(lambda: run_id in monitor.model.row_of)
    row = monitor.model.row_of[run_id]
    assert monitor.model.data(monitor.model.index(row, 1)) == "succeeded"
    assert monitor.model.data(monitor.model.index(row, 0)) == "branch-and-join"
    monitor.table.selectRow(row)
    qtbot.waitUntil(lambda: monitor.run is not None and monitor.run["run_id"] == run_id)
    graph = monitor.graph
    assert graph is not None and graph.view.read_only
    for node_id, state in run["nodes"].items():
        item = graph.scene.node_item(node_id)
        shown = item.run_state[0] if item.run_state else "pending"
        assert shown == state["status"], node_id
    monitor.select_node("classify")
    qtbot.waitUntil(lambda: monitor.inspector.status.text().startswith("succeeded, 1 attempt"))
    bars = {(n, a) for n, a, _rect, _s in monitor.timeline.bars()}
    assert ("classify", 1) in bars and ("medium", 1) not in bars


def test_invalid_flow_is_refused_with_its_problems(window, qtbot, tmp_path) -> None:  # noqa: ANN001
    bad = tmp_path / "bad.flow.json"
    bad.write_text(json.dumps({"format": "flowdesk/1", "name": "bad", "nodes": [
        {"id": "start", "kind": "start"}, {"id": "lost", "kind": "set",
                                           "config": {"vars": {}}}], "edges": []}))
    assert window.open_file(str(bad))
    window.run_action.trigger()
    box = window.runner.message_box
    assert box is not None and box.isVisible()
    assert "the flow has no end node" in box.text()
    assert "node 'lost': not reachable from the start node" in box.text()
    assert window.runner.current_run is None
    assert window.connection.store.count_runs() == 0
    assert "Run refused" in window.last_message
    assert window.problems_dock.isVisible()
    box.close()


def test_cancelling_the_inputs_dialog_starts_nothing(window, qtbot) -> None:  # noqa: ANN001
    assert window.open_file(str(EXAMPLES / "hello.flow.json"))
    window.run_action.trigger()
    dialog = window.runner.inputs_dialog
    qtbot.waitUntil(lambda: dialog is not None and dialog.isVisible())
    assert dialog.widgets["who"].text() == "world"
    qtbot.mouseClick(dialog.buttons.button(dialog.buttons.StandardButton.Cancel),
                     Qt.MouseButton.LeftButton)
    assert window.runner.inputs_dialog is None
    assert window.runner.current_run is None
    assert window.connection.store.count_runs() == 0
    # the next time, the values given last are offered again
    window.run_action.trigger()
    dialog = window.runner.inputs_dialog
    dialog.widgets["who"].setText("Grace")
    _accept_inputs(window, qtbot)
    qtbot.waitUntil(lambda: window.run_panel.run_status == "succeeded", timeout=20000)
    window.run_action.trigger()
    qtbot.waitUntil(lambda: window.runner.inputs_dialog is not None)
    assert window.runner.inputs_dialog.widgets["who"].text() == "Grace"
    window.runner.inputs_dialog.reject()
    qtbot.waitUntil(lambda: window.bridge.active_count() == 0)
