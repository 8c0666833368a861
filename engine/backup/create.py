"""Taking a backup: every table read inside one read transaction, streamed to the archive.

One snapshot for all tables is what makes the archive consistent while runs
go on: on SQLite (WAL) a deferred transaction whose first SELECT fixes the
snapshot; on PostgreSQL a REPEATABLE READ, READ ONLY transaction. Rows are
streamed in primary-key order (server-side cursor on PostgreSQL), so a store
with many runs never sits in memory.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Connection, Engine, Table, func, select

from engine.backup.codec import RowEncoder, select_list, table_columns
from engine.backup.errors import BackupError
from engine.backup.manifest import Manifest, TablePart
from engine.store.db import current_revision, head_revision
from engine.store.schema import metadata

Progress = Callable[[int, int, str], None]
FETCH_ROWS = 1000  # rows fetched at a time (server-side cursor on PostgreSQL)


def flowdesk_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("flowdesk")
    except PackageNotFoundError:
        return "unknown"


def backup_tables() -> list[Table]:
    """Every table of the store, parents before children (the order parts are restored in)."""
    return list(metadata.sorted_tables)


@contextmanager
def snapshot(engine: Engine) -> Iterator[Connection]:
    """A connection inside one read transaction that sees a single moment of the store."""
    with engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            conn = conn.execution_options(isolation_level="REPEATABLE READ",
                                          postgresql_readonly=True)
        with conn.begin():
            yield conn


def count_rows(conn: Connection, tables: list[Table]) -> dict[str, int]:
    return {t.name: int(conn.execute(select(func.count()).select_from(t)).scalar_one())
            for t in tables}


def _order(table: Table) -> list:
    pk = list(table.primary_key.columns)
    return pk if pk else list(table.columns)


def create_backup(engine: Engine, path: str | Path, *,
                  progress: Progress | None = None) -> Manifest:
    """Write a consistent archive of the whole store to ``path`` and return its manifest.

    ``progress(done, total, message)`` is called as rows are written (``total`` is
    the store's row count at the snapshot). The file appears only when complete.
    """
    path = Path(path)
    if not path.parent.is_dir():
        raise BackupError(f"cannot write the backup '{path}': the folder {path.parent} "
                          "does not exist")
    revision = current_revision(engine)
    if revision is None:
        raise BackupError("the store has no schema yet, so there is nothing to back up")
    if revision != head_revision():
        raise BackupError(f"the store is at schema revision {revision}, not this Flowdesk's "
                          f"{head_revision()}; open it with this Flowdesk first to upgrade it")
    return write_archive(engine, path, backup_tables(), revision, progress=progress)


def write_archive(engine: Engine, path: Path, tables: list[Table], revision: str, *,
                  progress: Progress | None = None) -> Manifest:
    """Write ``tables`` (parents first) from one snapshot; also used for scratch stores."""
    from engine.backup.archive import ArchiveWriter

    report = progress or (lambda done, total, message: None)
    writer = ArchiveWriter(path)
    try:
        with snapshot(engine) as conn:
            # The first SELECT fixes the snapshot: counts and rows come from the same moment.
            counts = count_rows(conn, tables)
            total = sum(counts.values())
            created_at = dt.datetime.now(dt.UTC).isoformat(timespec="microseconds")
            done = 0
            parts = []
            for table in tables:
                report(done, total, f"backing up {table.name}")
                columns = table_columns(table)
                encoder = RowEncoder(columns)
                name = f"tables/{table.name}.jsonl.gz"
                rows = 0
                with writer.part(name) as (write, counter):
                    result = conn.execution_options(yield_per=FETCH_ROWS).execute(
                        select(*select_list(table)).order_by(*_order(table)))
                    for batch in result.partitions():
                        write(b"".join(encoder.encode(row) for row in batch))
                        rows += len(batch)
                        done += len(batch)
                        report(done, total, f"backing up {table.name}")
                if rows != counts[table.name]:  # cannot happen inside one snapshot
                    raise BackupError(f"the {table.name} table changed while it was read "
                                      "(the store gave no consistent snapshot)")
                parts.append(TablePart(table=table.name, part=name, rows=rows,
                                       size=counter.size, sha256=counter.sha.hexdigest(),
                                       columns=columns))
        manifest = Manifest(flowdesk_version=flowdesk_version(), schema_revision=revision,
                            created_at=created_at, source_dialect=engine.dialect.name,
                            tables=tuple(parts))
        writer.commit(manifest)
    except BaseException:
        writer.abort()
        raise
    report(total, total, "backup complete")
    return manifest
