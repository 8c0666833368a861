"""Verified backups of a store, portable between SQLite and PostgreSQL.

An archive (``*.fdbackup``) is a zip with ``manifest.json`` and one gzip JSON
Lines part per table; see ``docs/operations.md`` for how to use it. The app's
menu actions and the ``flowdesk backup/restore/verify`` commands both call
the functions here.
"""

from __future__ import annotations

from engine.backup.create import create_backup, flowdesk_version
from engine.backup.errors import BackupError, BackupRefused
from engine.backup.manifest import FORMAT, FORMAT_VERSION, SUFFIX, Manifest, TablePart
from engine.backup.restore import RestoreResult, live_runs, restore_backup, verify_backup
from engine.backup.retention import automatic_backup_name, prune_backups

__all__ = [
    "FORMAT",
    "FORMAT_VERSION",
    "SUFFIX",
    "BackupError",
    "BackupRefused",
    "Manifest",
    "RestoreResult",
    "TablePart",
    "automatic_backup_name",
    "create_backup",
    "flowdesk_version",
    "live_runs",
    "prune_backups",
    "restore_backup",
    "verify_backup",
]
