"""Crash recovery: SIGKILL the process running a flow at seeded random moments, resume it.

Each shell/python node records every execution in a file named after
FLOWDESK_RUN_ID, FLOWDESK_NODE_ID and FLOWDESK_ATTEMPT. After the run finishes,
only nodes that were running at a kill may have executed twice, and every
extra execution must be an attempt recorded as ``interrupted``.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

import pytest
from executor_testkit import delay, end, flow, node, setv, start, wait_for

from engine.flowfile import save_flow
from engine.runs import RunStore

ROOT = Path(__file__).resolve().parents[2]


def _effect(id_: str, out: Path, sleep: float = 0.3) -> dict:
    script = ('touch "$OUT/$FLOWDESK_RUN_ID.$FLOWDESK_NODE_ID.$FLOWDESK_ATTEMPT"; '
              f"sleep {sleep}")
    return node(id_, "shell", config={"command": ["sh", "-c", script],
                                      "env": {"OUT": str(out)}})


def _py_effect(id_: str) -> dict:
    code = ("import os\n"
            "name = '.'.join(os.environ[k] for k in ('FLOWDESK_RUN_ID', 'FLOWDESK_NODE_ID', "
            "'FLOWDESK_ATTEMPT'))\n"
            "open(os.path.join(inputs['out'], name), 'w').close()\n"
            "import time; time.sleep(0.3)\n"
            "result = 7\n")
    return node(id_, "python", config={"code": code})


def _crash_flow(out: Path):
    nodes = [start(), _effect("a", out), setv("s1", x="{{ 1 }}"),
             _effect("b1", out), _effect("b2", out), _effect("b3", out),
             setv("join", y="{{ vars.x + 1 }}"), delay("wait", 0.3), _py_effect("p"),
             _effect("c", out), end("end", y="{{ vars.y }}", p="{{ nodes.p.output }}")]
    edges = ["start>a", "a>s1", "s1>b1", "s1>b2", "s1>b3", "b1>join", "b2>join", "b3>join",
             "join>wait", "wait>p", "p>c", "c>end"]
    return flow(nodes, edges, name="crashy", inputs={"out": {"type": "string"}})


def _resume(run_id: str, url: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "engine.cli", "resume", run_id, "--store",
                             url], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            cwd=ROOT)


@pytest.mark.slow
@pytest.mark.parametrize("seed", [11, 29])
def test_sigkill_at_random_points_then_resume(tmp_path: Path, store_url: str,
                                              seed: int) -> None:
    rng = random.Random(seed)
    out = tmp_path / "effects"
    out.mkdir()
    f = _crash_flow(out)
    path = tmp_path / "crashy.flow.json"
    save_flow(f, path)
    store = RunStore.open(store_url)
    run_id = store.create_run(f, {"out": str(out)}, source=str(path))
    kills = 0
    for _ in range(5):
        proc = _resume(run_id, store_url)
        # the first kill lands before the flow (over 1.5 s of commands) can be done
        time.sleep(rng.uniform(0.3, 1.2 if kills == 0 else 2.0))
        if proc.poll() is not None:  # it finished before this kill
            _, err = proc.communicate()
            assert proc.returncode == 0, err.decode()
            break
        os.kill(proc.pid, signal.SIGKILL)
        proc.communicate()
        kills += 1
        if store.get_run(run_id)["status"] in ("succeeded", "failed", "cancelled"):
            break
    final = _resume(run_id, store_url)
    _, err = final.communicate(timeout=60)
    assert final.returncode == 0, err.decode()
    doc = store.get_run(run_id)
    assert doc["status"] == "succeeded", doc["error"]
    assert doc["outputs"] == {"y": 2, "p": 7}
    assert kills >= 1

    executed: dict[str, list[int]] = defaultdict(list)
    for file in out.iterdir():
        rid, node_id, attempt = file.name.split(".")
        assert rid == run_id
        executed[node_id].append(int(attempt))
    rows: dict[str, list[dict]] = defaultdict(list)
    for a in store.attempts(run_id):
        rows[a["node_id"]].append(a)
    for node_id, state in doc["nodes"].items():
        assert state["status"] == "succeeded", node_id
        tries = rows[node_id]
        statuses = [a["status"] for a in tries]
        # exactly one success, last; anything before it was cut off by a kill
        assert statuses[-1] == "succeeded" and statuses.count("succeeded") == 1, statuses
        assert set(statuses[:-1]) <= {"interrupted"}, (node_id, statuses)
        assert state["attempts"] == 1   # interrupted attempts do not count
        if node_id in executed:
            done = sorted(executed[node_id])
            succeeded = tries[-1]["attempt"]
            interrupted = {a["attempt"] for a in tries if a["status"] == "interrupted"}
            assert succeeded in done
            # a node ran more than once only if it was running at a kill
            assert set(done) - {succeeded} <= interrupted, (node_id, done, statuses)
        else:
            assert node_id not in ("a", "b1", "b2", "b3", "p", "c")
    # inline nodes are computed in the loop: a kill never leaves them half done
    for node_id in ("start", "s1", "join", "end"):
        assert [a["status"] for a in rows[node_id]] == ["succeeded"]
    ids = [e["id"] for e in store.events_after(0, run_id=run_id)]
    assert ids == sorted(ids)
    store.close()


def test_a_durable_delay_keeps_its_due_time_across_a_kill(tmp_path: Path,
                                                          store_url: str) -> None:
    f = flow([start(), delay("nap", 4), end()], ["start>nap", "nap>end"])
    store = RunStore.open(store_url)
    run_id = store.create_run(f, {})
    proc = _resume(run_id, store_url)
    try:
        wait_for(lambda: store.get_run(run_id)["nodes"]["nap"]["status"] == "running",
                 timeout=30)
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.communicate()
    due = store.run_row(run_id)
    from sqlalchemy import select

    from engine.store.schema import node_states

    def ready_at() -> float:
        with store.engine.connect() as conn:
            return conn.execute(select(node_states.c.ready_at).where(
                node_states.c.run_id == run_id, node_states.c.node_id == "nap")).scalar()

    before = ready_at()
    assert due["status"] == "running" and before is not None
    time.sleep(0.5)
    resumed_at = time.time()
    final = _resume(run_id, store_url)
    _, err = final.communicate(timeout=60)
    assert final.returncode == 0, err.decode()
    doc = store.get_run(run_id)
    assert doc["status"] == "succeeded"
    assert ready_at() == before
    from datetime import datetime

    finished = datetime.fromisoformat(doc["nodes"]["nap"]["finished_at"]).timestamp()
    assert finished >= before
    # the same timer went on: a fresh 4 s timer started at resume would end after this
    assert [a["status"] for a in store.attempts(run_id, "nap")] == ["succeeded"]
    assert finished < resumed_at + 3.5
    store.close()


@pytest.mark.parametrize(("point", "runs_of_a"), [
    ("before_launch", [2]),        # committed as running, never started: runs once, as #2
    ("before_commit", [1, 2]),     # its work was done but not recorded: runs again
    ("after_commit", [1]),         # recorded as succeeded: never runs again
])
def test_a_crash_at_each_boundary_of_a_step(tmp_path: Path, store_url: str, point: str,
                                            runs_of_a: list[int]) -> None:
    out = tmp_path / "effects"
    out.mkdir()
    f = flow([start(), _effect("a", out, sleep=0), _effect("b", out, sleep=0), end()],
             ["start>a", "a>b", "b>end"])
    path = tmp_path / "step.flow.json"
    save_flow(f, path)
    store = RunStore.open(store_url)
    run_id = store.create_run(f, {}, source=str(path))
    crashed = subprocess.run(
        [sys.executable, "-m", "engine.cli", "resume", run_id, "--store", store_url],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
        env={**os.environ, "FLOWDESK_FAULT_INJECT": f"{point}:a"})
    assert crashed.returncode == 70, crashed.stderr
    final = _resume(run_id, store_url)
    _, err = final.communicate(timeout=60)
    assert final.returncode == 0, err.decode()
    doc = store.get_run(run_id)
    assert doc["status"] == "succeeded"
    done = sorted(int(p.name.split(".")[2]) for p in out.iterdir() if ".a." in p.name)
    assert done == runs_of_a
    tries = [(a["attempt"], a["status"]) for a in store.attempts(run_id, "a")]
    if point == "after_commit":
        assert tries == [(1, "succeeded")]
    else:
        assert tries == [(1, "interrupted"), (2, "succeeded")]
    # b never ran before the crash (after_commit: it was committed as running in the same
    # step as a's success, and the crash came before its launch): it ran exactly once.
    b_tries = store.attempts(run_id, "b")
    assert b_tries[-1]["status"] == "succeeded"
    assert {a["status"] for a in b_tries[:-1]} <= {"interrupted"}
    b_done = sorted(int(p.name.split(".")[2]) for p in out.iterdir() if ".b." in p.name)
    assert b_done == [b_tries[-1]["attempt"]]
    assert doc["nodes"]["a"]["attempts"] == 1
    store.close()
