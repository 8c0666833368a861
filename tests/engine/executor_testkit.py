"""Helpers for the executor tests: build small flows, run them on a store, read results."""

from __future__ import annotations

import threading
import time
from typing import Any

from engine.executor import execute_run
from engine.flowfile import flow_from_dict
from engine.model import Flow
from engine.runs import RunStore


def flow(nodes: list[dict[str, Any]], edges: list[Any], **top: Any) -> Flow:
    """A flow from compact node dicts and edges given as dicts or ``"a>b"`` strings."""
    doc: dict[str, Any] = {"format": "flowdesk/1", "name": top.pop("name", "test"),
                           "nodes": nodes, "edges": []}
    for e in edges:
        if isinstance(e, str):
            a, b = e.split(">")
            e = {"from": a, "to": b}
        doc["edges"].append(e)
    doc.update(top)
    return flow_from_dict(doc)


def node(id_: str, kind: str, **fields: Any) -> dict[str, Any]:
    return {"id": id_, "kind": kind, **fields}


def start() -> dict[str, Any]:
    return node("start", "start")


def end(id_: str = "end", **outputs: Any) -> dict[str, Any]:
    return node(id_, "end", config={"outputs": outputs}) if outputs else node(id_, "end")


def setv(id_: str, **vars_: Any) -> dict[str, Any]:
    return node(id_, "set", config={"vars": vars_})


def delay(id_: str, seconds: float, **fields: Any) -> dict[str, Any]:
    return node(id_, "delay", config={"seconds": seconds}, **fields)


def run(store: RunStore, f: Flow, inputs: dict[str, Any] | None = None,
        source: str | None = None) -> tuple[str, str, dict[str, Any]]:
    """Create and execute a run; (run id, final status, get_run document)."""
    run_id = store.create_run(f, inputs or {}, source=source)
    status = execute_run(store, run_id)
    return run_id, status, store.get_run(run_id)


def statuses(doc: dict[str, Any]) -> dict[str, str]:
    return {k: v["status"] for k, v in doc["nodes"].items()}


class Background:
    """Runs ``execute_run`` in a thread, as the desktop app does."""

    def __init__(self, store: RunStore, run_id: str) -> None:
        self.result: str | None = None
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._go, args=(store, run_id), daemon=True)
        self.thread.start()

    def _go(self, store: RunStore, run_id: str) -> None:
        try:
            self.result = execute_run(store, run_id)
        except BaseException as exc:  # noqa: BLE001 - handed to the test
            self.error = exc

    def join(self, timeout: float = 30) -> str:
        self.thread.join(timeout)
        assert not self.thread.is_alive(), "the executor did not finish"
        if self.error:
            raise self.error
        assert self.result is not None
        return self.result


def wait_for(predicate: Any, timeout: float = 15.0) -> None:
    """Poll until ``predicate()`` is true (the store is shared with another thread)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.02)
