"""Bringing an archive from an older schema revision up to this Flowdesk's, through Alembic.

The archive's rows are loaded into a scratch SQLite store migrated to the
archive's own revision, that store is migrated to the head revision by the
same migrations that upgrade a live store, and a fresh archive is taken from
it. A restore then proceeds from that archive as usual, so an old backup
lands exactly as if its store had been upgraded in place.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import MetaData

from engine.backup.archive import open_archive, read_batches
from engine.backup.codec import RowDecoder
from engine.backup.errors import BackupError
from engine.backup.loader import TableLoader
from engine.backup.manifest import Manifest
from engine.store.db import MIGRATIONS, create_store_engine, write_transaction


def _migrate(engine: object, revision: str) -> None:
    with engine.connect() as conn:  # type: ignore[attr-defined]
        cfg = Config()
        cfg.set_main_option("script_location", str(MIGRATIONS))
        cfg.attributes["connection"] = conn
        with conn.begin():
            command.upgrade(cfg, revision)


def _insert(loader: TableLoader, decoder: RowDecoder, lines: list[bytes], where: str,
            table: str) -> None:
    try:
        rows = decoder.decode_many(lines)
    except (ValueError, TypeError, KeyError, IndexError, AttributeError):
        raise BackupError(f"{where} is damaged: a row of the {table} table cannot be "
                          "read") from None
    if rows:
        loader.insert(rows)


def upgrade_archive(path: Path, manifest: Manifest, out_dir: Path) -> Path:
    """A new archive at the head revision holding ``path``'s rows (``path`` already verified)."""
    from engine.backup.create import create_backup

    where = f"'{path}'"
    scratch_db = Path(tempfile.mkdtemp(prefix="upgrade-", dir=out_dir)) / "scratch.db"
    engine = create_store_engine(f"sqlite:///{scratch_db}")
    try:
        _migrate(engine, manifest.schema_revision)
        old = MetaData()
        old.reflect(engine)
        with write_transaction(engine) as conn, open_archive(path) as (zf, _again):
            for part in manifest.tables:
                table = old.tables.get(part.table) if part.table != "alembic_version" else None
                if table is None or [c.name for c in table.columns] != [
                        c.name for c in part.columns]:
                    raise BackupError(f"{where} does not match the tables of its own schema "
                                      f"revision {manifest.schema_revision} ({part.table})")
                decoder, loader = RowDecoder(part.columns), TableLoader(conn, table)
                for batch in read_batches(zf, part, where):
                    _insert(loader, decoder, batch, where, part.table)
        _migrate(engine, "head")
        upgraded = scratch_db.with_name("upgraded.fdbackup")
        create_backup(engine, upgraded)
        return upgraded
    finally:
        engine.dispose()
