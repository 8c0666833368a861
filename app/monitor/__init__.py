"""The run/monitor window: every run of the current store, live (see :class:`RunMonitor`).

``RunMonitor`` is imported on first use, so the main window can use the small
helpers of this package (times, colours) without loading the whole window.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from app.monitor.window import RunMonitor

__all__ = ["RunMonitor"]


def __getattr__(name: str) -> Any:
    if name == "RunMonitor":
        from app.monitor.window import RunMonitor

        return RunMonitor
    raise AttributeError(name)
