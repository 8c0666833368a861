"""``flowdesk worker`` and ``run --detach``: claiming, handing over, timers, SQLite.

Workers are real processes (``python -m engine.cli worker``). Tests that need
the cross-machine rules give workers their own host names
(``FLOWDESK_WORKER_HOST``), so only the lease tells whether a worker lives.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from executor_testkit import delay, end, flow, node, start
from sqlalchemy import select, update
from worker_testkit import (
    WorkerProcess,
    all_attempts,
    effect,
    executions,
    fanout_flow,
    owner_pid,
    run_statuses,
    wait_until,
)

from engine.cli import main
from engine.flowfile import save_flow
from engine.runs import RunStore, new_owner
from engine.store.schema import node_states, runs
from engine.worker import claim_runs

pytestmark = pytest.mark.slow


@pytest.fixture
def stores() -> Iterator[Callable[[str], RunStore]]:
    """Opens stores for a test and closes them afterwards, also when it fails."""
    opened: list[RunStore] = []

    def open_(url: str) -> RunStore:
        opened.append(RunStore.open(url))
        return opened[-1]

    yield open_
    for s in opened:
        s.close()


def _enqueue(store: RunStore, f, count: int) -> list[str]:
    return [store.create_run(f, {}, detached=True) for _ in range(count)]


# -- run --detach ---------------------------------------------------------------------------

def test_detach_does_no_work_and_prints_the_id(tmp_path: Path, stores: Callable[[str], RunStore], sqlite_url: str,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    log = tmp_path / "effects.log"
    path = tmp_path / "fan.flow.json"
    save_flow(fanout_flow(log), path)
    assert main(["run", str(path), "--detach", "--store", sqlite_url]) == 0
    plain = capsys.readouterr().out.strip()
    assert re.fullmatch(r"[0-9a-f]{32}", plain)
    assert main(["run", str(path), "--detach", "--json", "--store", sqlite_url]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert list(doc) == ["run_id"]
    time.sleep(0.5)  # nothing may happen in the background either
    store = stores(sqlite_url)
    for run_id in (plain, doc["run_id"]):
        run = store.get_run(run_id)
        assert run["status"] == "pending" and run["detached"] and run["owner"] is None
        assert run["started_at"] is None
        assert {n["status"] for n in run["nodes"].values()} == {"pending"}
        assert store.attempts(run_id) == []
    assert not log.exists()


# -- which runs a worker may claim ----------------------------------------------------------

def test_claim_rules(tmp_path: Path, stores: Callable[[str], RunStore], store_url: str) -> None:
    """Detached and abandoned runs are claimed; a live `flowdesk run`'s runs are not."""
    store = stores(store_url)
    f = fanout_flow(tmp_path / "log")
    detached = store.create_run(f, {}, detached=True)
    just_created = store.create_run(f, {})              # `flowdesk run` has not claimed it yet
    live_here = store.create_run(f, {})                 # a live process on this host owns it
    live_far = store.create_run(f, {})                  # another machine, lease still valid
    expired_far = store.create_run(f, {})               # another machine, lease expired
    released = store.create_run(f, {})                  # started, then let go (paused)
    done = store.create_run(f, {}, detached=True)       # already finished
    now = time.time()
    with store.engine.begin() as conn:
        def set_(run_id: str, **values: object) -> None:
            conn.execute(update(runs).where(runs.c.id == run_id).values(**values))

        set_(live_here, owner=new_owner(), lease_until=now - 5, status="running",
             started_at=now)                            # lease lapsed, but its pid lives
        set_(live_far, owner="far-away:123:abc", lease_until=now + 20, status="running",
             started_at=now)
        set_(expired_far, owner="far-away:456:def", lease_until=now - 1, status="running",
             started_at=now)
        set_(released, status="running", started_at=now)
        set_(done, status="succeeded", started_at=now, finished_at=now)
    claimed = claim_runs(store, "worker-host:1:aaaa", 10, lease_s=30)
    assert set(claimed) == {detached, expired_far, released}
    assert claimed[0] == detached                       # oldest first
    row = store.run_row(expired_far)
    assert row["owner"] == "worker-host:1:aaaa" and row["lease_until"] > time.time() + 25
    # claimed runs are now owned by a live lease: nobody else gets them
    assert claim_runs(store, "other-host:2:bbbb", 10, lease_s=30) == []
    # a worker takes back its own runs that none of its threads drives any more
    assert claim_runs(store, "worker-host:1:aaaa", 10, lease_s=30,
                      skip=frozenset(claimed[:1])) == claimed[1:]
    assert store.run_row(just_created)["owner"] is None


