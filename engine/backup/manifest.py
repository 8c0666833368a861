"""The manifest: what an archive holds and how to check it, as ``manifest.json``.

The manifest names the archive format and its version, the Flowdesk version and
the store's Alembic schema revision it was taken from, and for every table its
part file, columns, row count, size and sha256. It carries a checksum of its own
body, so a flipped byte anywhere in it is noticed, not only in the parts.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from typing import Any

from engine.backup.errors import BackupError

FORMAT = "flowdesk-backup"
FORMAT_VERSION = 1
MANIFEST_NAME = "manifest.json"
SUFFIX = ".fdbackup"


@dataclass(frozen=True)
class Column:
    """A column of a part: its name and how its values are written (see :mod:`.codec`)."""

    name: str
    kind: str


@dataclass(frozen=True)
class TablePart:
    """One table's rows: a gzip-compressed JSON Lines file inside the archive."""

    table: str
    part: str
    rows: int
    size: int
    sha256: str
    columns: tuple[Column, ...]


@dataclass(frozen=True)
class Manifest:
    """Everything needed to trust and restore an archive, before reading its parts."""

    flowdesk_version: str
    schema_revision: str
    created_at: str
    source_dialect: str
    tables: tuple[TablePart, ...]
    format: str = FORMAT
    format_version: int = FORMAT_VERSION
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def row_counts(self) -> dict[str, int]:
        return {t.table: t.rows for t in self.tables}

    @property
    def total_rows(self) -> int:
        return sum(t.rows for t in self.tables)

    def to_json(self) -> bytes:
        body = _body(self)
        body["manifest_sha256"] = _checksum(body)
        return (json.dumps(body, indent=1, sort_keys=True) + "\n").encode("utf-8")


def _body(m: Manifest) -> dict[str, Any]:
    body = asdict(m)
    body.pop("extra")
    body.update(m.extra)
    body["tables"] = [{**asdict(t), "columns": [asdict(c) for c in t.columns]}
                      for t in m.tables]
    return body


def _checksum(body: dict[str, Any]) -> str:
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(canonical.encode("ascii")).hexdigest()


def parse_manifest(data: bytes, where: str) -> Manifest:
    """The manifest in ``data``, or :class:`BackupError` naming ``where`` and what is wrong."""
    try:
        body = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise BackupError(f"{where} is damaged: its manifest is not valid JSON") from None
    if not isinstance(body, dict):
        raise BackupError(f"{where} is not a Flowdesk backup: its manifest is not an object")
    if body.get("format") != FORMAT:
        raise BackupError(f"{where} is not a Flowdesk backup: its manifest names the format "
                          f"{body.get('format')!r}, not {FORMAT!r}")
    version = body.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION or version < 1:
        raise BackupError(f"{where} uses backup format version {version!r}, but this Flowdesk "
                          f"reads only version {FORMAT_VERSION}; use a newer Flowdesk")
    stated = body.pop("manifest_sha256", None)
    if stated != _checksum(body):
        raise BackupError(f"{where} is damaged: its manifest does not match its own checksum")
    try:
        tables = tuple(
            TablePart(table=str(t["table"]), part=str(t["part"]), rows=int(t["rows"]),
                      size=int(t["size"]), sha256=str(t["sha256"]),
                      columns=tuple(Column(str(c["name"]), str(c["kind"]))
                                    for c in t["columns"]))
            for t in body["tables"])
        known = {"flowdesk_version", "schema_revision", "created_at", "source_dialect", "tables",
                 "format", "format_version"}
        return Manifest(flowdesk_version=str(body["flowdesk_version"]),
                        schema_revision=str(body["schema_revision"]),
                        created_at=str(body["created_at"]),
                        source_dialect=str(body["source_dialect"]), tables=tables,
                        format_version=version,
                        extra={k: v for k, v in body.items() if k not in known})
    except (KeyError, TypeError, ValueError) as exc:
        raise BackupError(f"{where} is not a usable Flowdesk backup: its manifest lacks or "
                          f"garbles {exc}") from None
