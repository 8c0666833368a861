"""Rows as JSON Lines that mean the same on SQLite and PostgreSQL.

A row is one JSON array of its column values in the manifest's column order.
JSON columns hold their document itself; floats are written with ``repr`` so
they come back bit for bit. Types JSON lacks get a text form named by the
column's *kind* (bytes as base64, dates as ISO 8601, decimals and UUIDs as
text), so tables other engineers add are carried with no change here.

A JSON column can hold SQL NULL or the JSON document ``null``; both read back
as ``None``. To keep them apart, a row whose JSON columns hold a ``null``
document gets one extra trailing element: ``{"json_null": [column indexes]}``.
"""

from __future__ import annotations

import base64
import datetime as dt
import decimal
import json
import uuid
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import (
    JSON,
    Date,
    DateTime,
    Float,
    Interval,
    LargeBinary,
    Numeric,
    Table,
    Time,
    Uuid,
)
from sqlalchemy.sql.elements import ColumnElement

from engine.backup.manifest import Column

Codec = Callable[[Any], Any]
# One encoder for all rows (json.dumps builds one per call); floats use repr: exact.
_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


def column_kind(type_: Any) -> str:
    """How a column of this SQLAlchemy type is written in a part."""
    if isinstance(type_, JSON):
        return "json"
    if isinstance(type_, LargeBinary):
        return "bytes"
    if isinstance(type_, DateTime):
        return "datetime"
    if isinstance(type_, Date):
        return "date"
    if isinstance(type_, Time):
        return "time"
    if isinstance(type_, Interval):
        return "interval"
    if isinstance(type_, Uuid):
        return "uuid" if type_.as_uuid else "plain"
    if isinstance(type_, Numeric) and not isinstance(type_, Float) and type_.asdecimal:
        return "decimal"
    return "plain"


def _keep(v: Any) -> Any:
    return v


def _text(v: Any) -> Any:
    return None if v is None else str(v)


def _iso(v: Any) -> Any:
    return None if v is None else v.isoformat()


ENCODERS: dict[str, Codec] = {
    "plain": _keep,
    "json": _keep,
    "bytes": lambda v: None if v is None else base64.b64encode(bytes(v)).decode("ascii"),
    "datetime": _iso,
    "date": _iso,
    "time": _iso,
    "interval": lambda v: None if v is None else v.total_seconds(),
    "uuid": _text,
    "decimal": _text,
}

DECODERS: dict[str, Codec] = {
    "plain": _keep,
    "json": _keep,
    "bytes": lambda v: None if v is None else base64.b64decode(v),
    "datetime": lambda v: None if v is None else dt.datetime.fromisoformat(v),
    "date": lambda v: None if v is None else dt.date.fromisoformat(v),
    "time": lambda v: None if v is None else dt.time.fromisoformat(v),
    "interval": lambda v: None if v is None else dt.timedelta(seconds=v),
    "uuid": lambda v: None if v is None else uuid.UUID(v),
    "decimal": lambda v: None if v is None else decimal.Decimal(v),
}


def table_columns(table: Table) -> tuple[Column, ...]:
    return tuple(Column(c.name, column_kind(c.type)) for c in table.columns)


def select_list(table: Table) -> list[ColumnElement[Any]]:
    """The columns to read, then one ``IS NULL`` test per JSON column (see module doc)."""
    cols: list[ColumnElement[Any]] = list(table.columns)
    cols += [c.is_(None).label(f"_isnull_{i}") for i, c in enumerate(table.columns)
             if column_kind(c.type) == "json"]
    return cols


class RowEncoder:
    """Turns rows read with :func:`select_list` into JSON Lines bytes."""

    def __init__(self, columns: Sequence[Column]) -> None:
        self.encoders = [ENCODERS[c.kind] for c in columns]
        self.json_cols = [i for i, c in enumerate(columns) if c.kind == "json"]
        self.plain = all(c.kind in ("plain", "json") for c in columns)
        self.n = len(columns)

    def encode(self, row: Sequence[Any]) -> bytes:
        values = list(row[: self.n])
        if not self.plain:
            values = [f(v) for f, v in zip(self.encoders, values, strict=True)]
        nulls = [i for k, i in enumerate(self.json_cols)
                 if values[i] is None and not row[self.n + k]]
        if nulls:
            values.append({"json_null": nulls})
        return _ENCODER.encode(values).encode() + b"\n"


class RowDecoder:
    """Turns a part's lines back into lists of column values (``JSON.NULL`` for JSON nulls)."""

    def __init__(self, columns: Sequence[Column]) -> None:
        self.decoders = [DECODERS[c.kind] for c in columns]
        self.plain = all(c.kind in ("plain", "json") for c in columns)
        self.n = len(columns)

    def decode_many(self, lines: Sequence[bytes]) -> list[list[Any]]:
        """The rows of ``lines`` (parsed in one go: one JSON call per batch, not per row)."""
        rows = json.loads(b"[" + b",".join(lines) + b"]")
        for values in rows:
            if not isinstance(values, list) or len(values) not in (self.n, self.n + 1):
                raise ValueError(f"a row has {len(values)} values, expected {self.n}")
            if len(values) > self.n:
                for i in values.pop()["json_null"]:
                    values[i] = JSON.NULL
        if not self.plain:
            rows = [[v if v is JSON.NULL else f(v)
                     for f, v in zip(self.decoders, values, strict=True)] for values in rows]
        return rows
