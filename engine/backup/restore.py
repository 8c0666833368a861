"""Verifying and restoring archives, and noticing executors that still write to a store.

A restore reads the whole archive once to check it before anything changes,
brings an archive from an older schema revision up to date (:mod:`.upgrade`),
refuses a non-empty store unless forced, saves the current state as an
automatic pre-restore backup, then replaces every table's rows in one
transaction and checks the counts before committing. Any failure rolls the
transaction back, so the store is either fully restored or untouched.
"""

from __future__ import annotations

import datetime as dt
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from zipfile import ZipFile

from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, Table, select, text
from sqlalchemy.exc import IntegrityError

from engine.backup.archive import open_archive, read_batches
from engine.backup.codec import RowDecoder, table_columns
from engine.backup.create import Progress, backup_tables, count_rows, create_backup
from engine.backup.errors import BackupError, BackupRefused
from engine.backup.loader import TableLoader
from engine.backup.manifest import SUFFIX, Manifest, TablePart
from engine.store.db import MIGRATIONS, current_revision, describe, head_revision, write_transaction
from engine.store.schema import runs


@dataclass(frozen=True)
class RestoreResult:
    """What a restore did: the archive's manifest, rows written, and the undo archive."""

    manifest: Manifest
    rows: int
    pre_restore_path: Path | None


def verify_backup(path: str | Path, *, progress: Progress | None = None,
                  check_rows: bool = True) -> Manifest:
    """Read the whole archive and return its manifest, or raise :class:`BackupError`.

    Checks the zip, the manifest's own checksum, the format version, that the
    schema revision is one this Flowdesk knows, and every part's size, sha256,
    gzip stream and row count; with ``check_rows`` also that every row parses
    (a restore skips that: it parses every row anyway, inside its transaction).
    """
    path = Path(path)
    report = progress or (lambda done, total, message: None)
    with open_archive(path) as (zf, manifest):
        _check_revision_known(manifest, f"'{path}'")
        done = 0
        for part in manifest.tables:
            report(done, manifest.total_rows, f"verifying {part.table}")
            decoder = RowDecoder(part.columns)
            damaged = False
            # A damaged row is reported only if the part's checksum matched: a checksum
            # mismatch (raised by read_part at the end) is the clearer sentence.
            for batch in read_batches(zf, part, f"'{path}'"):
                damaged = damaged or (check_rows and not _decodes(decoder, batch))
                done += len(batch)
                report(done, manifest.total_rows, f"verifying {part.table}")
            if damaged:
                raise BackupError(f"'{path}' is damaged: a row of the {part.table} table "
                                  "cannot be read")
        report(done, manifest.total_rows, "verified")
    return manifest


def _decodes(decoder: RowDecoder, lines: list[bytes]) -> bool:
    try:
        decoder.decode_many(lines)
    except (ValueError, TypeError, KeyError, IndexError, AttributeError):
        return False
    return True


def _check_revision_known(manifest: Manifest, where: str) -> None:
    known = {r.revision for r in ScriptDirectory(str(MIGRATIONS)).walk_revisions()}
    if manifest.schema_revision not in known:  # exact ids: no prefix matching here
        raise BackupError(f"{where} was made by a newer Flowdesk ({manifest.flowdesk_version}, "
                          f"schema revision {manifest.schema_revision}) than this one, which "
                          f"knows schema revisions up to {head_revision()}")


def _check_revision(manifest: Manifest, engine: Engine, where: str) -> bool:
    """Whether the archive needs upgrading first; refuse what cannot be made to fit."""
    store_rev = current_revision(engine)
    if store_rev != head_revision():
        raise BackupError(f"the store is at schema revision {store_rev}, not this Flowdesk's "
                          f"{head_revision()}; open it with this Flowdesk first to upgrade it")
    if manifest.schema_revision == store_rev:
        return False
    script = ScriptDirectory(str(MIGRATIONS))
    older = {r.revision for r in script.walk_revisions(base="base", head=store_rev)}
    if manifest.schema_revision not in older:
        raise BackupError(f"{where} was taken at schema revision {manifest.schema_revision}, "
                          f"which is not on this Flowdesk's upgrade path to {store_rev}")
    return True


