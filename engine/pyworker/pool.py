"""A bounded pool of warm Python workers, shared by every run in the engine process.

A short ``python`` node should not pay an interpreter start: a worker that
finished an execution goes back to the pool and serves the next one (fresh
globals each time). A worker whose execution was cancelled (a timeout, a
cancel) is killed with its whole process group and replaced in the background.
Acquiring is safe from any thread and any event loop. The pool is closed at
interpreter exit, leaving no process behind.
"""

from __future__ import annotations

import asyncio
import atexit
import concurrent.futures
import os
import threading
from collections import deque
from typing import Any

from engine.procs import kill_group_async
from engine.pyworker.worker import Log, Outcome, Worker, WorkerDied

__all__ = ["DEFAULT_SIZE", "WorkerPool", "configure_pool", "get_pool", "shutdown_pool"]

DEFAULT_SIZE = 2
"""Workers at most, unless FLOWDESK_PYTHON_WORKERS or :func:`configure_pool` says otherwise."""


class WorkerPool:
    """At most ``size`` workers; an execution waits for a free one when all are busy."""

    def __init__(self, size: int = DEFAULT_SIZE) -> None:
        if size < 1:
            raise ValueError("the Python worker pool needs at least one worker")
        self.size = size
        self._lock = threading.Lock()
        self._idle: list[Worker] = []          # last in, first out: the warmest first
        self._busy: set[Worker] = set()
        self._count = 0                         # idle + busy + being started
        self._waiters: deque[concurrent.futures.Future[Worker]] = deque()
        self._closed = False

    # -- public face --------------------------------------------------------------------

    async def execute(self, request: dict[str, Any], log: Log) -> Outcome:
        """Run one request on a warm worker; on cancel, kill that worker and re-raise."""
        worker = await self._acquire()
        try:
            outcome = await worker.execute(request, log)
        except asyncio.CancelledError:
            await self._discard_now(worker)
            raise
        except BaseException:
            self._discard(worker)
            raise
        self._release(worker)
        return outcome

    def warm_up(self, count: int | None = None) -> None:
        """Start workers now (in the background) so the first node finds one warm."""
        wanted = self.size if count is None else min(count, self.size)
        with self._lock:
            starts = max(0, wanted - self._count) if not self._closed else 0
            self._count += starts
        for _ in range(starts):
            self._start_in_background()

    def idle_pids(self) -> list[int]:
        with self._lock:
            return [w.pid for w in self._idle]

    def close(self) -> None:
        """Stop every worker: idle ones exit cleanly, busy ones are killed."""
        with self._lock:
            self._closed = True
            idle, busy = list(self._idle), list(self._busy)
            self._idle.clear()
            self._busy.clear()
            waiters = list(self._waiters)
            self._waiters.clear()
        for waiter in waiters:
            if waiter.set_running_or_notify_cancel():
                waiter.set_exception(RuntimeError("the Python worker pool was shut down"))
        for worker in busy:
            worker.kill()
        for worker in idle:
            worker.close()

    # -- bookkeeping --------------------------------------------------------------------

    async def _acquire(self) -> Worker:
        with self._lock:
            if self._closed:
                raise RuntimeError("the Python worker pool was shut down")
            while self._idle:
                worker = self._idle.pop()
                if worker.alive:
                    self._busy.add(worker)
                    return worker
                self._count -= 1
            if self._count < self.size:
                self._count += 1
                waiter = None
            else:
                waiter = concurrent.futures.Future()
                self._waiters.append(waiter)
        if waiter is None:
            try:
                worker = Worker()
            except BaseException:
                with self._lock:
                    self._count -= 1
                raise
            with self._lock:
                self._busy.add(worker)
            return worker
        try:
            return await asyncio.wrap_future(waiter)
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled() and waiter.exception() is None:
                self._release(waiter.result())  # handed over just as we were cancelled
            raise

    def _release(self, worker: Worker) -> None:
        with self._lock:
            self._busy.discard(worker)
            if self._closed:
                closing = True
            else:
                closing = False
                if not worker.alive:
                    replace = True  # keeps its place in _count for the replacement
                else:
                    replace = False
                    while self._waiters:
                        waiter = self._waiters.popleft()
                        if waiter.set_running_or_notify_cancel():
                            self._busy.add(worker)
                            waiter.set_result(worker)
                            return
                    self._idle.append(worker)
        if closing:
            worker.close()
        elif replace:
            self._start_in_background()

    def _discard(self, worker: Worker) -> None:
        """Kill ``worker`` and start its replacement, both off this thread."""
        with self._lock:
            self._busy.discard(worker)
        threading.Thread(target=worker.kill, name="pyworker-kill", daemon=True).start()
        self._start_in_background()

    async def _discard_now(self, worker: Worker) -> None:
        """Kill ``worker``'s process group before returning; replace it in the background."""
        with self._lock:
            self._busy.discard(worker)
        try:
            await kill_group_async(worker.pid)
        finally:
            threading.Thread(target=worker.kill, name="pyworker-kill", daemon=True).start()
            self._start_in_background()

    def _start_in_background(self) -> None:
        """Start one worker (already counted in ``_count``) and hand it out when ready."""

        def start() -> None:
            with self._lock:
                closed = self._closed
            if closed:
                with self._lock:
                    self._count -= 1
                return
            try:
                worker = Worker()
            except Exception as exc:  # noqa: BLE001 - handed to whoever waits
                with self._lock:
                    self._count -= 1
                    waiter = self._waiters.popleft() if self._waiters else None
                if waiter is not None and waiter.set_running_or_notify_cancel():
                    waiter.set_exception(WorkerDied(f"a Python worker could not start: {exc}"))
                return
            with self._lock:
                self._busy.add(worker)
            self._release(worker)

        threading.Thread(target=start, name="pyworker-start", daemon=True).start()


_pool: WorkerPool | None = None
_pool_lock = threading.Lock()
_configured_size: int | None = None


def _size_from_environment() -> int:
    text = os.environ.get("FLOWDESK_PYTHON_WORKERS", "").strip()
    if not text:
        return DEFAULT_SIZE
    try:
        size = int(text)
    except ValueError:
        raise ValueError(f"FLOWDESK_PYTHON_WORKERS must be a whole number, not {text!r}") from None
    if size < 1:
        raise ValueError("FLOWDESK_PYTHON_WORKERS must be at least 1")
    return size


def get_pool() -> WorkerPool:
    """The engine process's pool, created on first use (and closed at exit)."""
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = WorkerPool(_configured_size or _size_from_environment())
        return _pool


def configure_pool(size: int) -> None:
    """Set the pool size; a running pool is closed and the next use starts a new one."""
    global _configured_size
    if size < 1:
        raise ValueError("the Python worker pool needs at least one worker")
    _configured_size = size
    shutdown_pool()


def shutdown_pool() -> None:
    """Close the pool now (also done at interpreter exit)."""
    global _pool
    with _pool_lock:
        pool, _pool = _pool, None
    if pool is not None:
        pool.close()


def _forget_after_fork() -> None:
    """A forked child must not share (or kill) its parent's workers."""
    global _pool, _pool_lock
    _pool = None
    _pool_lock = threading.Lock()


atexit.register(shutdown_pool)
os.register_at_fork(after_in_child=_forget_after_fork)
