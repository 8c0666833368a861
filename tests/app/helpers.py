"""Helpers of the app's tests: many runs written straight into a store."""

from __future__ import annotations

import time
import uuid
from typing import Any

from engine.runs import RunStore
from engine.store.schema import runs

HELLO = {"format": "flowdesk/1", "name": "seeded", "nodes": [
    {"id": "start", "kind": "start"}, {"id": "end", "kind": "end"}],
    "edges": [{"from": "start", "to": "end"}]}
STATUSES = ("succeeded", "failed", "cancelled", "succeeded")


def seed_runs(store: RunStore, count: int, *, flows: tuple[str, ...] = ("alpha", "beta"),
              who: str = "seed") -> list[str]:
    """``count`` finished runs, newest last, cycling through flow names and statuses."""
    now = time.time() - count
    rows = []
    for i in range(count):
        t = now + i
        rows.append({"id": uuid.uuid4().hex, "flow_name": flows[i % len(flows)],
                     "definition": dict(HELLO, name=flows[i % len(flows)]), "inputs": {},
                     "status": STATUSES[i % len(STATUSES)], "created_at": t,
                     "started_at": t, "finished_at": t + 0.5, "updated_at": t + 0.5,
                     "created_by": who, "depth": 0, "detached": False,
                     "cancel_requested": False})
    with store.engine.begin() as conn:
        for start in range(0, len(rows), 1000):
            conn.execute(runs.insert(), rows[start:start + 1000])
    return [r["id"] for r in rows]


def switch(window: Any, qtbot: Any, name: str) -> bool:
    """Switch the window to profile ``name`` (opened in a thread) and wait for the outcome."""
    with qtbot.waitSignal(window.profileSwitched, timeout=30000) as blocker:
        window.switch_profile(name)
    if window.monitor is not None:
        listed(qtbot, window.monitor)
    return bool(blocker.args[0])


def listed(qtbot: Any, monitor: Any) -> Any:
    """Wait until the monitor's run list is read (it is read in a thread); returns it."""
    qtbot.waitUntil(lambda: not monitor.model.loading, timeout=20000)
    return monitor


SLOW = {"format": "flowdesk/1", "name": "slow", "nodes": [
    {"id": "start", "kind": "start"},
    {"id": "nap", "kind": "delay", "config": {"seconds": 30}},
    {"id": "end", "kind": "end"}],
    "edges": [{"from": "start", "to": "nap"}, {"from": "nap", "to": "end"}]}


def start_slow_run(window: Any, qtbot: Any) -> str:
    """Start a 30 s delay run in the window's engine and wait until it is running."""
    from engine.flowfile import flow_from_dict

    store = window.connection.store
    run_id = store.create_run(flow_from_dict(SLOW), {})
    window.bridge.execute(run_id)
    qtbot.waitUntil(lambda: store.get_run(run_id)["nodes"]["nap"]["status"] == "running",
                    timeout=10000)
    return run_id