def _check_fits(manifest: Manifest, where: str) -> None:
    """The archive (at the store's revision) must hold exactly the store's tables and columns."""
    wanted = {t.name: table_columns(t) for t in backup_tables()}
    have = {p.table: p.columns for p in manifest.tables}
    for name in sorted(wanted.keys() | have.keys()):
        if name not in have:
            raise BackupError(f"{where} has no part for the table {name}")
        if name not in wanted:
            raise BackupError(f"{where} holds a table {name} that this store does not have")
        if have[name] != wanted[name]:
            raise BackupError(f"{where} has other columns for the table {name} than this store")


def live_runs(engine: Engine) -> list[str]:
    """Ids of runs an executor is working on now: ``running`` with a live owner.

    An owner is live while its lease has not expired, or, on this host, while
    its process exists (owners are ``host:pid:token``).
    """
    from engine.runs import owner_alive

    now = time.time()
    with engine.connect() as conn:
        rows = conn.execute(select(runs.c.id, runs.c.owner, runs.c.lease_until)
                            .where(runs.c.status == "running", runs.c.owner.is_not(None))
                            .order_by(runs.c.id)).all()
    return [run_id for run_id, owner, lease_until in rows
            if owner_alive(owner, lease_until, now)]


def pre_restore_name() -> str:
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%fZ")
    return f"pre-restore-{stamp}{SUFFIX}"


def _audit_restore(engine: Engine, path: Path, manifest: Manifest,
                   pre_path: Path | None) -> None:
    """A restore is a security event: record it after the fact (it replaced audit_log)."""
    import getpass

    from engine.auth.audit import record

    try:
        actor = getpass.getuser()
    except (KeyError, OSError):
        actor = None
    record(engine, "restore", actor=actor, target=str(path),
           detail={"created_at": manifest.created_at,
                   "pre_restore": str(pre_path) if pre_path else None})


def restore_backup(engine: Engine, path: str | Path, *, force: bool = False,
                   progress: Progress | None = None,
                   pre_restore_dir: Path | None = None) -> RestoreResult:
    """Replace the store's contents with the archive's; see the module doc for the steps.

    An archive from an older schema revision is first brought up to this
    Flowdesk's through the same migrations (see :mod:`.upgrade`). Raises
    :class:`BackupError` for an archive that cannot be trusted or does not fit
    this store, and :class:`BackupRefused` for a non-empty store without
    ``force``; in both cases nothing has changed. No executor may write to the
    store meanwhile (see :func:`live_runs`).
    """
    path = Path(path)
    where = f"'{path}'"
    report = progress or (lambda done, total, message: None)
    manifest = verify_backup(path, check_rows=False,
                             progress=lambda d, t, _m: report(d, 2 * t, "verifying the backup"))
    upgrade = _check_revision(manifest, engine, where)
    with engine.connect() as conn:
        present = count_rows(conn, backup_tables())
    if any(present.values()) and not force:
        raise BackupRefused(f"the store {describe(str(engine.url))} is not empty "
                            f"({present.get('runs', 0)} runs, {sum(present.values())} rows in "
                            "all); restoring would replace them, so use --force to do it")
    with tempfile.TemporaryDirectory(prefix="flowdesk-restore-") as scratch:
        source, loading = path, manifest
        if upgrade:
            from engine.backup.upgrade import upgrade_archive

            report(0, 2 * manifest.total_rows, "upgrading the backup to this Flowdesk's schema")
            source = upgrade_archive(path, manifest, Path(scratch))
            loading = verify_backup(source, check_rows=False)
        _check_fits(loading, where)
        pre_path = _replace_contents(engine, source, loading, report, pre_restore_dir, where)
    _audit_restore(engine, path, manifest, pre_path)
    return RestoreResult(manifest=manifest, rows=loading.total_rows, pre_restore_path=pre_path)


