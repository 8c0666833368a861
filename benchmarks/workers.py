"""Worker speed on PostgreSQL: throughput with 1, 2 and 4 workers, and reclaim after a kill.

    .venv/bin/python benchmarks/workers.py [--quick] [--runs N] [--lease-s S]

Starts a throwaway PostgreSQL cluster (the tests' recipe, ``fsync=off``), then:

* throughput: for short ``set`` nodes (start -> 10 parallel sets -> join -> end)
  and for 50 ms ``shell`` nodes (start -> 4 parallel ``sleep 0.05`` -> join -> end),
  with 1, 2 and 4 ``flowdesk worker`` processes (``--concurrency 4`` each): the
  runs are enqueued while held, the workers started and idle, then all runs are
  released at once and timed until the last one ends. Prints nodes per second,
  runs per second, and how busy the machine's CPUs and PostgreSQL were.
* reclaim: worker A (its own host name, so only the lease counts) runs a long
  node; worker B idles; A is killed with SIGKILL and the time until B starts the
  node again is measured, against the lease plus one heartbeat.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from sqlalchemy import func, select, update  # noqa: E402

from engine.flowfile import flow_from_dict  # noqa: E402
from engine.model import Flow  # noqa: E402
from engine.runs import RunStore  # noqa: E402
from engine.store.schema import attempts, runs  # noqa: E402

HOLD = "bench-hold:1:hold"  # an owner on a made-up host whose lease never ends


def fan_flow(kind: str, width: int) -> Flow:
    nodes: list[dict[str, Any]] = [{"id": "start", "kind": "start"}]
    edges = []
    for i in range(width):
        nid = f"n{i}"
        if kind == "set":
            nodes.append({"id": nid, "kind": "set", "config": {"vars": {f"v{i}": "{{ 1 }}"}}})
        else:
            nodes.append({"id": nid, "kind": "shell", "config": {"command": ["sleep", "0.05"]}})
        edges += [{"from": "start", "to": nid}, {"from": nid, "to": "join"}]
    nodes += [{"id": "join", "kind": "set", "config": {"vars": {"done": "{{ 1 }}"}}},
              {"id": "end", "kind": "end"}]
    edges.append({"from": "join", "to": "end"})
    return flow_from_dict({"format": "flowdesk/1", "name": f"bench-{kind}", "nodes": nodes,
                           "edges": edges})


class Worker:
    def __init__(self, url: str, work: Path, name: str | None, lease_s: float,
                 concurrency: int = 4) -> None:
        """``name``: the worker's host name (as if on its own machine); None: this one's."""
        self.log = work / f"{name or 'local'}-{time.monotonic_ns()}.log"
        env = dict(os.environ)
        env.pop("FLOWDESK_WORKER_HOST", None)
        if name:
            env["FLOWDESK_WORKER_HOST"] = name
        with open(self.log, "wb") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "engine.cli", "worker", "--store", url,
                 "--concurrency", str(concurrency), "--lease-s", str(lease_s)],
                cwd=ROOT, env=env, stdout=out, stderr=out)
        self.owner_prefix = f"{name or socket.gethostname()}:{self.proc.pid}:"

    def started(self) -> bool:
        return b" started: " in self.log.read_bytes()

    def cpu(self) -> float:
        """CPU seconds this worker process has used so far."""
        try:
            stat = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return 0.0
        return (float(stat[11]) + float(stat[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def wait_until(predicate: Any, timeout: float, every: float = 0.02) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError("condition not reached in time")
        time.sleep(every)


def cpu_times() -> tuple[float, float]:
    """(busy, total) jiffies of all CPUs, from /proc/stat."""
    fields = [float(x) for x in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
    idle = fields[3] + fields[4]
    return sum(fields) - idle, sum(fields)


def postgres_cpu() -> float:
    """CPU seconds used so far by all PostgreSQL processes (postmaster and backends)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            comm = (entry / "comm").read_text().strip()
            if comm not in ("postgres", "postmaster"):
                continue
            stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (float(stat[11]) + float(stat[12])) / tick
    return total


