"""The warm worker pool itself: bounded, shared across threads and loops, clean at exit."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from engine.procs import child_environment, is_secret_variable
from engine.pyworker import WorkerPool, configure_pool, get_pool, shutdown_pool
from engine.pyworker.pool import _size_from_environment
from tests.engine.proc_testkit import gone

ROOT = Path(__file__).resolve().parents[2]


def reaped(pid: int, within_s: float = 3.0) -> bool:
    """Gone for good: not even a zombie (the pool waited for its own children)."""
    deadline = time.monotonic() + within_s
    while Path(f"/proc/{pid}").exists():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def request(code: str) -> dict[str, Any]:
    return {"code": code, "filename": "<node t>", "scope": {}, "env": {}, "cwd": None}


@pytest.fixture
def pool() -> Iterator[WorkerPool]:
    p = WorkerPool(size=2)
    yield p
    p.close()


def test_the_pool_never_runs_more_workers_than_its_size(pool: WorkerPool,
                                                          tmp_path: Path) -> None:
    """Six executions at once on two workers: at most two run at any moment."""
    code = (f"import os, time\n"
            f"open(os.path.join({str(tmp_path)!r}, f'{{time.time_ns()}}-start-{{os.getpid()}}'),"
            f" 'w').close()\n"
            f"time.sleep(0.15)\n"
            f"open(os.path.join({str(tmp_path)!r}, f'{{time.time_ns()}}-end-{{os.getpid()}}'),"
            f" 'w').close()\n"
            f"result = os.getpid()")

    async def scenario() -> list[Any]:
        return await asyncio.gather(*(pool.execute(request(code), lambda s, t: None)
                                      for _ in range(6)))

    outcomes = asyncio.run(scenario())
    assert all(o.ok for o in outcomes)
    assert len({o.result for o in outcomes}) <= 2
    running = most = 0
    for name in sorted(os.listdir(tmp_path), key=lambda n: int(n.split("-")[0])):
        running += 1 if "-start-" in name else -1
        most = max(most, running)
    assert most <= 2


def test_threads_with_their_own_event_loops_share_one_pool(pool: WorkerPool) -> None:
    results: list[Any] = []
    errors: list[BaseException] = []

    def worker_thread(n: int) -> None:
        try:
            outcome = asyncio.run(pool.execute(request(f"import os\nresult = [{n}, os.getpid()]"),
                                               lambda s, t: None))
            results.append(outcome.result)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker_thread, args=(n,)) for n in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert errors == []
    assert sorted(r[0] for r in results) == [0, 1, 2, 3, 4]
    assert len({r[1] for r in results}) <= 2


def test_logs_are_delivered_on_the_callers_loop(pool: WorkerPool) -> None:
    seen: list[tuple[str, str, int]] = []

    async def scenario() -> None:
        loop_thread = threading.get_ident()
        await pool.execute(request("for i in range(3): print(i)"),
                           lambda s, t: seen.append((s, t, threading.get_ident())))
        assert {thread for _, _, thread in seen} == {loop_thread}

    asyncio.run(scenario())
    assert [(s, t) for s, t, _ in seen] == [("stdout", "0"), ("stdout", "1"), ("stdout", "2")]


def test_a_cancelled_wait_for_a_worker_loses_nothing(tmp_path: Path) -> None:
    """With one worker busy, a second execution gives up waiting; the worker is not lost."""
    pool = WorkerPool(size=1)
    try:
        async def scenario() -> Any:
            busy = asyncio.ensure_future(pool.execute(request("import time\ntime.sleep(0.3)"),
                                                      lambda s, t: None))
            await asyncio.sleep(0.05)
            with pytest.raises(asyncio.TimeoutError):
                await asyncio.wait_for(pool.execute(request("result = 'never'"),
                                                    lambda s, t: None), 0.05)
            await busy
            return await pool.execute(request("result = 'next'"), lambda s, t: None)

        assert asyncio.run(scenario()).result == "next"
        assert len(pool.idle_pids()) == 1
    finally:
        pool.close()


def test_a_large_scope_and_result_cross_the_pipes(pool: WorkerPool) -> None:
    big = "x" * 3_000_000
    req = {**request("result = {'n': len(inputs['big']), 'back': inputs['big'][:10]}"),
           "scope": {"inputs": {"big": big}}}
    outcome = asyncio.run(pool.execute(req, lambda s, t: None))
    assert outcome.result == {"n": 3_000_000, "back": "x" * 10}


def test_warm_up_starts_workers_before_the_first_node(pool: WorkerPool) -> None:
    pool.warm_up()
    deadline = time.monotonic() + 10
    while len(pool.idle_pids()) < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert len(pool.idle_pids()) == 2
    outcome = asyncio.run(pool.execute(request("import os\nresult = os.getpid()"),
                                       lambda s, t: None))
    assert outcome.result in pool.idle_pids()


def test_close_stops_every_worker_and_reaps_it() -> None:
    pool = WorkerPool(size=2)

    async def scenario() -> list[int]:
        outs = await asyncio.gather(*(pool.execute(request("import os, time\ntime.sleep(0.1)\n"
                                                           "result = os.getpid()"),
                                                   lambda s, t: None) for _ in range(2)))
        return [o.result for o in outs]

    pids = asyncio.run(scenario())
    pool.close()
    assert all(reaped(pid) for pid in pids)
    with pytest.raises(RuntimeError, match="shut down"):
        asyncio.run(pool.execute(request("result = 1"), lambda s, t: None))


def test_the_process_pool_is_closed_at_exit_with_no_process_left(tmp_path: Path) -> None:
    """An engine process that exits mid-run leaves neither its idle nor its busy worker."""
    busy_file = tmp_path / "busy.pid"
    script = ("import asyncio, os, sys, threading, time\n"
              "from engine.pyworker import get_pool\n"
              "def req(code): return {'code': code, 'scope': {}, 'env': {}, 'cwd': None}\n"
              "long = ('import os, time\\nopen(%r, \"w\").write(str(os.getpid()))\\n'\n"
              "        'time.sleep(30)') % sys.argv[1]\n"
              "threading.Thread(target=lambda: asyncio.run(get_pool().execute(req(long),"
              " lambda s, t: None)), daemon=True).start()\n"
              "while not (os.path.exists(sys.argv[1]) and open(sys.argv[1]).read()):\n"
              "    time.sleep(0.01)\n"
              "idle = asyncio.run(get_pool().execute(req('import os\\nresult = os.getpid()'),"
              " lambda s, t: None)).result\n"
              "print(idle, flush=True)\n")
    done = subprocess.run([sys.executable, "-c", script, str(busy_file)], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    idle_pid, busy_pid = int(done.stdout.strip()), int(busy_file.read_text())
    assert idle_pid != busy_pid
    assert gone(idle_pid) and gone(busy_pid)


def test_pool_size_comes_from_the_environment_or_configure(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLOWDESK_PYTHON_WORKERS", "3")
    assert _size_from_environment() == 3
    monkeypatch.setenv("FLOWDESK_PYTHON_WORKERS", "many")
    with pytest.raises(ValueError, match="FLOWDESK_PYTHON_WORKERS must be a whole number"):
        _size_from_environment()
    monkeypatch.setenv("FLOWDESK_PYTHON_WORKERS", "0")
    with pytest.raises(ValueError, match="at least 1"):
        _size_from_environment()
    monkeypatch.delenv("FLOWDESK_PYTHON_WORKERS")
    try:
        configure_pool(3)
        assert get_pool().size == 3
    finally:
        import engine.pyworker.pool as pool_module

        pool_module._configured_size = None
        shutdown_pool()
    assert get_pool().size == 2
    with pytest.raises(ValueError):
        WorkerPool(size=0)


def test_the_secret_filter() -> None:
    env = {"PATH": "/usr/bin", "HOME": "/root", "FLOWDESK_STORE": "sqlite:///x.db",
           "FLOWDESK_JWT_SECRET": "k", "DB_PASSWORD": "p", "SESSION_TOKEN": "t",
           "OPENAI_API_KEY": "sk", "MY_URL": "https://a:b@host/", "PLAIN_URL": "https://host/",
           "REPORTS": "postgresql+psycopg://host/db", "LANG": "C.UTF-8"}
    assert child_environment(base=env) == {"PATH": "/usr/bin", "HOME": "/root",
                                           "PLAIN_URL": "https://host/", "LANG": "C.UTF-8"}
    assert child_environment({"DB_PASSWORD": "given"}, base=env)["DB_PASSWORD"] == "given"
    assert is_secret_variable("github_token", "x")


def test_a_crashed_engine_leaves_no_python_work_running(tmp_path: Path) -> None:
    """kill -9 of the engine process: the worker and what its code started stop too."""
    pids = tmp_path / "pids"
    script = ("import asyncio, sys\n"
              "from engine.pyworker import get_pool\n"
              "code = ('import os, subprocess, time\\n'\n"
              "        'child = subprocess.Popen([\"sleep\", \"30\"])\\n'\n"
              "        'open(%r, \"w\").write(f\"{os.getpid()} {child.pid}\")\\n'\n"
              "        'time.sleep(30)') % sys.argv[1]\n"
              "asyncio.run(get_pool().execute({'code': code, 'scope': {}, 'env': {},"
              " 'cwd': None}, lambda s, t: None))\n")
    engine = subprocess.Popen([sys.executable, "-c", script, str(pids)], cwd=ROOT)
    try:
        deadline = time.monotonic() + 30
        while not (pids.exists() and pids.read_text()) and time.monotonic() < deadline:
            time.sleep(0.02)
        worker_pid, child_pid = (int(p) for p in pids.read_text().split())
        assert not gone(worker_pid, within_s=0)
    finally:
        engine.kill()
        engine.wait()
    assert gone(worker_pid) and gone(child_pid)
