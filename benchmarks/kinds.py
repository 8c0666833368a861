"""How long trivial shell, python and http nodes take end to end (prints figures).

    .venv/bin/python benchmarks/kinds.py [--repeat N]

Each figure is the time of one ``execute(ctx)`` call of the kind, as the
executor makes it: for python, on a warm worker (the pool started beforehand)
and, for comparison, what a cold ``python -c`` subprocess per node would cost.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import threading
import time
from collections.abc import Awaitable, Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from engine.kinds import http_kind, python_kind, shell_kind  # noqa: E402
from engine.kinds.base import NodeContext  # noqa: E402
from engine.pyworker import get_pool, shutdown_pool  # noqa: E402

SCOPE = {"inputs": {"n": 1}, "vars": {}, "nodes": {}, "run": {"id": "bench"}}


def ctx(config: dict[str, Any]) -> NodeContext:
    return NodeContext("bench", "node", 1, config, SCOPE)


async def measure(make: Callable[[], Awaitable[Any]], repeat: int) -> list[float]:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        await make()
        times.append((time.perf_counter() - started) * 1000)
    return times


def report(label: str, times: list[float]) -> None:
    times = sorted(times)
    p90 = times[int(len(times) * 0.9) - 1] if len(times) >= 10 else times[-1]
    print(f"{label:<44} median {statistics.median(times):8.2f} ms   "
          f"p90 {p90:8.2f} ms   min {times[0]:8.2f} ms   (n={len(times)})")


async def cold_python(isolated: bool) -> None:
    args = [sys.executable, *(["-I"] if isolated else []), "-c",
            "import json; print(json.dumps({'n': 2}))"]
    proc = await asyncio.create_subprocess_exec(*args, stdout=asyncio.subprocess.PIPE)
    await proc.communicate()


class _Ok(BaseHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        body = b'{"ok": true}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


async def main(repeat: int) -> None:
    print(f"Python {sys.version.split()[0]} on {sys.platform}; repeat {repeat}")
    started = time.perf_counter()
    await python_kind.execute(ctx({"code": "result = 1"}))
    report("python node, first (starts a worker)", [(time.perf_counter() - started) * 1000])
    report("python node, warm worker", await measure(
        lambda: python_kind.execute(ctx({"code": "result = inputs['n'] + 1"})), repeat))
    report("python node, warm, prints 100 lines", await measure(
        lambda: python_kind.execute(ctx({"code": "for i in range(100): print(i)"})),
        max(1, repeat // 4)))
    cold = max(5, repeat // 10)
    report("cold `python -I -c` subprocess per node", await measure(
        lambda: cold_python(True), cold))
    report("cold `python -c` subprocess per node", await measure(
        lambda: cold_python(False), cold))
    report("shell node `true`", await measure(
        lambda: shell_kind.execute(ctx({"command": ["true"]})), repeat))
    report("shell node `echo hi`, shell: true", await measure(
        lambda: shell_kind.execute(ctx({"command": "echo hi", "shell": True})), repeat))
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Ok)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{httpd.server_address[1]}/"
    report("http node GET on 127.0.0.1", await measure(
        lambda: http_kind.execute(ctx({"url": url})), repeat))
    httpd.shutdown()
    httpd.server_close()
    print(f"workers in the pool: {get_pool().size}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=200)
    args = parser.parse_args()
    try:
        asyncio.run(main(args.repeat))
    finally:
        shutdown_pool()