def throughput(server: Any, work: Path, kind: str, n_workers: int, n_runs: int) -> dict:
    url = server.create_database()
    store = RunStore.open(url)
    width = 10 if kind == "set" else 4
    f = fan_flow(kind, width)
    ids = [store.create_run(f, {}, detached=True) for _ in range(n_runs)]
    with store.engine.begin() as conn:  # held: no worker may take them yet
        conn.execute(update(runs).where(runs.c.id.in_(ids)).values(
            owner=HOLD, lease_until=time.time() + 3600))
    workers = [Worker(url, work, f"bench-{i}", 30) for i in range(n_workers)]
    wait_until(lambda: all(w.started() for w in workers), 120, every=0.1)
    time.sleep(1.0)  # every worker is up and idle: start the clock

    def unfinished() -> int:
        with store.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(runs).where(
                runs.c.status.notin_(("succeeded", "failed", "cancelled")))).scalar_one())

    busy0, total0 = cpu_times()
    pg0 = postgres_cpu()
    w0 = sum(w.cpu() for w in workers)
    t0 = time.perf_counter()
    with store.engine.begin() as conn:
        conn.execute(update(runs).where(runs.c.id.in_(ids)).values(owner=None,
                                                                   lease_until=None))
    wait_until(lambda: unfinished() == 0, 600, every=0.05)
    elapsed = time.perf_counter() - t0
    busy1, total1 = cpu_times()
    pg_cpu = postgres_cpu() - pg0
    w_cpu = sum(w.cpu() for w in workers) - w0
    for w in workers:
        w.stop()
    with store.engine.connect() as conn:
        n_attempts = int(conn.execute(select(func.count()).select_from(attempts)).scalar_one())
        bad = int(conn.execute(select(func.count()).select_from(runs).where(
            runs.c.status != "succeeded")).scalar_one())
    store.close()
    cores = os.cpu_count() or 1
    return {"kind": kind, "workers": n_workers, "runs": n_runs, "nodes": n_attempts,
            "elapsed": elapsed, "nodes_s": n_attempts / elapsed, "runs_s": n_runs / elapsed,
            "cpu": (busy1 - busy0) / (total1 - total0) * 100,
            "pg_cores": pg_cpu / elapsed, "cores": cores, "failed": bad,
            "cpu_ms_node": (pg_cpu + w_cpu) / n_attempts * 1000,
            "w_cores": w_cpu / elapsed}