def test_a_waiting_run_is_claimed_only_when_it_can_go_on(
        tmp_path: Path, stores: Callable[[str], RunStore], store_url: str) -> None:
    store = stores(store_url)
    f = flow([start(), node("ok", "approval", config={"prompt": "go?"}),
              effect("side", tmp_path / "log", 0), end()],
             ["start>ok", "start>side", "ok>end", "side>end"])
    run_id = store.create_run(f, {}, detached=True)
    now = time.time()
    with store.engine.begin() as conn:
        conn.execute(update(runs).where(runs.c.id == run_id).values(status="waiting",
                                                                  started_at=now))
        conn.execute(update(node_states).where(node_states.c.run_id == run_id,
                                               node_states.c.node_id == "ok").values(
            status="waiting", output={"waiting_for": "approval", "prompt": "go?"}))
        # a node cancel that was carried out long ago: nothing left to do about it
        conn.execute(update(node_states).where(node_states.c.run_id == run_id,
                                               node_states.c.node_id == "side").values(
            status="cancelled", cancel_requested=True))
    assert claim_runs(store, "w:1:a", 5, lease_s=30) == []
    store.decide_approval(run_id, "ok", True, "alice")
    assert claim_runs(store, "w:1:a", 5, lease_s=30) == [run_id]


