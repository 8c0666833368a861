"""Store calls off the GUI thread: ``call(fn, on_done)`` runs ``fn`` in a thread.

Creating a run, cancelling, approving or retrying are single store calls, but
on a PostgreSQL server far away, or a Flowdesk server, each is a network round
trip; the GUI must not wait for it. ``on_done(result, error)`` is called back
in the GUI thread (``error`` is one sentence, or ``""``).
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Qt, Signal, Slot

from engine.errors import describe_exception

Done = Callable[[Any, str], None]


class Background(QObject):
    """Runs small jobs in threads and calls back in the GUI thread."""

    _finished = Signal(int, object, str)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._ids = itertools.count(1)
        self._jobs: dict[int, tuple[threading.Thread, Done]] = {}
        self._finished.connect(self._deliver, Qt.ConnectionType.QueuedConnection)

    def call(self, fn: Callable[[], Any], on_done: Done) -> None:
        job_id = next(self._ids)

        def work() -> None:
            try:
                result, error = fn(), ""
            except Exception as exc:  # noqa: BLE001 - one sentence for the user
                result, error = None, describe_exception(exc)
            self._finished.emit(job_id, result, error)

        thread = threading.Thread(target=work, name="flowdesk-call", daemon=True)
        self._jobs[job_id] = (thread, on_done)
        thread.start()

    @Slot(int, object, str)
    def _deliver(self, job_id: int, result: object, error: str) -> None:
        thread, on_done = self._jobs.pop(job_id)
        thread.join(5)
        on_done(result, error)

    @property
    def busy(self) -> bool:
        return bool(self._jobs)

    def wait(self, timeout: float = 30.0) -> None:
        """Let every job in flight finish (their callbacks are dropped)."""
        for thread, _ in list(self._jobs.values()):
            thread.join(timeout)
