"""The run/monitor window: every run of the current store, live (see :class:`RunMonitor`)."""

from __future__ import annotations

from app.monitor.window import RunMonitor

__all__ = ["RunMonitor"]
