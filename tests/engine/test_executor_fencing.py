"""A stalled owner that lost its run never commits over the new owner's work."""

from __future__ import annotations

import threading
import time

from sqlalchemy import select, update

from engine.executor import execute_run
from engine.runs import RunBusy, RunStore
from engine.store import write_transaction
from engine.store.schema import node_states, runs
from tests.engine.executor_testkit import end, flow, node, start


def test_late_commit_after_a_takeover_is_refused(store: RunStore) -> None:
    f = flow([start(), node("work", "python", config={"code": "import time\ntime.sleep(1.5)\n"
                                                                 "result = 'late'"}), end()],
             ["start>work", "work>end"])
    run_id = store.create_run(f, {})
    outcome: dict[str, object] = {}

    def execute() -> None:
        try:
            outcome["status"] = execute_run(store, run_id)
        except RunBusy as exc:
            outcome["error"] = exc

    thread = threading.Thread(target=execute)
    thread.start()
    deadline = time.time() + 20
    while time.time() < deadline:  # wait until the node is really running
        with store.engine.connect() as conn:
            status = conn.execute(select(node_states.c.status).where(
                node_states.c.run_id == run_id, node_states.c.node_id == "work")).scalar()
        if status == "running":
            break
        time.sleep(0.05)
    # Another worker takes the run over (as if this one had stalled past its lease).
    with write_transaction(store.engine) as conn:
        conn.execute(update(runs).where(runs.c.id == run_id).values(
            owner="elsewhere:1:new-owner", lease_until=time.time() + 600))
    thread.join(30)
    assert not thread.is_alive()
    assert isinstance(outcome.get("error"), RunBusy)
    with store.engine.connect() as conn:
        work = conn.execute(select(node_states.c.status, node_states.c.output).where(
            node_states.c.run_id == run_id, node_states.c.node_id == "work")).one()
        owner = conn.execute(select(runs.c.owner).where(runs.c.id == run_id)).scalar()
    assert work.status == "running" and work.output != "late"  # nothing written late
    assert owner == "elsewhere:1:new-owner"
