"""Helpers for tests that check processes really stopped."""

from __future__ import annotations

import os
import time
from pathlib import Path


def gone(pid: int, within_s: float = 3.0) -> bool:
    """The process no longer runs: it does not exist, or is a zombie nobody reaped yet.

    (PID 1 on these machines never reaps orphans, so a killed orphan stays a zombie.)
    """
    deadline = time.monotonic() + within_s
    while True:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
            if stat[stat.rfind(")") + 2:].split()[0] in ("Z", "X"):
                return True
        except OSError:
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
