"""A server without a worker (``--no-worker``) and a ``flowdesk worker`` process share a store.

The run is started, watched and approved over the HTTP API (a real socket);
only the worker process executes it, before and after the approval.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from worker_testkit import WorkerProcess, executions, wait_until

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "server"))

from server_live import LiveServer  # noqa: E402

pytestmark = [pytest.mark.slow, pytest.mark.postgres]


def test_api_runs_are_executed_by_workers(tmp_path: Path, pg_url: str) -> None:
    log = tmp_path / "effects.log"
    effect = 'echo "$FLOWDESK_RUN_ID $FLOWDESK_NODE_ID $FLOWDESK_ATTEMPT $PPID" >> "$LOG"'
    flow = {
        "format": "flowdesk/1", "name": "approve-me",
        "nodes": [
            {"id": "start", "kind": "start"},
            {"id": "before", "kind": "shell",
             "config": {"command": ["sh", "-c", effect], "env": {"LOG": str(log)}}},
            {"id": "ok", "kind": "approval", "config": {"prompt": "ship it?"}},
            {"id": "after", "kind": "shell",
             "config": {"command": ["sh", "-c", effect], "env": {"LOG": str(log)}}},
            {"id": "end", "kind": "end"}],
        "edges": [{"from": "start", "to": "before"}, {"from": "before", "to": "ok"},
                  {"from": "ok", "to": "after"}, {"from": "after", "to": "end"}]}
    live = LiveServer(pg_url, worker=False).start()
    worker = WorkerProcess(pg_url, tmp_path, host="machine-w")
    try:
        live.add_user("ops", "designer", "operator")
        with live.as_user("ops") as api:
            assert api.post("/flows", json=flow).status_code == 201
            run_id = api.post("/runs", json={"flow": "approve-me"}).json()["run_id"]
            wait_until(lambda: api.get(f"/runs/{run_id}").json()["status"] == "waiting", 60)
            r = api.post(f"/approvals/{run_id}/ok", json={"approved": True})
            assert r.status_code == 200, r.text
            wait_until(lambda: api.get(f"/runs/{run_id}").json()["status"] == "succeeded",
                       60)
            tries = api.get(f"/runs/{run_id}/attempts").json()["attempts"]
        assert worker.terminate() == 0
    finally:
        worker.close()
        live.stop()
    assert {a["worker"] for a in tries} == {worker.owner}
    assert executions(log) == {(run_id, "before"): [(1, worker.pid)],
                               (run_id, "after"): [(1, worker.pid)]}
    assert worker.text().count(f"run {run_id} claimed") == 2  # before and after the wait
