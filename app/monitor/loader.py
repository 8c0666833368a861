"""Reads a run's details off the GUI thread, one request at a time, newest wins.

The monitor asks for a run (its snapshot, states, attempts) and one node's
logs; the reading happens in a thread and the result comes back through one
queued signal. Requests made while one is in flight are coalesced into the
latest, so a burst of events costs at most one more read.
"""

from __future__ import annotations

import threading
from typing import Any

from PySide6.QtCore import QObject, Qt, Signal, Slot

from engine.errors import describe_exception

FIRST_NODE_ORDER = ("failed", "waiting", "running")


def interesting_node(run: dict[str, Any], definition: dict[str, Any] | None) -> str | None:
    """The node a person wants first: a failed one, a waiting one, a running one, else the first."""
    nodes = run.get("nodes") or {}
    for wanted in FIRST_NODE_ORDER:
        for node_id, state in nodes.items():
            if state.get("status") == wanted:
                return str(node_id)
    order = [n.get("id") for n in (definition or {}).get("nodes", [])]
    return str(order[0]) if order else (next(iter(nodes), None))


def read_detail(store: Any, run_id: str, node_id: str | None,
                want_definition: bool) -> dict[str, Any]:
    """Everything the monitor shows about one run (and one node of it)."""
    out: dict[str, Any] = {"run_id": run_id}
    definition = None
    if want_definition:
        definition = store.run_row(run_id)["definition"]
        out["definition"] = definition
    out["run"] = store.get_run(run_id)
    out["attempts"] = store.attempts(run_id)
    if node_id is None:
        node_id = interesting_node(out["run"], definition)
    out["node_id"] = node_id
    out["logs"] = store.node_logs(run_id, node_id) if node_id else []
    return out


class DetailLoader(QObject):
    """``loaded(generation, payload)``; a payload with ``error`` says why reading failed."""

    loaded = Signal(int, object)
    _done = Signal(int, object)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._thread: threading.Thread | None = None
        self._pending: tuple[Any, ...] | None = None
        self._done.connect(self._finished, Qt.ConnectionType.QueuedConnection)

    def request(self, store: Any, run_id: str, node_id: str | None, want_definition: bool,
                generation: int) -> None:
        job = (store, run_id, node_id, want_definition, generation)
        if self._thread is not None and self._thread.is_alive():
            if self._pending is not None and self._pending[1] == run_id:
                # keep asking for the definition if the coalesced request needed it
                job = (*job[:3], job[3] or self._pending[3], job[4])
            self._pending = job
            return
        self._start(job)

    def _start(self, job: tuple[Any, ...]) -> None:
        store, run_id, node_id, want_definition, generation = job

        def work() -> None:
            try:
                payload = read_detail(store, run_id, node_id, want_definition)
            except Exception as exc:  # noqa: BLE001 - shown as one sentence
                payload = {"run_id": run_id, "error": describe_exception(exc)}
            self._done.emit(generation, payload)

        self._thread = threading.Thread(target=work, name="flowdesk-detail", daemon=True)
        self._thread.start()

    @Slot(int, object)
    def _finished(self, generation: int, payload: object) -> None:
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None
        pending, self._pending = self._pending, None
        if pending is not None:
            self._start(pending)
        self.loaded.emit(generation, payload)

    def wait(self, timeout: float = 10.0) -> None:
        """Let the read in flight finish (before the store is closed)."""
        self._pending = None
        if self._thread is not None:
            self._thread.join(timeout)