def _replace_contents(engine: Engine, path: Path, manifest: Manifest, report: Progress,
                      pre_restore_dir: Path | None, where: str) -> Path | None:
    """Save the current rows (if any), then swap in the archive's in one transaction."""
    tables = backup_tables()
    with engine.connect() as conn:
        current = sum(count_rows(conn, tables).values())
    total = manifest.total_rows * 2 + current
    report(manifest.total_rows, total, "verified")
    pre_path = None
    if current:
        from engine.store.db import data_dir

        folder = Path(pre_restore_dir) if pre_restore_dir else data_dir() / "backups"
        folder.mkdir(parents=True, exist_ok=True)
        pre_path = folder / pre_restore_name()
        base = manifest.total_rows
        create_backup(engine, pre_path, progress=lambda d, _t, _m: report(
            base + d, total, "saving the current state first"))
    base = manifest.total_rows + current
    with write_transaction(engine) as conn:
        _lock(conn, tables)
        _clear(conn, tables)
        written = 0

        def step(n: int, table: str) -> None:
            nonlocal written
            written += n
            report(base + written, total, f"restoring {table}")

        with open_archive(path) as (zf, again):
            if again != manifest:
                raise BackupError(f"{where} changed while it was being restored")
            by_name = {t.name: t for t in tables}
            for part in manifest.tables:
                try:
                    _load(conn, by_name[part.table], zf, part, where, step)
                except IntegrityError as exc:
                    reason = str(exc.orig).strip().splitlines()[0] if exc.orig else "a conflict"
                    raise BackupError(f"the restore was undone: the {part.table} rows of "
                                      f"{where} do not fit this store ({reason})") from None
        _move_sequences(conn, tables)
        after = count_rows(conn, tables)
        if after != manifest.row_counts:
            wrong = next(n for n in after if after[n] != manifest.row_counts.get(n))
            raise BackupError(f"the restore was undone: the {wrong} table ended with "
                              f"{after[wrong]} rows instead of {manifest.row_counts[wrong]}")
    if engine.dialect.name == "sqlite":
        # Fold the restore's large write-ahead log back into the file (best effort: an
        # open reader makes this a partial checkpoint, which is harmless).
        with engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    report(total, total, "restore complete")
    return pre_path


def _lock(conn: Connection, tables: list) -> None:
    """PostgreSQL: keep every other session out until commit (SQLite's IMMEDIATE does that)."""
    if conn.dialect.name == "postgresql":
        names = ", ".join(conn.dialect.identifier_preparer.format_table(t) for t in tables)
        conn.exec_driver_sql("SET LOCAL lock_timeout = '30s'")  # as SQLite's busy_timeout
        conn.exec_driver_sql(f"LOCK TABLE {names} IN ACCESS EXCLUSIVE MODE")


def _clear(conn: Connection, tables: list) -> None:
    if conn.dialect.name == "postgresql":
        names = ", ".join(conn.dialect.identifier_preparer.format_table(t) for t in tables)
        conn.exec_driver_sql(f"TRUNCATE {names}")
        return
    for table in reversed(tables):
        conn.execute(table.delete())


def _load(conn: Connection, table: Table, zf: ZipFile, part: TablePart, where: str,
          step: Callable[[int, str], None]) -> None:
    decoder = RowDecoder(part.columns)
    loader = TableLoader(conn, table)

    def flush(lines: list[bytes]) -> None:
        try:
            rows = decoder.decode_many(lines)
        except (ValueError, TypeError, KeyError, IndexError, AttributeError):
            raise BackupError(f"{where} is damaged: a row of the {part.table} table cannot be "
                              "read") from None
        loader.insert(rows)
        step(len(rows), part.table)

    for batch in read_batches(zf, part, where):
        flush(batch)


def _move_sequences(conn: Connection, tables: list) -> None:
    """PostgreSQL: sequences behind explicit ids must move past the restored ids."""
    if conn.dialect.name != "postgresql":
        return
    for table in tables:
        col = table.autoincrement_column
        if col is not None:
            name = conn.dialect.identifier_preparer.format_table(table)
            seq = conn.execute(text("SELECT pg_get_serial_sequence(:t, :c)"),
                               {"t": name, "c": col.name}).scalar()
            if seq:
                q = conn.dialect.identifier_preparer.quote(col.name)
                conn.execute(text(f"SELECT setval(:s, COALESCE(MAX({q}), 1), "
                                  f"MAX({q}) IS NOT NULL) FROM {name}"), {"s": seq})
