"""What one server process holds: the store's engine and the services built on it.

Nothing here is state that other servers would need: users, tokens, failure
counts, flows and runs all live in the store.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from sqlalchemy import Engine

from engine.auth.throttle import LoginThrottle
from engine.auth.tokens import TokenService
from engine.runs import RunStore
from engine.server.metrics import Metrics
from engine.server.worker import EmbeddedWorker


@dataclass
class ServerState:
    engine: Engine
    tokens: TokenService
    throttle: LoginThrottle
    runs: RunStore
    worker: EmbeddedWorker | None
    metrics: Metrics = field(default_factory=Metrics)
    closing: threading.Event = field(default_factory=threading.Event)  # ends event streams

    def start_run(self, run_id: str) -> None:
        """Hand a run (new, decided or retried) to this process's worker, if it has one."""
        if self.worker is not None:
            self.worker.submit(run_id)