def test_concurrent_claims_never_hand_out_a_run_twice(tmp_path: Path, stores: Callable[[str], RunStore], pg_url: str) -> None:
    store = stores(pg_url)
    f = fanout_flow(tmp_path / "log")
    ids = _enqueue(store, f, 60)
    got: dict[str, list[str]] = {}
    barrier = threading.Barrier(6)

    def claimer(name: str) -> None:
        barrier.wait()
        mine: list[str] = []
        while batch := claim_runs(store, f"host-{name}:1:x", 2, lease_s=30,
                                  skip=frozenset(mine)):
            mine += batch
        got[name] = mine

    threads = [threading.Thread(target=claimer, args=(str(i),)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    everyone = [r for mine in got.values() for r in mine]
    assert sorted(everyone) == sorted(ids)             # each run once, none lost
    assert sum(1 for mine in got.values() if mine) >= 2


# -- workers at work ------------------------------------------------------------------------

def test_a_worker_picks_up_detached_runs(tmp_path: Path, stores: Callable[[str], RunStore], store_url: str,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    log = tmp_path / "effects.log"
    path = tmp_path / "fan.flow.json"
    save_flow(fanout_flow(log, width=3, sleep=0.05), path)
    ids = []
    for _ in range(5):
        assert main(["run", str(path), "--detach", "--json", "--store", store_url]) == 0
        ids.append(json.loads(capsys.readouterr().out)["run_id"])
    worker = WorkerProcess(store_url, tmp_path, once=True, concurrency=2)
    try:
        assert worker.wait(60) == 0, worker.text()
    finally:
        worker.close()
    assert "5 runs done (5 succeeded)" in worker.text()
    store = stores(store_url)
    for run_id in ids:
        doc = store.get_run(run_id)
        assert doc["status"] == "succeeded" and doc["outputs"] == {"done": 1}
        assert doc["owner"] is None
    ran = executions(log)
    assert sorted(ran) == sorted((r, n) for r in ids for n in ("n1", "n2", "n3"))
    assert all(v == [(1, worker.pid)] for v in ran.values())


def test_two_workers_never_run_the_same_run_at_once(tmp_path: Path, stores: Callable[[str], RunStore], pg_url: str) -> None:
    log = tmp_path / "effects.log"
    store = stores(pg_url)
    workers = [WorkerProcess(pg_url, tmp_path, host=f"machine-{i}", concurrency=2)
               for i in range(3)]
    try:
        owners = {w.owner for w in workers}
        ids = _enqueue(store, fanout_flow(log, width=3, sleep=0.1), 30)
        wait_until(lambda: set(run_statuses(store).values()) == {"succeeded"}, 90)
    finally:
        codes = [w.terminate() for w in workers]
        for w in workers:
            w.close()
    assert codes == [0, 0, 0]
    tries = all_attempts(store)
    by_run: dict[str, set[str]] = {}
    for (run_id, _), rows in tries.items():
        assert [r["status"] for r in rows] == ["succeeded"]
        by_run.setdefault(run_id, set()).update(r["worker"] for r in rows)
    assert all(len(w) == 1 for w in by_run.values())    # one owner drove each whole run
    assert set().union(*by_run.values()) <= owners
    assert len(set().union(*by_run.values())) >= 2      # and the work was shared
    ran = executions(log)
    assert len(ran) == 30 * 3
    for (run_id, node_id), lines in ran.items():
        assert lines == [(1, owner_pid(tries[(run_id, node_id)][0]["worker"]))]
    assert sorted(by_run) == sorted(ids)


def test_graceful_stop_hands_runs_over_at_once(tmp_path: Path, stores: Callable[[str], RunStore], store_url: str) -> None:
    """SIGTERM pauses the worker's runs and clears their leases: the next worker needs no
    wait, although the stopped worker's lease (60 s) would not have expired yet."""
    log = tmp_path / "effects.log"
    gate = tmp_path / "gate"   # the effect nodes wait for this file to exist
    f = fanout_flow(log, width=2, sleep=0, gate=gate)
    store = stores(store_url)
    ids = _enqueue(store, f, 2)
    first = WorkerProcess(store_url, tmp_path, host="machine-a", lease_s=60, concurrency=2)
    try:
        wait_until(lambda: len(executions(log)) == 4, 60)
        assert first.terminate(30) == 0, first.text()
    finally:
        first.close()
    assert "SIGTERM: pausing runs and handing them back" in first.text()
    for run_id in ids:
        row = store.run_row(run_id)
        assert row["status"] == "running" and row["owner"] is None
        assert row["lease_until"] is None
        assert {a["status"] for a in store.attempts(run_id) if a["node_id"] in ("n1", "n2")
                } == {"interrupted"}
    gate.touch()
    second = WorkerProcess(store_url, tmp_path, host="machine-b", lease_s=60, once=True)
    try:
        assert second.wait(60) == 0, second.text()
    finally:
        second.close()
    assert "2 runs done (2 succeeded)" in second.text()
    ran = executions(log)
    for run_id in ids:
        assert store.get_run(run_id)["status"] == "succeeded"
        for n in ("n1", "n2"):
            assert ran[(run_id, n)] == [(1, first.pid), (2, second.pid)]
            assert [a["status"] for a in store.attempts(run_id, n)] == ["interrupted",
                                                                       "succeeded"]


def test_a_killed_worker_on_this_machine_is_replaced_at_once(
        tmp_path: Path, stores: Callable[[str], RunStore], sqlite_url: str) -> None:
    """On one machine a dead process id is certain: no need to wait for its 60 s lease."""
    log = tmp_path / "effects.log"
    gate = tmp_path / "gate"
    store = stores(sqlite_url)
    ids = _enqueue(store, fanout_flow(log, width=2, sleep=0, gate=gate), 2)
    first = WorkerProcess(sqlite_url, tmp_path, lease_s=60, concurrency=2)
    try:
        wait_until(lambda: len(executions(log)) == 4, 60)
        first.kill()
    finally:
        first.close()
    assert all(store.run_row(r)["lease_until"] > time.time() + 30 for r in ids)
    gate.touch()
    second = WorkerProcess(sqlite_url, tmp_path, lease_s=60, once=True)
    try:
        assert second.wait(60) == 0, second.text()
    finally:
        second.close()
    assert "2 runs done (2 succeeded)" in second.text()
    for run_id in ids:
        for n in ("n1", "n2"):
            assert [(a["status"], a["worker"]) for a in store.attempts(run_id, n)] == [
                ("interrupted", first.owner), ("succeeded", second.owner)]


def test_the_heartbeat_renews_the_lease(tmp_path: Path, stores: Callable[[str], RunStore],
                                        sqlite_url: str) -> None:
    log = tmp_path / "effects.log"
    gate = tmp_path / "gate"
    store = stores(sqlite_url)
    (run_id,) = _enqueue(store, fanout_flow(log, width=1, sleep=0, gate=gate), 1)
    worker = WorkerProcess(sqlite_url, tmp_path, lease_s=3, extra=("--heartbeat-s", "0.5"))
    try:
        wait_until(lambda: len(executions(log)) == 1, 60)
        seen = [store.run_row(run_id)["lease_until"]]
        for _ in range(3):  # renewed again and again, always into the future
            wait_until(lambda: store.run_row(run_id)["lease_until"] > seen[-1], 10)
            seen.append(store.run_row(run_id)["lease_until"])
        gate.touch()
        wait_until(lambda: store.get_run(run_id)["status"] == "succeeded", 30)
        assert worker.terminate() == 0
    finally:
        worker.close()
    assert "lease 3 s, heartbeat 0.5 s" in worker.text()
    assert store.run_row(run_id)["lease_until"] is None   # let go when done


def test_a_run_waiting_on_a_far_timer_gives_its_slot_away(
        tmp_path: Path, stores: Callable[[str], RunStore], store_url: str,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """One slot; run A waits on a 6 s delay, so it is parked and B runs meanwhile; A is
    claimed again before its timer is due, which fires once."""
    monkeypatch.setenv("FLOWDESK_PARK_AFTER_S", "4")
    log = tmp_path / "effects.log"
    store = stores(store_url)
    (a,) = _enqueue(store, flow([start(), delay("nap", 6), effect("after", log, 0), end()],
                                ["start>nap", "nap>after", "after>end"], name="a"), 1)
    worker = WorkerProcess(store_url, tmp_path, concurrency=1)
    try:
        wait_until(lambda: f"run {a} parked until its timer is due" in worker.text(), 30)
        row = store.run_row(a)
        assert row["status"] == "running" and row["owner"] is None  # holds nothing now
        (b,) = _enqueue(store, fanout_flow(log, width=2, sleep=0), 1)
        wait_until(lambda: store.get_run(b)["status"] == "succeeded", 30)
        assert store.get_run(a)["nodes"]["nap"]["status"] == "running"  # B went first
        wait_until(lambda: store.get_run(a)["status"] == "succeeded", 30)
        assert worker.terminate() == 0
    finally:
        worker.close()
    assert worker.text().count(f"run {a} claimed") == 2
    assert [x["status"] for x in store.attempts(a, "nap")] == ["succeeded"]
    assert executions(log)[(a, "after")] == [(1, worker.pid)]
    doc = store.get_run(a)
    from datetime import datetime

    nap = doc["nodes"]["nap"]
    waited = (datetime.fromisoformat(nap["finished_at"])
              - datetime.fromisoformat(nap["started_at"])).total_seconds()
    assert waited >= 6  # the timer kept its due time: not cut short by the parking


def test_a_delay_fires_once_across_a_worker_kill(tmp_path: Path, stores: Callable[[str], RunStore], pg_url: str) -> None:
    log = tmp_path / "effects.log"
    f = flow([start(), delay("nap", 4), effect("after", log, 0), end()],
             ["start>nap", "nap>after", "after>end"])
    store = stores(pg_url)
    (run_id,) = _enqueue(store, f, 1)
    first = WorkerProcess(pg_url, tmp_path, host="machine-a", lease_s=2)
    second = None
    try:
        wait_until(lambda: store.get_run(run_id)["nodes"]["nap"]["status"] == "running", 30)
        with store.engine.connect() as conn:
            due = conn.execute(select(node_states.c.ready_at).where(
                node_states.c.run_id == run_id, node_states.c.node_id == "nap")).scalar()
        first.kill()
        second = WorkerProcess(pg_url, tmp_path, host="machine-b", lease_s=2)
        wait_until(lambda: store.get_run(run_id)["status"] == "succeeded", 60)
        assert second.terminate() == 0
    finally:
        first.close()
        if second is not None:
            second.close()
    nap = store.attempts(run_id, "nap")
    assert [a["status"] for a in nap] == ["succeeded"]  # one timer, fired once
    assert nap[0]["worker"] == first.owner                # armed by the first worker …
    doc = store.get_run(run_id)
    from datetime import datetime

    assert datetime.fromisoformat(doc["nodes"]["nap"]["finished_at"]).timestamp() >= due
    assert executions(log)[(run_id, "after")] == [(1, second.pid)]  # … fired by the second
    assert [a["worker"] for a in store.attempts(run_id, "after")] == [second.owner]


def test_a_decided_approval_is_picked_up(tmp_path: Path, stores: Callable[[str], RunStore], sqlite_url: str) -> None:
    """A detached run that waits is left alone until someone decides (the server's
    --no-worker mode writes the decision and nothing else)."""
    log = tmp_path / "effects.log"
    f = flow([start(), node("ok", "approval", config={"prompt": "go?"}),
              effect("after", log, 0), end()], ["start>ok", "ok>after", "after>end"])
    store = stores(sqlite_url)
    (run_id,) = _enqueue(store, f, 1)
    worker = WorkerProcess(sqlite_url, tmp_path, once=True)
    assert worker.wait(60) == 0, worker.text()
    assert store.get_run(run_id)["status"] == "waiting"
    again = WorkerProcess(sqlite_url, tmp_path, once=True)
    assert again.wait(60) == 0
    assert "0 runs done" in again.text()                 # nothing decided: nothing to do
    store.decide_approval(run_id, "ok", True, "alice")
    last = WorkerProcess(sqlite_url, tmp_path, once=True)
    assert last.wait(60) == 0, last.text()
    assert store.get_run(run_id)["status"] == "succeeded"
    assert executions(log)[(run_id, "after")] == [(1, last.pid)]


def test_a_parent_waiting_on_a_child_approval_is_picked_up(
        tmp_path: Path, stores: Callable[[str], RunStore], sqlite_url: str) -> None:
    log = tmp_path / "effects.log"
    child = flow([start(), node("ok", "approval", config={"prompt": "go?"}), end()],
                 ["start>ok", "ok>end"], name="child")
    save_flow(child, tmp_path / "child.flow.json")
    parent = flow([start(), node("sub", "subflow", config={"flow": "child.flow.json"}),
                   effect("after", log, 0), end()], ["start>sub", "sub>after", "after>end"],
                  name="parent")
    save_flow(parent, tmp_path / "parent.flow.json")
    store = stores(sqlite_url)
    run_id = store.create_run(parent, {}, source=str(tmp_path / "parent.flow.json"),
                              detached=True)
    worker = WorkerProcess(sqlite_url, tmp_path, once=True)
    assert worker.wait(60) == 0, worker.text()
    assert store.get_run(run_id)["status"] == "waiting"
    (child_id,) = [r["run_id"] for r in store.list_runs() if r["run_id"] != run_id]
    store.decide_approval(child_id, "ok", True, "alice")
    last = WorkerProcess(sqlite_url, tmp_path, once=True)
    assert last.wait(60) == 0, last.text()
    assert store.get_run(child_id)["status"] == "succeeded"
    assert store.get_run(run_id)["status"] == "succeeded"
    assert executions(log)[(run_id, "after")] == [(1, last.pid)]
    assert f"run {child_id} claimed" not in last.text()  # the parent drives its child


def test_two_workers_share_a_sqlite_store(tmp_path: Path, stores: Callable[[str], RunStore], sqlite_url: str) -> None:
    log = tmp_path / "effects.log"
    store = stores(sqlite_url)
    ids = _enqueue(store, fanout_flow(log, width=3, sleep=0.05), 20)
    workers = [WorkerProcess(sqlite_url, tmp_path, concurrency=3) for _ in range(2)]
    try:
        wait_until(lambda: set(run_statuses(store).values()) == {"succeeded"}, 90)
        assert [w.terminate() for w in workers] == [0, 0]
    finally:
        for w in workers:
            w.close()
    ran = executions(log)
    assert sorted(ran) == sorted((r, n) for r in ids for n in ("n1", "n2", "n3"))
    assert all(len(v) == 1 for v in ran.values())
    assert all(len(rows) == 1 for rows in all_attempts(store).values())


def test_a_store_outage_loses_nothing(tmp_path: Path,
                                      stores: Callable[[str], RunStore]) -> None:
    """PostgreSQL stops under a running worker: it says so in one line, keeps trying,
    and finishes the run it was executing once the database is back."""
    from tests.conftest import PostgresServer

    server = PostgresServer()
    try:
        server.start()
    except Exception as exc:  # noqa: BLE001
        pytest.skip(f"no throwaway PostgreSQL here: {exc}")
    worker = None
    try:
        url = server.create_database()
        log = tmp_path / "effects.log"
        gate = tmp_path / "gate"
        store = stores(url)
        f = flow([start(), effect("slow", log, 0, gate), end()], ["start>slow", "slow>end"])
        (run_id,) = _enqueue(store, f, 1)
        worker = WorkerProcess(url, tmp_path, lease_s=3)
        wait_until(lambda: len(executions(log)) == 1, 60)
        data = str(server.dir / "data")
        pg_ctl = str(server.bindir / "pg_ctl")
        server._run(pg_ctl, "-D", data, "-m", "fast", "stop")
        wait_until(lambda: "cannot claim runs: the store failed:" in worker.text(), 30)
        server._run(pg_ctl, "-D", data, "-l", str(server.dir / "log"), "-w", "-o",
                    f"-p {server.port} -k {server.dir} -c listen_addresses=127.0.0.1 "
                    "-c fsync=off", "start")
        gate.touch()
        store.engine.dispose()
        wait_until(lambda: store.get_run(run_id)["status"] == "succeeded", 60, every=0.2)
        assert worker.terminate() == 0
        text = worker.text()
        tries = [(a["status"], a["worker"]) for a in store.attempts(run_id, "slow")]
        store.close()
    finally:
        if worker is not None:
            worker.close()
        server.stop()
    assert "the store answers again" in text
    assert f"run {run_id} stopped: the store failed: " in text
    assert "Traceback" not in text
    problems = [line for line in text.splitlines() if "cannot claim" in line]
    assert len(problems) == 1                    # said once, not every 5 s
    assert tries == [("interrupted", worker.owner), ("succeeded", worker.owner)]


def test_a_run_that_cannot_be_executed_does_not_stop_the_worker(
        tmp_path: Path, stores: Callable[[str], RunStore], sqlite_url: str) -> None:
    log = tmp_path / "effects.log"
    store = stores(sqlite_url)
    broken, good = _enqueue(store, fanout_flow(log, width=1, sleep=0), 2)
    with store.engine.begin() as conn:  # e.g. written by a newer Flowdesk
        conn.execute(update(runs).where(runs.c.id == broken).values(
            definition={"format": "flowdesk/9", "name": "future", "nodes": [], "edges": []}))
    worker = WorkerProcess(sqlite_url, tmp_path, once=True)
    try:
        assert worker.wait(60) == 0, worker.text()
    finally:
        worker.close()
    text = worker.text()
    problem = [line for line in text.splitlines() if "stopped:" in line and broken in line]
    assert len(problem) == 1 and "flowdesk/9" in problem[0] and problem[0].endswith(
        "(handed back)")
    assert "Traceback" not in text
    assert store.get_run(good)["status"] == "succeeded"
    row = store.run_row(broken)
    assert row["status"] == "pending" and row["owner"] is None  # untouched, for a fix


# -- bad input ------------------------------------------------------------------------------

@pytest.mark.parametrize(("args", "env", "message"), [
    (["--concurrency", "0"], {}, "error: --concurrency must be at least 1, not 0\n"),
    (["--lease-s", "0.5"], {}, "error: --lease-s must be at least 1 second, not 0.5\n"),
    ([], {"FLOWDESK_LEASE_S": "soon"},
     "error: FLOWDESK_LEASE_S must be a number of seconds, not 'soon'\n"),
    (["--lease-s", "6", "--heartbeat-s", "4"], {},
     "error: --heartbeat-s must be between 0.2 seconds and half the lease (3 s), not 4\n"),
    ([], {"FLOWDESK_HEARTBEAT_S": "x"},
     "error: FLOWDESK_HEARTBEAT_S must be a number of seconds, not 'x'\n"),
    ([], {"FLOWDESK_WORKER_HOST": "a:b"},
     "error: the worker host name must be non-empty and without ':', not 'a:b'\n"),
    (["--store", "mysql://x/y"], {}, None),
])
def test_bad_worker_options_are_one_sentence(args: list[str], env: dict[str, str],
                                             message: str | None, sqlite_url: str,
                                             monkeypatch: pytest.MonkeyPatch,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    if "--store" not in args:
        args = [*args, "--store", sqlite_url]
    assert main(["worker", *args]) == 2
    err = capsys.readouterr().err
    if message is None:
        assert err.startswith("error: unsupported store 'mysql://x/y'") and err.count("\n") == 1
    else:
        assert err == message
