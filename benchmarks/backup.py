"""Backup and restore figures for a store of 10,000 runs (not a test: it prints what it measures).

    .venv/bin/python benchmarks/backup.py [--runs 10000] [--no-postgres]

Builds a SQLite store of N runs, each with 5 node states, 5 edge states,
5 attempts, 10 events and 5 log lines, inserted fast with executemany; then
times a backup, a verify, a restore into an empty SQLite store, a forced
restore over a full one (which first saves the pre-restore backup), and, when
a throwaway PostgreSQL can start, a restore into PostgreSQL and a backup from it.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import insert  # noqa: E402

from engine.backup import create_backup, restore_backup, verify_backup  # noqa: E402
from engine.store import open_engine, write_transaction  # noqa: E402
from engine.store.schema import (  # noqa: E402
    attempts,
    edge_states,
    events,
    logs,
    node_states,
    runs,
)

NODES = ["start", "fetch", "check", "notify", "end"]


def build(engine: Any, n_runs: int) -> int:
    """Insert ``n_runs`` runs with their rows in batches of 500 runs; return the row count."""
    rng = random.Random(1)
    definition = {"format": "flowdesk/1", "name": "nightly-report",
                  "nodes": [{"id": n, "kind": "shell", "config": {"command": ["echo", n]}}
                            for n in NODES],
                  "edges": [{"from": a, "to": b} for a, b in zip(NODES[:-1], NODES[1:], strict=True)]}
    total = 0
    for start in range(0, n_runs, 500):
        batch: dict[Any, list[dict[str, Any]]] = {t: [] for t in
                                                  (runs, node_states, edge_states, attempts,
                                                   events, logs)}
        for i in range(start, min(n_runs, start + 500)):
            rid = f"run{i:08d}"
            t = 1_764_000_000 + i * 3.0 + rng.random()
            batch[runs].append({
                "id": rid, "flow_name": "nightly-report", "flow_version": 1, "source": None,
                "definition": definition, "inputs": {"day": "2026-11-29", "n": i},
                "status": "succeeded", "outputs": {"status": 200}, "error": None,
                "created_at": t, "started_at": t, "finished_at": t + 2.5, "updated_at": t + 2.5,
                "created_by": "ada", "parent_run_id": None, "parent_node_id": None, "depth": 0,
                "detached": False, "owner": None, "lease_until": None,
                "cancel_requested": False})
            for k, node in enumerate(NODES):
                batch[node_states].append({
                    "run_id": rid, "node_id": node, "status": "succeeded", "attempts": 1,
                    "output": {"exit_code": 0, "stdout": f"{node} done\n", "stderr": ""},
                    "error": None, "started_at": t + k * 0.5, "finished_at": t + k * 0.5 + 0.4,
                    "ready_at": None, "taken": 1, "dead": 0, "decision": None,
                    "claimed_by": None, "lease_until": None, "cancel_requested": False})
                batch[edge_states].append({"run_id": rid, "edge_index": k, "state": "taken"})
                batch[attempts].append({"run_id": rid, "node_id": node, "attempt": 1,
                                        "status": "succeeded", "started_at": t + k * 0.5,
                                        "finished_at": t + k * 0.5 + 0.4, "error": None,
                                        "worker": "host:123:abc"})
                for typ in ("node_started", "node_finished"):
                    batch[events].append({"run_id": rid, "ts": t + k * 0.5, "type": typ,
                                          "node_id": node, "data": {"status": "succeeded"}})
                batch[logs].append({"run_id": rid, "node_id": node, "attempt": 1,
                                    "stream": "stdout", "text": f"{node} done", "ts": t})
        with write_transaction(engine) as conn:
            for table, rows in batch.items():
                conn.execute(insert(table), rows)
                total += len(rows)
    return total


def timed(label: str, fn: Any, rows: int) -> float:
    """Wall seconds (what a user waits) and this process's CPU seconds (steadier on a busy box)."""
    t0, c0 = time.perf_counter(), time.process_time()
    fn()
    s, cpu = time.perf_counter() - t0, time.process_time() - c0
    print(f"{label:<42} {s:7.2f} s wall {cpu:7.2f} s cpu {rows / s:9,.0f} rows/s")
    return s


def mb(path: Path) -> float:
    size = path.stat().st_size
    for side in (Path(f"{path}-wal"), Path(f"{path}-shm")):
        if side.exists():
            size += side.stat().st_size
    return size / 1e6


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=10_000)
    ap.add_argument("--no-postgres", action="store_true")
    ap.add_argument("--keep", action="store_true", help="keep the stores and archives")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="flowdesk-bench-"))
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())} "
          f"on {os.cpu_count()} cores")
    src_db = work / "src.db"
    src = open_engine(f"sqlite:///{src_db}")
    t0 = time.perf_counter()
    rows = build(src, args.runs)
    print(f"built a store of {args.runs:,} runs, {rows:,} rows in "
          f"{time.perf_counter() - t0:.1f} s; SQLite file {mb(src_db):.1f} MB")
    archive = work / "store.fdbackup"
    timed("backup (SQLite)", lambda: create_backup(src, archive), rows)
    print(f"{'  archive size':<42} {archive.stat().st_size / 1e6:7.2f} MB")
    timed("verify", lambda: verify_backup(archive), rows)
    dst_db = work / "dst.db"
    dst = open_engine(f"sqlite:///{dst_db}")
    timed("restore into an empty SQLite store", lambda: restore_backup(dst, archive), rows)
    print(f"{'  restored SQLite file (with -wal)':<42} {mb(dst_db):7.1f} MB")
    timed("forced restore over a full SQLite store",
          lambda: restore_backup(dst, archive, force=True, pre_restore_dir=work / "pre"),
          rows)
    print("  (includes verify, the pre-restore backup of the full store and the load)")
    dst.dispose()
    if not args.no_postgres:
        try:
            sys.path.insert(0, str(ROOT / "tests"))
            from conftest import PostgresServer

            server = PostgresServer()
            server.start()
        except Exception as exc:  # noqa: BLE001 - the figure is then simply missing
            print(f"PostgreSQL figures skipped: {exc}")
        else:
            try:
                pg = open_engine(server.create_database())
                timed("restore into an empty PostgreSQL store",
                      lambda: restore_backup(pg, archive), rows)
                timed("backup (PostgreSQL)", lambda: create_backup(pg, work / "pg.fdbackup"),
                      rows)
                pg.dispose()
            finally:
                server.stop()
    src.dispose()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak memory of this process: {peak:.0f} MB")
    if args.keep:
        print(f"(files kept in {work})")
    else:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
