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
        while True:
            try:
                self._execute_with_parents(run_id)
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

    def _execute_with_parents(self, run_id: str) -> None:
        """Execute a run, then the parent runs (subflows) that were waiting on it."""
        from engine.executor import execute_run
        from engine.runs import TERMINAL_RUN, owner_alive

        current = run_id
        status = execute_run(self.store, current, stop=self.stop)
        while status in TERMINAL_RUN and not self.stop.is_set():
            parent = self.store.run_row(current)["parent_run_id"]
            if not parent:
                return
            row = self.store.run_row(parent)
            if row["status"] in TERMINAL_RUN or owner_alive(row["owner"], row["lease_until"]):
                return
            current, status = parent, execute_run(self.store, parent, stop=self.stop)

    def take_over_orphans(self) -> list[str]:
        """Submit the unfinished, non-detached top-level runs whose owner is gone.

        Called when the server starts, so runs cut off by a crash (of this server or of
        a ``flowdesk run``) continue; detached runs are left to ``flowdesk worker``, and a
        run nobody has started yet to the process that created it (as workers do).
        """
        from engine.runs import owner_alive

        taken = []
        for run in self.store.unfinished_runs():
            if run["detached"] or run["parent_run_id"]:
                continue
            if run["owner"] is None and run["started_at"] is None:
                continue  # just created: the process that created it is about to start it
            if owner_alive(run["owner"], run["lease_until"]):
                continue
            self.submit(run["id"])
            taken.append(run["id"])
        if taken:
            log.info("continuing %d run(s) whose process is gone", len(taken))
        return taken

    def active(self) -> int:
        with self._lock:
            return len(self._active)

    def close(self) -> None:
        """Ask every run to stop at its next durable step; unfinished ones resume later."""
        self.stop.set()
        self._pool.shutdown(wait=True, cancel_futures=True)
