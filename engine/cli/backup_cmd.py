"""``flowdesk backup FILE``, ``flowdesk restore FILE [--force]``, ``flowdesk verify FILE``.

Exit codes: 0 done, 1 refused (a damaged or foreign archive, a non-empty store
without ``--force``, runs still being executed), 2 usage (a missing file, a bad
store URL).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

from engine.cli import CliError, add_store_option


def register(sub: Any) -> None:
    p = sub.add_parser("backup", help="write a verified backup archive of a store")
    p.add_argument("file", metavar="FILE", help="the archive to write (e.g. store.fdbackup)")
    add_store_option(p)
    p.set_defaults(handler=backup_cmd)

    p = sub.add_parser("restore", help="replace a store's contents with a backup archive")
    p.add_argument("file", metavar="FILE")
    p.add_argument("--force", action="store_true",
                   help="replace a non-empty store (its state is saved first) and do not "
                        "wait for runs still being executed")
    add_store_option(p)
    p.set_defaults(handler=restore_cmd)

    p = sub.add_parser("verify", help="check a backup archive without restoring it")
    p.add_argument("file", metavar="FILE")
    p.set_defaults(handler=verify_cmd)


def _open(url: str | None) -> Any:
    from engine.store import StoreError, open_engine

    try:
        return open_engine(url)
    except StoreError as exc:
        raise CliError(str(exc), 2) from None


def _progress() -> Any:
    """A progress callback that redraws one line on a terminal's stderr (none otherwise)."""
    if not sys.stderr.isatty():
        return None
    last = [0.0]

    def show(done: int, total: int, message: str) -> None:
        now = time.monotonic()
        if now - last[0] < 0.2 and done < total:
            return
        last[0] = now
        pct = 100 * done // total if total else 100
        print(f"\r\033[K{message}: {pct}%", end="", file=sys.stderr, flush=True)

    return show


def _clear_progress() -> None:
    if sys.stderr.isatty():
        print("\r\033[K", end="", file=sys.stderr, flush=True)


def _mb(path: Path) -> str:
    return f"{path.stat().st_size / 1e6:.1f} MB"


def _summary(m: Any) -> str:
    return (f"{m.row_counts.get('runs', 0)} runs, {m.total_rows} rows in {len(m.tables)} "
            f"tables")


def backup_cmd(args: argparse.Namespace) -> int:
    from engine.backup import BackupError, create_backup

    path = Path(args.file)
    if path.exists():
        raise CliError(f"'{path}' already exists; choose another name or delete it first", 1)
    engine = _open(args.store)
    try:
        manifest = create_backup(engine, path, progress=_progress())
    except BackupError as exc:
        raise CliError(str(exc), 1) from None
    finally:
        _clear_progress()
        engine.dispose()
    print(f"backed up {_summary(manifest)} to {path} ({_mb(path)})")
    return 0


def verify_cmd(args: argparse.Namespace) -> int:
    from engine.backup import BackupError, verify_backup

    path = Path(args.file)
    if not path.is_file():
        raise CliError(f"'{path}' does not exist or is not a file", 2)
    try:
        m = verify_backup(path, progress=_progress())
    except BackupError as exc:
        raise CliError(str(exc), 1) from None
    finally:
        _clear_progress()
    print(f"{path}: a good Flowdesk backup of a {m.source_dialect} store taken "
          f"{m.created_at} by Flowdesk {m.flowdesk_version} at schema revision "
          f"{m.schema_revision}: {_summary(m)}, every checksum matches")
    return 0


def restore_cmd(args: argparse.Namespace) -> int:
    from engine.backup import BackupError, BackupRefused, live_runs, restore_backup

    path = Path(args.file)
    if not path.is_file():
        raise CliError(f"'{path}' does not exist or is not a file", 2)
    engine = _open(args.store)
    try:
        busy = live_runs(engine)
        if busy and not args.force:
            raise CliError(f"{len(busy)} run(s) are being executed right now (e.g. {busy[0]}); "
                           "stop the workers and the app first, or use --force", 1)
        result = restore_backup(engine, path, force=args.force, progress=_progress())
    except BackupRefused as exc:
        raise CliError(str(exc), 1) from None
    except BackupError as exc:
        raise CliError(str(exc), 1) from None
    finally:
        _clear_progress()
        engine.dispose()
    print(f"restored {_summary(result.manifest)} from {path}")
    if result.pre_restore_path:
        print(f"the previous contents were saved to {result.pre_restore_path}; restore that "
              "file with --force to undo", file=sys.stderr)
    return 0
