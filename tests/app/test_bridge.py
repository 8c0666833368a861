"""The bridge: events arrive in the GUI thread, in batches, in order; threads stop."""

from __future__ import annotations

import threading

import pytest
from PySide6.QtCore import QThread
from PySide6.QtWidgets import QApplication

from app.bridge import EngineBridge, live_threads
from engine.flowfile import load_flow
from engine.runs import RunStore
from tests.app.conftest import EXAMPLES


def test_events_arrive_batched_in_the_gui_thread(qtbot, sqlite_url: str) -> None:  # noqa: ANN001
    store = RunStore.open(sqlite_url)
    bridge = EngineBridge(store)
    batches: list[list[dict]] = []
    threads: set[bool] = set()

    def seen(batch: list[dict]) -> None:
        threads.add(QThread.currentThread() is QApplication.instance().thread())
        batches.append(batch)

    bridge.events.connect(seen)
    bridge.start()
    try:
        run_id = store.create_run(load_flow(EXAMPLES / "branch-and-join.flow.json"), {"n": 3})
        with qtbot.waitSignal(bridge.runFinished, timeout=20000) as finished:
            bridge.execute(run_id)
        assert finished.args == [run_id, "succeeded"]
        assert len(live_threads()) == 1  # only the follower is left
        qtbot.waitUntil(lambda: any(ev["type"] == "run_status" and ev["data"]["status"]
                                    == "succeeded" for b in batches for ev in b))
        assert threads == {True}
        ids = [ev["id"] for b in batches for ev in b]
        assert ids == sorted(ids) and len(ids) == len(set(ids))
        assert ids == [ev["id"] for ev in store.events_after(0)]
    finally:
        bridge.stop()
    # events that are already in the log come as one batch, in one signal
    again = EngineBridge(store)
    later: list[list[dict]] = []
    again.events.connect(later.append)
    again.start(after_id=0)
    try:
        qtbot.waitUntil(lambda: bool(later))
        assert [ev["id"] for ev in later[0]] == ids
    finally:
        again.stop()
        store.close()
    assert live_threads() == []


def test_pause_stops_executor_threads_and_leaves_the_run_resumable(qtbot, sqlite_url: str) -> None:  # noqa: ANN001
    from engine.flowfile import flow_from_dict

    store = RunStore.open(sqlite_url)
    bridge = EngineBridge(store)
    long = flow_from_dict({"format": "flowdesk/1", "name": "long", "nodes": [
        {"id": "start", "kind": "start"}, {"id": "wait", "kind": "delay",
                                           "config": {"seconds": 30}},
        {"id": "end", "kind": "end"}], "edges": [{"from": "start", "to": "wait"},
                                                 {"from": "wait", "to": "end"}]})
    run_id = store.create_run(long, {})
    bridge.execute(run_id)
    qtbot.waitUntil(lambda: store.get_run(run_id)["nodes"]["wait"]["status"] == "running",
                    timeout=10000)
    assert bridge.active_runs() == [run_id]
    assert bridge.pause_runs() == [run_id]
    assert not [t for t in threading.enumerate() if t.name.startswith("flowdesk-run")]
    row = store.run_row(run_id)
    assert row["status"] == "running" and row["owner"] is None
    # another bridge (as after a restart) takes it over and can cancel it
    assert bridge.resume_orphans() == [run_id]
    store.request_cancel(run_id)
    qtbot.waitUntil(lambda: bridge.active_count() == 0, timeout=10000)
    assert store.get_run(run_id)["status"] == "cancelled"
    bridge.stop()
    store.close()


@pytest.mark.postgres
def test_an_unreachable_store_is_said_and_its_return_too(qtbot, postgres_server) -> None:  # noqa: ANN001
    import psycopg

    from app.bridge import EngineBridge

    url = postgres_server.create_database()
    name = url.rsplit("/", 1)[1]
    store = RunStore.open(url)
    bridge = EngineBridge(store)
    problems: list[str] = []
    bridge.storeProblem.connect(problems.append)
    bridge.start()
    admin = f"host=127.0.0.1 port={postgres_server.port} user=postgres dbname=postgres"
    try:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        qtbot.waitUntil(lambda: len(problems) == 1, timeout=10000)
        # the follower sees either its pooled connection killed by the DROP or, when it
        # reconnects first, the missing database: both are one sentence about the store
        assert problems[0].startswith("the store failed: ")
        assert name in problems[0] or "terminating connection" in problems[0]
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        RunStore.open(url).close()  # migrate the new, empty database
        qtbot.waitUntil(lambda: len(problems) == 2, timeout=10000)
        assert problems[1] == ""
    finally:
        bridge.stop()
        store.close()
