"""The run monitor: errors in the inspector, approvals, cancel, other processes, 10,000 runs."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from PySide6.QtCore import Qt

from engine.flowfile import flow_from_dict, load_flow
from tests.app.conftest import EXAMPLES, ROOT
from tests.app.helpers import listed, seed_runs


def _flow(nodes: list[dict], edges: list[tuple[str, str]], name: str = "t") -> dict:
    return {"format": "flowdesk/1", "name": name, "nodes": nodes,
            "edges": [{"from": a, "to": b} for a, b in edges]}


def _start(window, flow_doc: dict, inputs: dict | None = None) -> str:  # noqa: ANN001
    store = window.connection.store
    run_id = store.create_run(flow_from_dict(flow_doc), inputs or {}, created_by="tester")
    window.bridge.execute(run_id)
    return run_id


def _status(window, run_id: str) -> str:  # noqa: ANN001
    return window.connection.store.get_run(run_id)["status"]


def test_a_failing_flow_shows_its_error_in_the_inspector(window, qtbot) -> None:  # noqa: ANN001
    doc = _flow([{"id": "start", "kind": "start"},
                 {"id": "boom", "kind": "python", "config": {
                     "code": "print('about to fail')\nraise ValueError('disk is full')"}},
                 {"id": "end", "kind": "end"}], [("start", "boom"), ("boom", "end")], "fails")
    monitor = listed(qtbot, window.show_monitor())
    run_id = _start(window, doc)
    qtbot.waitUntil(lambda: run_id in monitor.model.row_of, timeout=10000)
    monitor.select_run(run_id)
    qtbot.waitUntil(lambda: (monitor.run or {}).get("status") == "failed", timeout=30000)
    monitor.select_node("boom")
    qtbot.waitUntil(lambda: "disk is full" in monitor.inspector.error.text())
    assert monitor.inspector.status.text().startswith("failed")
    table = monitor.inspector.attempts
    assert table.rowCount() == 1
    assert table.item(0, 1).text() == "failed" and "disk is full" in table.item(0, 4).text()
    assert "about to fail" in monitor.inspector.logs.toPlainText()
    row = monitor.model.row_of[run_id]
    qtbot.waitUntil(lambda: monitor.model.data(monitor.model.index(row, 1)) == "failed")
    assert monitor.retry_action.isEnabled() and not monitor.cancel_action.isEnabled()


def test_an_approval_decided_in_the_monitor_lets_the_run_finish(window, qtbot) -> None:  # noqa: ANN001
    flow = load_flow(EXAMPLES / "approval.flow.json")
    monitor = listed(qtbot, window.show_monitor())
    run_id = _start(window, flow.to_dict())
    qtbot.waitUntil(lambda: run_id in monitor.model.row_of, timeout=10000)
    monitor.select_run(run_id)
    qtbot.waitUntil(lambda: (monitor.run or {}).get("status") == "waiting", timeout=20000)
    # the waiting node is the one shown first
    assert monitor.inspector.node_id == "sign_off"
    assert monitor.approve_action.isEnabled()
    qtbot.keyClicks(monitor.comment, "looks good")
    monitor.approve_action.trigger()
    qtbot.waitUntil(lambda: _status(window, run_id) == "succeeded", timeout=20000)
    run = window.connection.store.get_run(run_id)
    assert run["outputs"] == {"published": True}
    assert run["nodes"]["publish"]["status"] == "succeeded"
    assert run["nodes"]["rejected"]["status"] == "skipped"
    assert run["nodes"]["sign_off"]["output"]["comment"] == "looks good"
    qtbot.waitUntil(lambda: monitor.run["status"] == "succeeded")
    row = monitor.model.row_of[run_id]
    qtbot.waitUntil(lambda: monitor.model.data(monitor.model.index(row, 1)) == "succeeded")


def test_rejecting_takes_the_error_edge(window, qtbot) -> None:  # noqa: ANN001
    flow = load_flow(EXAMPLES / "approval.flow.json")
    monitor = listed(qtbot, window.show_monitor())
    run_id = _start(window, flow.to_dict())
    qtbot.waitUntil(lambda: run_id in monitor.model.row_of, timeout=10000)
    monitor.select_run(run_id)
    qtbot.waitUntil(lambda: (monitor.run or {}).get("status") == "waiting", timeout=20000)
    monitor.reject_action.trigger()
    qtbot.waitUntil(lambda: _status(window, run_id) == "succeeded", timeout=20000)
    assert window.connection.store.get_run(run_id)["outputs"] == {"published": False}


def test_cancel_stops_a_long_run(window, qtbot) -> None:  # noqa: ANN001
    doc = _flow([{"id": "start", "kind": "start"},
                 {"id": "wait", "kind": "delay", "config": {"seconds": 30}},
                 {"id": "end", "kind": "end"}], [("start", "wait"), ("wait", "end")], "long")
    monitor = listed(qtbot, window.show_monitor())
    run_id = _start(window, doc)
    qtbot.waitUntil(lambda: run_id in monitor.model.row_of, timeout=10000)
    monitor.select_run(run_id)
    qtbot.waitUntil(lambda: ((monitor.run or {}).get("nodes") or {}).get("wait", {})
                    .get("status") == "running", timeout=10000)
    assert monitor.cancel_action.isEnabled()
    monitor.cancel_action.trigger()
    # well before the delay's 30 s are up
    qtbot.waitUntil(lambda: _status(window, run_id) == "cancelled", timeout=5000)
    qtbot.waitUntil(lambda: window.bridge.active_count() == 0, timeout=5000)
    run = window.connection.store.get_run(run_id)
    assert run["nodes"]["wait"]["status"] == "cancelled"
    assert run["nodes"]["end"]["status"] == "cancelled"
    qtbot.waitUntil(lambda: monitor.run["status"] == "cancelled")
    # run again with the same inputs starts a new run of the same snapshot
    before = window.connection.store.count_runs()
    monitor.again_action.trigger()
    qtbot.waitUntil(lambda: monitor.run_id != run_id)
    assert window.connection.store.count_runs() == before + 1
    new_id = monitor.run_id
    qtbot.waitUntil(monitor.cancel_action.isEnabled)
    monitor.cancel_action.trigger()
    qtbot.waitUntil(lambda: _status(window, new_id) == "cancelled", timeout=5000)
    qtbot.waitUntil(lambda: window.bridge.active_count() == 0, timeout=5000)


def test_retry_reruns_only_the_failed_nodes(window, qtbot, tmp_path: Path) -> None:  # noqa: ANN001
    marker = tmp_path / "fixed"
    doc = _flow([{"id": "start", "kind": "start"},
                 {"id": "first", "kind": "set", "config": {"vars": {"a": 1}}},
                 {"id": "flaky", "kind": "python", "config": {"code": (
                     f"import os\nif not os.path.exists({str(marker)!r}):\n"
                     "    raise RuntimeError('not yet')\nresult = 'ok'")}},
                 {"id": "end", "kind": "end"}],
                [("start", "first"), ("first", "flaky"), ("flaky", "end")], "flaky")
    monitor = listed(qtbot, window.show_monitor())
    run_id = _start(window, doc)
    qtbot.waitUntil(lambda: run_id in monitor.model.row_of, timeout=10000)
    monitor.select_run(run_id)
    qtbot.waitUntil(lambda: (monitor.run or {}).get("status") == "failed", timeout=30000)
    first_done = window.connection.store.get_run(run_id)["nodes"]["first"]["finished_at"]
    marker.write_text("yes")
    monitor.retry_action.trigger()
    qtbot.waitUntil(lambda: _status(window, run_id) == "succeeded", timeout=30000)
    run = window.connection.store.get_run(run_id)
    assert run["nodes"]["first"]["finished_at"] == first_done
    assert run["nodes"]["flaky"]["output"] == "ok"
    qtbot.waitUntil(lambda: window.bridge.active_count() == 0, timeout=5000)


def test_runs_started_by_the_command_line_appear(window, qtbot, flowdesk_home) -> None:  # noqa: ANN001
    monitor = listed(qtbot, window.show_monitor())
    assert monitor.model.total == 0
    out = subprocess.run([sys.executable, "-m", "engine.cli", "run",
                          str(EXAMPLES / "hello.flow.json"), "--input", "who=cli", "--json"],
                         capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert out.returncode == 0, out.stderr
    run_id = json.loads(out.stdout)["run_id"]
    qtbot.waitUntil(lambda: run_id in monitor.model.row_of, timeout=10000)
    row = monitor.model.row_of[run_id]
    qtbot.waitUntil(lambda: monitor.model.data(monitor.model.index(row, 1)) == "succeeded")
    assert monitor.model.data(monitor.model.index(row, 0)) == "hello"
    monitor.select_run(run_id)
    monitor.select_node("end")
    qtbot.waitUntil(lambda: "greeting=Hello, cli!" in monitor.inspector.output.values_text())


def test_ten_thousand_runs_are_fetched_lazily_and_filtered(window, qtbot) -> None:  # noqa: ANN001
    seed_runs(window.connection.store, 10_000, flows=("alpha", "beta"))
    monitor = listed(qtbot, window.show_monitor())
    model = monitor.model
    assert model.total == 10_000
    assert model.rowCount() == 500  # one page, not 10,000
    # the next page is read ahead in a thread: scrolling to it does not query the store
    qtbot.waitUntil(lambda: model._prefetched is not None)
    direct = model._query
    model._query = lambda *_a: (_ for _ in ()).throw(AssertionError("queried while scrolling"))
    monitor.table.scrollToBottom()
    qtbot.waitUntil(lambda: model.rowCount() == 1000)
    model._query = direct
    monitor.table.scrollToBottom()
    qtbot.waitUntil(lambda: model.rowCount() > 500)
    while model.canFetchMore():
        model.fetchMore()
    assert model.rowCount() == 10_000
    assert len(model.row_of) == 10_000
    monitor.status_filter.setCurrentIndex(monitor.status_filter.findData("failed"))
    assert model.loading and model.rowCount() == 0  # read in a thread, the window goes on
    assert monitor.count_label.text() == "loading…"
    listed(qtbot, monitor)
    assert model.total == 2500
    assert {r["status"] for r in model.rows} == {"failed"}
    monitor.status_filter.setCurrentIndex(0)
    qtbot.keyClicks(monitor.flow_filter.lineEdit(), "beta")
    qtbot.waitUntil(lambda: model.total == 5000)
    assert {r["flow_name"] for r in model.rows} == {"beta"}
    monitor.flow_filter.setEditText("")
    first_id = window.connection.store.list_runs(limit=1, offset=1234)[0]["run_id"]
    qtbot.keyClicks(monitor.search, first_id[:10])
    qtbot.waitUntil(lambda: model.total == 1)
    assert model.run_id_at(0) == first_id
    qtbot.mouseClick(monitor.table.viewport(), Qt.MouseButton.LeftButton,
                     pos=monitor.table.visualRect(model.index(0, 0)).center())
    qtbot.waitUntil(lambda: monitor.run_id == first_id)
    qtbot.waitUntil(lambda: first_id in monitor.run_info.text())


def test_a_filtered_list_takes_in_runs_that_come_to_match(window, qtbot) -> None:  # noqa: ANN001
    monitor = listed(qtbot, window.show_monitor())
    monitor.status_filter.setCurrentIndex(monitor.status_filter.findData("failed"))
    listed(qtbot, monitor)
    ok = _start(window, _flow([{"id": "start", "kind": "start"}, {"id": "end", "kind": "end"}],
                              [("start", "end")], "fine"))
    bad = _start(window, _flow([{"id": "start", "kind": "start"},
                                {"id": "boom", "kind": "python", "config": {
                                    "code": "raise ValueError('no')"}},
                                {"id": "end", "kind": "end"}],
                               [("start", "boom"), ("boom", "end")], "broken"))
    qtbot.waitUntil(lambda: bad in monitor.model.row_of, timeout=20000)
    qtbot.waitUntil(lambda: window.bridge.active_count() == 0, timeout=20000)
    assert ok not in monitor.model.row_of
    assert [r["status"] for r in monitor.model.rows] == ["failed"]


def test_a_refused_action_is_one_sentence(window, qtbot) -> None:  # noqa: ANN001
    monitor = listed(qtbot, window.show_monitor())
    run_id = _start(window, load_flow(EXAMPLES / "hello.flow.json").to_dict())
    qtbot.waitUntil(lambda: _status(window, run_id) == "succeeded", timeout=20000)
    monitor.select_run(run_id)
    monitor.select_node("greet")
    qtbot.waitUntil(lambda: monitor.inspector.node_id == "greet" and monitor.run is not None)
    assert not monitor.approve_action.isEnabled()
    monitor.decide(True)  # as if the button could be pressed
    qtbot.waitUntil(lambda: monitor.last_message.startswith("Cannot approve greet: "))
    assert "is not waiting for an approval" in monitor.last_message
    assert "\n" not in monitor.last_message
    monitor.cancel_run()
    qtbot.waitUntil(lambda: monitor.last_message.startswith("Cannot cancel the run: "))
    assert "has already succeeded" in monitor.last_message
    qtbot.waitUntil(lambda: window.bridge.active_count() == 0)
