"""Measures the Flowdesk server: authenticated requests/s and p50/p95 latency.

Two operations, GET /api/v1/runs/{id} (a read) and POST /api/v1/runs (starting a
small run of start → end, executed by the embedded worker), each with 1, 8 and 32
concurrent clients sharing one httpx client, against a real `flowdesk serve`
process (uvicorn, one process), on SQLite and on a throwaway PostgreSQL (started
the way tests/conftest.py does; skipped with a note where no server binaries exist).

    .venv/bin/python benchmarks/server.py [--reads N] [--starts N] [--only sqlite|postgres]

Prints figures; asserts nothing. Goal: ≥ 500 reads/s with p95 ≤ 50 ms on SQLite.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from engine.auth.users import add_user  # noqa: E402
from engine.deployments import deploy  # noqa: E402
from engine.store import open_engine  # noqa: E402

PASSWORD = "benchmark password"
TINY = {"format": "flowdesk/1", "name": "tiny",
        "nodes": [{"id": "start", "kind": "start"},
                  {"id": "end", "kind": "end", "config": {"outputs": {"ok": "{{ 1 + 1 }}"}}}],
        "edges": [{"from": "start", "to": "end"}]}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(url: str, home: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {**os.environ, "FLOWDESK_HOME": str(home)}
    env.pop("FLOWDESK_JWT_SECRET", None)
    proc = subprocess.Popen([sys.executable, "-m", "app.entry", "serve", "--port", str(port),
                             "--store", url], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/health").status_code == 200:
                return proc, base
        except httpx.TransportError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("flowdesk serve did not start")


def measure(client: httpx.Client, clients: int, total: int, request: Any) -> dict[str, float]:
    """``total`` requests spread over ``clients`` threads; throughput and latency."""
    latencies: list[float] = []
    errors = 0
    lock = threading.Lock()
    counter = iter(range(total))

    def work() -> None:
        nonlocal errors
        mine: list[float] = []
        bad = 0
        while True:
            with lock:
                if next(counter, None) is None:
                    break
            t0 = time.perf_counter()
            r = request(client)
            mine.append(time.perf_counter() - t0)
            if r.status_code >= 300:
                bad += 1
        with lock:
            latencies.extend(mine)
            errors += bad

    threads = [threading.Thread(target=work) for _ in range(clients)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - started
    latencies.sort()
    return {"rps": len(latencies) / wall,
            "p50": statistics.median(latencies) * 1000,
            "p95": latencies[int(0.95 * (len(latencies) - 1))] * 1000,
            "n": len(latencies), "errors": errors}


def bench_store(label: str, url: str, reads: int, starts: int) -> list[str]:
    engine = open_engine(url)
    add_user(engine, "bench", PASSWORD, ["admin"])
    deploy(engine, TINY, created_by="bench")
    engine.dispose()
    with tempfile.TemporaryDirectory() as home:
        proc, base = start_server(url, Path(home))
        rows = []
        try:
            limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
            with httpx.Client(base_url=f"{base}/api/v1", limits=limits, timeout=60) as client:
                pair = client.post("/auth/login", json={"username": "bench",
                                                        "password": PASSWORD}).json()
                client.headers["Authorization"] = f"Bearer {pair['access_token']}"
                run_id = client.post("/runs", json={"flow": "tiny"}).json()["run_id"]
                time.sleep(0.5)
                for _ in range(50):  # warm up connections and caches
                    client.get(f"/runs/{run_id}")
                for clients in (1, 8, 32):
                    r = measure(client, clients, max(reads, 20 * clients),
                                lambda c, rid=run_id: c.get(f"/runs/{rid}"))
                    rows.append(f"| {label} | GET /runs/{{id}} | {clients} | {r['n']} | "
                                f"{r['rps']:.0f} | {r['p50']:.1f} | {r['p95']:.1f} | "
                                f"{r['errors']} |")
                    print(rows[-1], flush=True)
                for clients in (1, 8, 32):
                    r = measure(client, clients, max(starts, 2 * clients),
                                lambda c: c.post("/runs", json={"flow": "tiny"}))
                    rows.append(f"| {label} | POST /runs | {clients} | {r['n']} | "
                                f"{r['rps']:.0f} | {r['p50']:.1f} | {r['p95']:.1f} | "
                                f"{r['errors']} |")
                    print(rows[-1], flush=True)
                time.sleep(1)
                done = client.get("/runs", params={"status": "succeeded", "limit": 1}).json()
                print(f"  ({label}: {done['total']} of the started runs had succeeded a "
                      "second after the last start)", flush=True)
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reads", type=int, default=1000, help="GET requests per level")
    parser.add_argument("--starts", type=int, default=100, help="run starts per level")
    parser.add_argument("--only", choices=("sqlite", "postgres"))
    args = parser.parse_args()
    print(f"cores: {os.cpu_count()}, load average: {os.getloadavg()[0]:.2f}")
    print("| store | request | clients | requests | req/s | p50 ms | p95 ms | errors |")
    print("|---|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        if args.only in (None, "sqlite"):
            bench_store("SQLite", f"sqlite:///{Path(tmp) / 'bench.db'}", args.reads,
                        args.starts)
        if args.only in (None, "postgres"):
            sys.path.insert(0, str(ROOT / "tests"))
            from conftest import PostgresServer  # the same throwaway cluster as the tests

            try:
                pg = PostgresServer()
                pg.start()
            except Exception as exc:  # noqa: BLE001 - reported, then skipped
                print(f"(PostgreSQL skipped: {exc})")
                return 0
            try:
                bench_store("PostgreSQL", pg.create_database(), args.reads, args.starts)
            finally:
                pg.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
