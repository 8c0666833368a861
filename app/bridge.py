"""The one door from the engine to the GUI.

A background thread follows the store's event log (``events_after``, about
every 100 ms) and hands each batch of new events to the GUI thread through ONE
queued signal, :attr:`EngineBridge.events`. Runs started from this app execute
in their own threads (``execute_run`` is blocking and owns its event loop);
their progress comes back the same way as that of runs started by the command
line or another process on the same store, because everything reads the one
log. Nothing here blocks the GUI thread.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Qt, Signal, Slot

if TYPE_CHECKING:
    from engine.runs import RunStore

POLL_S = 0.1
THREAD_PREFIX = "flowdesk-"


class _Relay(QObject):
    """Lives in the GUI thread; worker threads emit through it (queued by Qt)."""

    batch = Signal(int, list)       # follow generation, events
    finished = Signal(str, str)     # run_id, final status or "error: message"
    health = Signal(int, str)       # follow generation; "" when the store answers again


class EngineBridge(QObject):
    """Follows one store's event log and runs flows off the GUI thread."""

    events = Signal(list)               # list[dict]: one batch of store events, ascending ids
    runFinished = Signal(str, str)      # run_id, status ("succeeded", …) or "error"
    runError = Signal(str, str)         # run_id, one-sentence message
    activeChanged = Signal(int)         # how many runs this app is executing
    storeProblem = Signal(str)          # the store stopped answering ("" when it is back)

    def __init__(self, store: RunStore | None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.store = store
        self._relay = _Relay()
        self._relay.batch.connect(self._deliver, Qt.ConnectionType.QueuedConnection)
        self._relay.finished.connect(self._run_done, Qt.ConnectionType.QueuedConnection)
        self._relay.health.connect(self._health, Qt.ConnectionType.QueuedConnection)
        # each start() follows anew: what an old follower (another store) had queued is dropped
        self._generation = 0
        self._stop_follow = threading.Event()
        self._follower: threading.Thread | None = None
        self._runs: dict[str, tuple[threading.Thread, threading.Event]] = {}
        self._lock = threading.Lock()
        self.last_id = 0

    # -- following the log ---------------------------------------------------
    def start(self, after_id: int | None = None) -> None:
        """Start following the log after ``after_id`` (default: its current end)."""
        if self._follower is not None or self.store is None:
            return
        self.last_id = self.store.last_event_id() if after_id is None else after_id
        self._stop_follow.clear()
        self._generation += 1
        self._follower = threading.Thread(target=self._follow, args=(self._generation,),
                                          name=f"{THREAD_PREFIX}events", daemon=True)
        self._follower.start()

    def _follow(self, generation: int) -> None:
        from engine.errors import describe_exception

        after = self.last_id
        failing = False
        while not self._stop_follow.is_set():
            try:
                batch = self.store.events_after(after, limit=2000)
            except Exception as exc:  # noqa: BLE001 - say so once, keep trying
                if not failing:
                    self._relay.health.emit(generation, describe_exception(exc))
                failing = True
                self._stop_follow.wait(1.0)
                continue
            if failing:
                self._relay.health.emit(generation, "")
                failing = False
            if batch:
                after = batch[-1]["id"]
                self._relay.batch.emit(generation, batch)
                if len(batch) == 2000:
                    continue
            self._stop_follow.wait(POLL_S)

    @Slot(int, str)
    def _health(self, generation: int, problem: str) -> None:
        if generation == self._generation:
            self.storeProblem.emit(problem)

    @Slot(int, list)
    def _deliver(self, generation: int, batch: list[dict[str, Any]]) -> None:
        if generation != self._generation:
            return  # queued by the follower of a store no longer followed
        if batch:
            self.last_id = max(self.last_id, batch[-1]["id"])
        self.events.emit(batch)

    # -- executing runs --------------------------------------------------------
    def execute(self, run_id: str) -> None:
        """Execute ``run_id`` in its own thread; progress arrives through :attr:`events`."""
        if not getattr(self.store, "runs_locally", True):
            return  # a server's store: the server executes its runs
        stop = threading.Event()
        thread = threading.Thread(target=self._execute, args=(run_id, stop),
                                  name=f"{THREAD_PREFIX}run-{run_id[:8]}", daemon=True)
        with self._lock:
            self._runs[run_id] = (thread, stop)
        thread.start()
        self.activeChanged.emit(self.active_count())

    def _execute(self, run_id: str, stop: threading.Event) -> None:
        from engine.errors import describe_exception
        from engine.executor import execute_run

        try:
            status = execute_run(self.store, run_id, stop=stop)
        except Exception as exc:  # noqa: BLE001 - shown to the user as one sentence
            status = f"error: {describe_exception(exc)}"
        self._relay.finished.emit(run_id, str(status))

    @Slot(str, str)
    def _run_done(self, run_id: str, status: str) -> None:
        with self._lock:
            entry = self._runs.pop(run_id, None)
        if entry is not None:
            entry[0].join(timeout=5)
        if status.startswith("error: "):
            self.runError.emit(run_id, status[len("error: "):])
            self.runFinished.emit(run_id, "error")
        else:
            self.runFinished.emit(run_id, status)
        self.activeChanged.emit(self.active_count())

    def resume_orphans(self) -> list[str]:
        """Take over runs left ``running`` with no live owner (a crash, a pause, a restore).

        Only ``running`` runs: a ``pending`` one may be about to be claimed by the
        process that created it, and a ``waiting`` one needs a decision first.
        """
        from engine.runs import owner_alive

        if self.store is None:
            return []
        mine = set(self.active_runs())
        try:
            rows = self.store.unfinished_runs()
        except Exception:  # noqa: BLE001 - nothing to resume on a store we cannot read
            return []
        ids = [r["id"] for r in rows if r["status"] == "running" and not r["parent_run_id"]
               and r["id"] not in mine and not owner_alive(r["owner"], r["lease_until"])]
        for run_id in ids:
            self.execute(run_id)
        return ids

    def active_count(self) -> int:
        with self._lock:
            return sum(1 for t, _ in self._runs.values() if t.is_alive())

    def active_runs(self) -> list[str]:
        with self._lock:
            return [r for r, (t, _) in self._runs.items() if t.is_alive()]

    def pause_runs(self, timeout: float = 30.0) -> list[str]:
        """Stop every executor thread of this app (runs stay resumable); returns their ids."""
        with self._lock:
            entries = dict(self._runs)
        for _, stop in entries.values():
            stop.set()
        for thread, _ in entries.values():
            thread.join(timeout)
        with self._lock:
            for run_id in entries:
                self._runs.pop(run_id, None)
        self.activeChanged.emit(self.active_count())
        return list(entries)

    # -- shutting down ---------------------------------------------------------
    def stop(self, timeout: float = 30.0) -> None:
        """Stop following and stop executing; waits for every thread."""
        self.pause_runs(timeout)
        self._stop_follow.set()
        self._generation += 1  # what the stopped follower had queued is dropped
        if self._follower is not None:
            self._follower.join(timeout)
            self._follower = None

    def set_store(self, store: RunStore | None) -> None:
        """Follow another store (after a profile switch or a restore)."""
        following = self._follower is not None
        self.stop()
        self.store = store
        if following:
            self.start()


def live_threads() -> list[threading.Thread]:
    """Bridge threads still alive (tests assert none are left)."""
    return [t for t in threading.enumerate() if t.name.startswith(THREAD_PREFIX) and t.is_alive()]
