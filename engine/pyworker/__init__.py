"""Warm Python worker processes that run ``python`` nodes outside the engine.

``get_pool().execute(request, log)`` runs code on a warm worker and returns an
:class:`Outcome`; the pool is bounded (``FLOWDESK_PYTHON_WORKERS``, default 2),
kills and replaces a worker whose execution is cancelled, and closes at exit.
``child.py`` is the worker side and imports nothing from the engine.
"""

from __future__ import annotations

from engine.pyworker.pool import (
    DEFAULT_SIZE,
    WorkerPool,
    configure_pool,
    get_pool,
    shutdown_pool,
)
from engine.pyworker.worker import Outcome, Worker, WorkerDied

__all__ = ["DEFAULT_SIZE", "Outcome", "Worker", "WorkerDied", "WorkerPool", "configure_pool",
           "get_pool", "shutdown_pool"]
