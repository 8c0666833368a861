"""Measures the app's remote mode against a real `flowdesk serve` process on SQLite.

- sign-in (password, argon2 on the server) and reconnect with a refresh token;
- event latency: from an event written to the store to the app's event follower
  holding it (the server polls its log every 200 ms), p50 / p95 over 100 events;
- a burst: 2,000 runs recorded at once, time until the follower has every event;
- a server killed with SIGKILL and started again on the same port: time from the
  new server answering to the follower having the events written meanwhile.

    .venv/bin/python benchmarks/remote.py

Prints figures; asserts nothing except that no event was lost or doubled.
"""

from __future__ import annotations

import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from engine.auth.users import add_user  # noqa: E402
from engine.client import ServerClient  # noqa: E402
from engine.flowfile import load_flow  # noqa: E402
from engine.remote_store import EventFollower  # noqa: E402
from engine.runs import RunStore  # noqa: E402

PASSWORD = "benchmark password"
HELLO = load_flow(ROOT / "resources" / "examples" / "hello.flow.json")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(url: str, home: Path, port: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, "FLOWDESK_HOME": str(home)}
    proc = subprocess.Popen([sys.executable, "-m", "app.entry", "serve", "--port", str(port),
                             "--store", url, "--no-worker"], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health").status_code == 200:
                return proc
        except httpx.TransportError:
            time.sleep(0.02)
    proc.kill()
    raise RuntimeError("flowdesk serve did not start")


def wait_for(follower: EventFollower, last: int, timeout: float = 60.0) -> float:
    start = time.perf_counter()
    while follower.last_id < last:
        if time.perf_counter() - start > timeout:
            raise RuntimeError("the follower did not catch up")
        time.sleep(0.001)
    return time.perf_counter() - start


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        url = f"sqlite:///{home / 'remote.db'}"
        store = RunStore.open(url)
        add_user(store.engine, "bench", PASSWORD, ["admin"])
        port = free_port()
        proc = start_server(url, home, port)
        base = f"http://127.0.0.1:{port}"
        try:
            client = ServerClient(base)
            t = time.perf_counter()
            client.login("bench", PASSWORD)
            login_ms = (time.perf_counter() - t) * 1000
            other = ServerClient(base)
            t = time.perf_counter()
            assert client.refresh_token is not None
            other.resume(client.refresh_token)
            resume_ms = (time.perf_counter() - t) * 1000
            other.close()

            follower = EventFollower(client, retry_s=0.05, after=store.last_event_id()).start()
            latencies = []
            rng = random.Random(7)
            for _ in range(100):
                time.sleep(rng.uniform(0, 0.25))  # not in step with the server's polling
                store.create_run(HELLO, {})
                latencies.append(wait_for(follower, store.last_event_id()) * 1000)
            latencies.sort()

            t = time.perf_counter()
            for _ in range(2000):
                store.create_run(HELLO, {})
            written = time.perf_counter() - t
            burst = wait_for(follower, store.last_event_id())

            killed = time.perf_counter()
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            for _ in range(20):
                store.create_run(HELLO, {})
            proc = start_server(url, home, port)
            answered = time.perf_counter() - killed
            wait_for(follower, store.last_event_id())
            gap = time.perf_counter() - killed

            got = [e["id"] for e in follower.received()]
            want = [e["id"] for e in store.events_after(0, limit=1_000_000)
                    if e["id"] > (got[0] - 1 if got else 0)]
            assert got == want, "events lost or doubled"
            follower.stop()
            client.close()
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(30)
            store.close()
    print("remote mode against flowdesk serve (SQLite, one process, 2 cores)")
    print(f"  sign in with a password          {login_ms:8.1f} ms")
    print(f"  reconnect with a refresh token   {resume_ms:8.1f} ms")
    print(f"  event latency p50 / p95          {statistics.median(latencies):8.1f} / "
          f"{latencies[94]:.1f} ms")
    print(f"  burst of 2000 events             written in {written:.2f} s, all followed "
          f"{burst * 1000:.0f} ms after the last write")
    print(f"  server SIGKILLed and restarted   new server answering {answered * 1000:.0f} ms, "
          f"follower complete {gap * 1000:.0f} ms after the kill")
    print(f"  events followed                  {len(got)} (none lost or doubled), "
          f"{follower.connections} connections")
    return 0


if __name__ == "__main__":
    sys.exit(main())
