"""Writing a part's rows into a table fast, with exactly the values SQLAlchemy would write.

Each column's value goes through SQLAlchemy's own bind processor for the
dialect (JSON documents serialised, booleans adapted …), then straight to the
driver: ``executemany`` on SQLite, ``COPY … FROM STDIN`` on PostgreSQL. This
skips SQLAlchemy's per-row parameter handling, which cost more than the
inserts themselves (see ``benchmarks/backup.py``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import JSON, Connection, Table, bindparam, insert
from sqlalchemy.exc import IntegrityError


def _bind_type(type_: Any) -> Any:
    """JSON binds that write ``None`` as SQL NULL (``JSON.NULL`` stays a JSON ``null``)."""
    if isinstance(type_, JSON):
        type_ = type_.copy()
        type_.none_as_null = True
    return type_


class TableLoader:
    """Inserts rows (lists of column values in table order) into one table."""

    def __init__(self, conn: Connection, table: Table) -> None:
        self.conn = conn
        dialect = conn.dialect
        types = [_bind_type(c.type) for c in table.columns]
        self.procs = [t.dialect_impl(dialect).bind_processor(dialect) for t in types]
        self.copy = dialect.name == "postgresql"
        prep = dialect.identifier_preparer
        if self.copy:
            cols = ", ".join(prep.quote(c.name) for c in table.columns)
            self.sql = f"COPY {prep.format_table(table)} ({cols}) FROM STDIN"
            return
        keys = [f"p{i}" for i in range(len(types))]
        compiled = insert(table).values({
            c.name: bindparam(k, type_=t)
            for c, k, t in zip(table.columns, keys, types, strict=True)}).compile(dialect=dialect)
        self.sql = str(compiled)
        self.keys = keys
        self.order = ([keys.index(name) for name in compiled.positiontup or ()]
                      if compiled.positional else None)

    def insert(self, rows: Sequence[list[Any]]) -> None:
        procs = self.procs
        processed = [[p(v) if p else v for p, v in zip(procs, row, strict=True)]
                     for row in rows]
        if self.copy:
            raw = self.conn.connection.dbapi_connection
            assert raw is not None
            dbapi = self.conn.dialect.dbapi
            try:
                with raw.cursor() as cur, cur.copy(self.sql) as copy:
                    for row in processed:
                        copy.write_row(row)
            except dbapi.IntegrityError as exc:  # the driver's own: say it as SQLAlchemy does
                raise IntegrityError(self.sql, None, exc) from exc
            return
        if self.order is not None:
            params: list[Any] = [tuple(r[i] for i in self.order) for r in processed]
        else:
            params = [dict(zip(self.keys, r, strict=True)) for r in processed]
        self.conn.exec_driver_sql(self.sql, params)
