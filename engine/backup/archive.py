"""The archive file: a zip of ``manifest.json`` and one gzip JSON Lines part per table.

Parts are stored in the zip uncompressed (they are gzip already), each with
its sha256 and size in the manifest. Writing goes to a temporary file beside
the target that replaces it only when complete, so a crash never leaves a half
archive under the real name. Reading checks everything and reports any damage
as one :class:`BackupError` sentence.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import tempfile
import time
import zipfile
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from engine.backup.errors import BackupError
from engine.backup.manifest import MANIFEST_NAME, Manifest, TablePart, parse_manifest

GZIP_LEVEL = 3          # level 6 costs much more time for parts a little smaller
READ_CHUNK = 1 << 20
BATCH_ROWS = 2000       # rows parsed and inserted together …
BATCH_BYTES = 8 << 20   # … unless they are large (long logs): memory stays bounded


class _HashingWriter:
    """A write-only file that passes bytes on while counting and hashing them."""

    def __init__(self, raw: IO[bytes]) -> None:
        self.raw = raw
        self.sha = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> int:
        self.sha.update(data)
        self.size += len(data)
        return self.raw.write(data)

    def flush(self) -> None:
        self.raw.flush()


class ArchiveWriter:
    """Writes parts one by one, then the manifest; :meth:`commit` moves it into place."""

    def __init__(self, path: Path) -> None:
        self.path = path
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        os.close(fd)
        self.tmp = Path(tmp)
        self.zip = zipfile.ZipFile(self.tmp, "w", compression=zipfile.ZIP_STORED,
                                   allowZip64=True)

    @contextmanager
    def part(self, name: str) -> Iterator[tuple[Callable[[bytes], Any], _HashingWriter]]:
        """A ``write`` function for a part's uncompressed lines, and its hash/size counter."""
        info = zipfile.ZipInfo(name, date_time=time.localtime()[:6])
        info.compress_type = zipfile.ZIP_STORED
        with self.zip.open(info, "w", force_zip64=True) as raw:
            hashing = _HashingWriter(raw)
            with gzip.GzipFile(fileobj=hashing, mode="wb", compresslevel=GZIP_LEVEL,  # type: ignore[arg-type]
                               mtime=0) as gz:
                yield gz.write, hashing

    def commit(self, manifest: Manifest) -> None:
        self.zip.writestr(MANIFEST_NAME, manifest.to_json())
        self.zip.close()
        with open(self.tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(self.tmp, self.path)

    def abort(self) -> None:
        try:
            self.zip.close()
        finally:
            self.tmp.unlink(missing_ok=True)


def _where(path: Path) -> str:
    return f"'{path}'"


@contextmanager
def open_archive(path: str | Path) -> Iterator[tuple[zipfile.ZipFile, Manifest]]:
    """The open zip and its parsed manifest (parts not yet checked: see :func:`read_part`)."""
    path = Path(path)
    where = _where(path)
    if not path.is_file():
        raise FileNotFoundError(2, "No such backup file", str(path))
    try:
        zf = zipfile.ZipFile(path, "r")
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError):
        raise BackupError(f"{where} is not a Flowdesk backup, or it is truncated: it is not a "
                          "readable zip archive") from None
    with zf:
        try:
            data = zf.read(MANIFEST_NAME)
        except KeyError:
            raise BackupError(f"{where} is not a Flowdesk backup: it has no "
                              f"{MANIFEST_NAME}") from None
        except (zipfile.BadZipFile, OSError, EOFError, zlib.error, ValueError) as exc:
            raise BackupError(f"{where} is damaged: its manifest cannot be read "
                              f"({_reason(exc)})") from None
        manifest = parse_manifest(data, where)
        names = set(zf.namelist())
        parts = {t.part for t in manifest.tables}
        missing = sorted(parts - names)
        if missing:
            raise BackupError(f"{where} is damaged: the part {missing[0]} named in its manifest "
                              "is missing")
        extra = sorted(names - parts - {MANIFEST_NAME})
        if extra:
            raise BackupError(f"{where} is not a clean Flowdesk backup: it holds {extra[0]}, "
                              "which its manifest does not list")
        yield zf, manifest


def _reason(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def read_part(zf: zipfile.ZipFile, part: TablePart, where: str) -> Iterator[bytes]:
    """The part's lines, checking size, sha256, gzip and the row count as it goes.

    Raises :class:`BackupError` at the first sign of damage, after having
    yielded lines that may be wrong: callers that change anything read the
    whole archive once first (:func:`engine.backup.verify_backup`).
    """
    damaged = f"{where} is damaged: the {part.table} table's part"
    sha = hashlib.sha256()
    size = 0
    rows = 0

    def raw_chunks() -> Iterator[bytes]:
        nonlocal size
        with zf.open(part.part) as raw:
            while chunk := raw.read(READ_CHUNK):
                sha.update(chunk)
                size += len(chunk)
                yield chunk

    try:
        pending = b""
        decomp = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
        for chunk in raw_chunks():
            data = decomp.decompress(chunk)
            while decomp.eof and decomp.unused_data:  # gzip allows several members
                rest = decomp.unused_data
                decomp = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
                data += decomp.decompress(rest)
            if not data:
                continue
            lines = (pending + data).split(b"\n")
            pending = lines.pop()
            rows += len(lines)
            yield from lines
        if not decomp.eof:
            raise BackupError(f"{damaged} ends too early")
        if pending:
            raise BackupError(f"{damaged} does not end with a whole row")
    except (zipfile.BadZipFile, zlib.error, OSError, EOFError) as exc:
        raise BackupError(f"{damaged} cannot be read ({_reason(exc)})") from None
    if size != part.size or sha.hexdigest() != part.sha256:
        raise BackupError(f"{damaged} does not match its checksum")
    if rows != part.rows:
        raise BackupError(f"{damaged} holds {rows} rows, but the manifest says {part.rows}")


def read_batches(zf: zipfile.ZipFile, part: TablePart, where: str) -> Iterator[list[bytes]]:
    """:func:`read_part`'s lines in lists of at most BATCH_ROWS rows or about BATCH_BYTES."""
    batch: list[bytes] = []
    size = 0
    for line in read_part(zf, part, where):
        batch.append(line)
        size += len(line)
        if len(batch) >= BATCH_ROWS or size >= BATCH_BYTES:
            yield batch
            batch, size = [], 0
    if batch:
        yield batch
