"""The embedded worker: runs started through the API execute in this process's threads.

With ``flowdesk serve --no-worker`` there is none: runs are created detached and
``flowdesk worker`` processes (sharing the store) claim them. Each run executes
in a thread with :func:`engine.executor.execute_run`; a run already being
executed (by this process or another live one) is left to its owner.
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import Future, ThreadPoolExecutor

from engine.runs import RunBusy, RunStore

log = logging.getLogger("flowdesk.server.worker")


class EmbeddedWorker:
    def __init__(self, store: RunStore, *, threads: int = 8) -> None:
        self.store = store
        self.stop = threading.Event()
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="flowdesk-run")
        self._lock = threading.Lock()
        self._active: dict[str, Future[None]] = {}
        self._again: set[str] = set()

    def submit(self, run_id: str) -> None:
        """Execute (or continue) a run soon; a no-op after :meth:`close`."""
        if self.stop.is_set():
            return
        with self._lock:
            if run_id in self._active:  # running here: go round once more when it returns
                self._again.add(run_id)
                return
            self._active[run_id] = self._pool.submit(self._execute, run_id)

    def _execute(self, run_id: str) -> None:
        from engine.executor import execute_run

        while True:
            try:
                execute_run(self.store, run_id, stop=self.stop)
            except RunBusy:
                pass  # another live process owns it and will finish it
            except Exception:  # noqa: BLE001 - a worker thread must not die silently
                log.exception("run %s stopped with an unexpected error", run_id)
            with self._lock:
                if run_id in self._again and not self.stop.is_set():
                    self._again.discard(run_id)
                    continue
                self._active.pop(run_id, None)
                return

    def active(self) -> int:
        with self._lock:
            return len(self._active)

    def close(self) -> None:
        """Ask every run to stop at its next durable step; unfinished ones resume later."""
        self.stop.set()
        self._pool.shutdown(wait=True, cancel_futures=True)
