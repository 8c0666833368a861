"""Helpers for the worker tests: fan-out/join flows, worker processes, the side-effect log.

Every side-effect node appends one line ``run node attempt pid`` to a shared log
file (``>>`` opens it with O_APPEND, and a short line is written whole), where
``pid`` is the worker process that started the node's program. Comparing that
log with the ``attempts`` table tells which node ran how often, and by whom.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from executor_testkit import end, flow, node, setv, start
from sqlalchemy import select

from engine.model import Flow
from engine.runs import RunStore
from engine.store.schema import attempts, runs

ROOT = Path(__file__).resolve().parents[2]
EFFECT = 'echo "$FLOWDESK_RUN_ID $FLOWDESK_NODE_ID $FLOWDESK_ATTEMPT $PPID" >> "$LOG"'


def effect(id_: str, log: Path, sleep: float, gate: Path | None = None) -> dict[str, Any]:
    """A shell node that records its execution in ``log``, then sleeps (and waits for the
    file ``gate`` to exist, when given)."""
    script = f"{EFFECT}; sleep {sleep}"
    if gate is not None:
        script += f'; while [ ! -e "{gate}" ]; do sleep 0.05; done'
    return node(id_, "shell", config={"command": ["sh", "-c", script],
                                      "env": {"LOG": str(log)}})


def fanout_flow(log: Path, width: int = 3, sleep: float = 0.1, name: str = "fan",
                gate: Path | None = None) -> Flow:
    """start -> ``width`` parallel effect nodes -> join (a set) -> end."""
    branches = [f"n{i}" for i in range(1, width + 1)]
    nodes = [start(), *(effect(b, log, sleep, gate) for b in branches),
             setv("join", done="{{ 1 }}"), end("end", done="{{ vars.done }}")]
    edges = [f"start>{b}" for b in branches] + [f"{b}>join" for b in branches] + ["join>end"]
    return flow(nodes, edges, name=name)


class WorkerProcess:
    """``python -m engine.cli worker`` as a child process, its log in a file."""

    def __init__(self, url: str, tmp: Path, *, host: str | None = None, lease_s: float = 3,
                 concurrency: int = 4, once: bool = False, extra: tuple[str, ...] = ()
                 ) -> None:
        self.log_path = tmp / f"worker-{time.monotonic_ns()}.log"
        env = dict(os.environ)
        if host:
            env["FLOWDESK_WORKER_HOST"] = host
        cmd = [sys.executable, "-m", "engine.cli", "worker", "--store", url,
               "--concurrency", str(concurrency), "--lease-s", str(lease_s)]
        if once:
            cmd.append("--once")
        cmd += extra
        with open(self.log_path, "wb") as out:
            self.proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=out, stderr=out)
        self.pid = self.proc.pid

    def text(self) -> str:
        return self.log_path.read_text(errors="replace")

    @property
    def owner(self) -> str:
        """The owner id it announced (``host:pid:token``); waits for the announcement."""
        wait_until(lambda: " started: " in self.text() or self.proc.poll() is not None, 30)
        found = re.search(r" worker (\S+) started: ", self.text())
        if found:
            return found.group(1)
        raise AssertionError(f"the worker did not start:\n{self.text()}")

    def kill(self) -> None:
        os.kill(self.pid, signal.SIGKILL)
        self.proc.wait(10)

    def terminate(self, timeout: float = 30) -> int:
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout)

    def wait(self, timeout: float = 60) -> int:
        return self.proc.wait(timeout)

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)


@contextmanager
def opened(url: str) -> Iterator[RunStore]:
    """A store that is closed again even when the test fails."""
    store = RunStore.open(url)
    try:
        yield store
    finally:
        store.close()


def wait_until(predicate: Any, timeout: float = 30.0, every: float = 0.05) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(every)


def executions(log: Path) -> dict[tuple[str, str], list[tuple[int, int]]]:
    """(run, node) -> [(attempt, pid)] from the side-effect log."""
    out: dict[tuple[str, str], list[tuple[int, int]]] = defaultdict(list)
    if not log.exists():
        return out
    for line in log.read_text().splitlines():
        run_id, node_id, attempt, pid = line.split()
        out[(run_id, node_id)].append((int(attempt), int(pid)))
    return out


def all_attempts(store: RunStore) -> dict[tuple[str, str], list[dict[str, Any]]]:
    """(run, node) -> attempt rows in order, for every run in the store."""
    out: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    with store.engine.connect() as conn:
        for r in conn.execute(select(attempts).order_by(attempts.c.id)):
            out[(r.run_id, r.node_id)].append(dict(r._mapping))
    return out


def run_statuses(store: RunStore) -> dict[str, str]:
    with store.engine.connect() as conn:
        return {r.id: r.status for r in conn.execute(select(runs.c.id, runs.c.status))}


def owner_pid(owner: str) -> int:
    return int(owner.split(":")[1])
