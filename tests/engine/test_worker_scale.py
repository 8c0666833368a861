"""Four workers, 200 fan-out/join runs on PostgreSQL, one worker killed with SIGKILL midway.

Each worker has its own host name, as if on its own machine, so the killed
worker's runs are taken over only when its lease (3 s here) expires. Every run
must succeed; a node may have run twice only if the killed worker was running
it (its attempt is recorded ``interrupted`` and owned by that worker), and every
join fires exactly once.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from worker_testkit import (
    WorkerProcess,
    all_attempts,
    executions,
    fanout_flow,
    opened,
    owner_pid,
    run_statuses,
    wait_until,
)

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

RUNS = 200


def test_four_workers_200_runs_one_killed(tmp_path: Path, pg_url: str) -> None:
    log = tmp_path / "effects.log"
    with opened(pg_url) as store:
        flows = [fanout_flow(log, width=3, sleep=0.1), fanout_flow(log, width=4, sleep=0.1)]
        ids = [store.create_run(flows[i % 2], {}, detached=True) for i in range(RUNS)]
        workers = [WorkerProcess(pg_url, tmp_path, host=f"machine-{i}", lease_s=3)
                   for i in range(4)]
        try:
            owners = [w.owner for w in workers]
            victim = workers[1]

            def victim_busy() -> bool:
                done = Counter(run_statuses(store).values())["succeeded"]
                running = [a for rows in all_attempts(store).values() for a in rows
                           if a["status"] == "running" and a["worker"] == owners[1]]
                return done >= RUNS // 4 and len(running) >= 2

            wait_until(victim_busy, 60, every=0.02)
            victim.kill()
            held = {(a["run_id"], a["node_id"]) for rows in all_attempts(store).values()
                    for a in rows if a["status"] == "running" and a["worker"] == owners[1]}
            wait_until(lambda: set(run_statuses(store).values()) == {"succeeded"}, 120, 0.2)
            codes = [w.terminate() for w in workers if w is not victim]
        finally:
            for w in workers:
                w.close()
        assert codes == [0, 0, 0]

        statuses = run_statuses(store)
        assert sorted(statuses) == sorted(ids)
        assert set(statuses.values()) == {"succeeded"}
        for run_id in ids:
            assert store.get_run(run_id)["outputs"] == {"done": 1}

        tries = all_attempts(store)
        ran = executions(log)
        twice = set()
        for i, run_id in enumerate(ids):
            width = 3 if i % 2 == 0 else 4
            for n in (f"n{k}" for k in range(1, width + 1)):
                rows = tries[(run_id, n)]
                lines = ran[(run_id, n)]
                # exactly one success, last; before it only attempts cut off by the kill
                assert [a["status"] for a in rows][-1] == "succeeded"
                assert {a["status"] for a in rows[:-1]} <= {"interrupted"}
                assert all(a["worker"] == owners[1] for a in rows[:-1]), rows
                assert lines, (run_id, n)
                by_attempt = {a["attempt"]: a for a in rows}
                for attempt, pid in lines:
                    # every execution is a recorded attempt, run by the worker it names
                    assert owner_pid(by_attempt[attempt]["worker"]) == pid
                if len(lines) > 1:
                    twice.add((run_id, n))
                    extra = [by_attempt[a] for a, _ in lines if a != rows[-1]["attempt"]]
                    assert all(a["status"] == "interrupted" and a["worker"] == owners[1]
                               for a in extra)
            # the join and the end fire exactly once: no lost or doubled join
            for n in ("start", "join", "end"):
                assert [a["status"] for a in tries[(run_id, n)]] == ["succeeded"], (run_id, n)
        assert held and twice          # the kill did cut nodes off mid-way …
        assert twice <= held           # … and only nodes the killed worker held ran twice
        interrupted = {k for k, rows in tries.items()
                       for a in rows if a["status"] == "interrupted"}
        assert interrupted == held     # and each of those got a new attempt elsewhere
        survivors = {o for rows in tries.values() for a in rows for o in [a["worker"]]}
        assert survivors <= set(owners) and len(survivors) == 4
