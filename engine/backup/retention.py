"""Keeping a folder of automatic backups to a fixed number, oldest removed first."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from engine.backup.manifest import SUFFIX


def automatic_backup_name(prefix: str = "auto") -> str:
    """A file name that sorts by time: ``auto-20261129T231000123456Z.fdbackup``."""
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%fZ")
    return f"{prefix}-{stamp}{SUFFIX}"


def prune_backups(folder: str | Path, keep: int, *, pattern: str = f"*{SUFFIX}") -> list[Path]:
    """Delete all but the ``keep`` newest archives matching ``pattern``; return those deleted.

    Newest means latest modification time (then name). Only files matching
    ``pattern`` are considered, so pre-restore backups (``pre-restore-*``) are
    kept when pruning scheduled ones with ``pattern="auto-*.fdbackup"``.
    """
    if keep < 0:
        raise ValueError(f"keep must be 0 or more, not {keep}")
    folder = Path(folder)
    if not folder.is_dir():
        return []
    found = [p for p in folder.glob(pattern) if p.is_file()]
    found.sort(key=lambda p: (p.stat().st_mtime, p.name), reverse=True)
    removed = []
    for old in found[keep:]:
        old.unlink(missing_ok=True)
        removed.append(old)
    return removed