def reclaim(server: Any, work: Path, lease_s: float, trials: int, *, local: bool = False
            ) -> list[float]:
    """Seconds from a worker's SIGKILL to another worker running its node again.

    ``local``: both workers use this machine's name, so the dead process id is seen
    at once; otherwise each has a host name of its own and only the lease counts.
    """
    url = server.create_database()
    store = RunStore.open(url)
    f = flow_from_dict({"format": "flowdesk/1", "name": "long", "nodes": [
        {"id": "start", "kind": "start"},
        {"id": "long", "kind": "shell", "config": {"command": ["sleep", "600"]}},
        {"id": "end", "kind": "end"}],
        "edges": [{"from": "start", "to": "long"}, {"from": "long", "to": "end"}]})
    delays = []

    def running_by(run_id: str, w: Worker) -> bool:
        with store.engine.connect() as conn:
            return conn.execute(select(attempts.c.id).where(
                attempts.c.run_id == run_id, attempts.c.status == "running",
                attempts.c.worker.startswith(w.owner_prefix))).first() is not None

    try:
        for trial in range(trials):
            run_id = store.create_run(f, {}, detached=True)
            victim = Worker(url, work, None if local else f"bench-a{trial}", lease_s,
                            concurrency=1)
            spare = None
            try:
                wait_until(lambda r=run_id, v=victim: running_by(r, v), 60)
                # the spare starts once the victim holds the run, and is idle at the kill
                spare = Worker(url, work, None if local else f"bench-b{trial}", lease_s,
                               concurrency=1)
                time.sleep(2.0 + (trial % 3) * lease_s / 9)  # vary the heartbeat phase
                victim.proc.send_signal(signal.SIGKILL)
                t_kill = time.perf_counter()
                victim.proc.wait()
                wait_until(lambda r=run_id, v=spare: running_by(r, v), lease_s * 3,
                           every=0.01)
                delays.append(time.perf_counter() - t_kill)
                store.request_cancel(run_id)
                wait_until(lambda r=run_id: store.run_row(r)["status"] == "cancelled", 30)
            finally:
                victim.stop()
                if spare is not None:
                    spare.stop()
    finally:
        store.close()
    return delays


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer runs")
    parser.add_argument("--runs", type=int, help="runs per measurement")
    parser.add_argument("--lease-s", type=float, default=6.0,
                        help="lease for the reclaim measurement (default 6 s)")
    parser.add_argument("--reclaim-only", action="store_true",
                        help="skip the throughput measurements")
    args = parser.parse_args()
    from conftest import PostgresServer  # the same throwaway cluster as the tests

    server = PostgresServer()
    try:
        server.start()
    except Exception as exc:  # noqa: BLE001
        print(f"cannot start a throwaway PostgreSQL: {exc}")
        return 2
    work = Path(tempfile.mkdtemp(prefix="flowdesk-bench-workers-"))
    try:
        print(f"PostgreSQL throwaway cluster (fsync=off); {os.cpu_count()} CPUs; workers "
              "with --concurrency 4")
        print("CPU busy: the whole machine; workers, PG: cores used by the workers and by "
              "PostgreSQL; CPU ms/node: both, per node")
        if not args.reclaim_only:
            print(f"{'nodes':<22}{'workers':>8}{'runs':>6}{'nodes':>7}{'seconds':>9}"
                  f"{'nodes/s':>9}{'runs/s':>8}{'CPU busy':>10}{'workers':>9}{'PG':>6}"
                  f"{'CPU ms/node':>13}")
        for kind in () if args.reclaim_only else ("set", "shell"):
            n_runs = args.runs or ((60 if kind == "set" else 40) if args.quick else
                                   (300 if kind == "set" else 160))
            for n_workers in (1, 2, 4):
                r = throughput(server, work, kind, n_workers, n_runs)
                label = "10 set + join" if kind == "set" else "4 shell 50 ms + join"
                print(f"{label:<22}{r['workers']:>8}{r['runs']:>6}{r['nodes']:>7}"
                      f"{r['elapsed']:>9.2f}{r['nodes_s']:>9.0f}{r['runs_s']:>8.1f}"
                      f"{r['cpu']:>9.0f}%{r['w_cores']:>9.2f}{r['pg_cores']:>6.2f}"
                      f"{r['cpu_ms_node']:>13.2f}"
                      + (f"  ({r['failed']} runs not succeeded!)" if r["failed"] else ""),
                      flush=True)
        lease = args.lease_s
        beat = min(10.0, lease / 3)
        trials = 3 if args.quick else 6
        delays = reclaim(server, work, lease, trials)
        print(f"\nreclaim after SIGKILL, lease {lease:g} s, heartbeat {beat:g} s, "
              f"bound lease + heartbeat = {lease + beat:g} s:")
        print("  another machine (lease): " + ", ".join(f"{d:.2f} s" for d in delays)
              + f"   (max {max(delays):.2f} s)", flush=True)
        delays = reclaim(server, work, lease, trials, local=True)
        print("  same machine (dead pid): " + ", ".join(f"{d:.2f} s" for d in delays)
              + f"   (max {max(delays):.2f} s)")
    finally:
        server.stop()
        import shutil

        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
