"""Backups and restores of real stores: round trips, consistency, damage, refusals, undo."""

from __future__ import annotations

import random
import threading
import uuid
import zipfile
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import JSON, Engine, func, insert, select

from engine.backup import (
    BackupError,
    BackupRefused,
    create_backup,
    prune_backups,
    restore_backup,
    verify_backup,
)
from engine.store import open_engine, write_transaction
from engine.store.schema import (
    attempts,
    events,
    flows,
    metadata,
    node_states,
    runs,
    settings,
)

NODES = ["start", "fetch", "check", "notify", "end"]


def run_rows(rng: random.Random, run_id: str, t0: float) -> dict[str, list[dict[str, Any]]]:
    """One realistic run with its nodes, edges, attempts, events and logs."""
    status = rng.choice(["succeeded", "failed", "running", "waiting", "cancelled"])
    t = t0 + rng.random()
    rows: dict[str, list[dict[str, Any]]] = {
        "runs": [{"id": run_id, "flow_name": "nightly-report", "flow_version": rng.choice(
            [None, 1, 2]), "source": "/flows/nightly.flow.json",
            "definition": {"format": "flowdesk/1", "name": "nightly-report",
                           "nodes": [{"id": n, "kind": "shell"} for n in NODES]},
            "inputs": {"day": "2026-11-29", "limit": rng.randint(1, 99), "ratio": rng.random()},
            "status": status, "outputs": {"status": 200, "pi": 3.141592653589793, "tiny": 1e-300}
            if status == "succeeded" else None,
            "error": "node 'fetch' failed: HTTP 503" if status == "failed" else None,
            "created_at": t, "started_at": t + 0.001, "finished_at": t + 1.5,
            "updated_at": t + 1.5, "created_by": "ada", "parent_run_id": None,
            "parent_node_id": None, "depth": 0, "detached": rng.random() < 0.5,
            "owner": None, "lease_until": None, "cancel_requested": False}],
        "node_states": [], "edge_states": [], "attempts": [], "events": [], "logs": []}
    for i, node in enumerate(NODES):
        rows["node_states"].append({
            "run_id": run_id, "node_id": node, "status": "succeeded", "attempts": 1,
            "output": {"exit_code": 0, "stdout": f"ünïcode ✓ {i}\n", "values": [1, 2.5, None]},
            "error": None, "started_at": t + i, "finished_at": t + i + 0.25, "ready_at": None,
            "taken": 1, "dead": 0, "decision": None, "claimed_by": None, "lease_until": None,
            "cancel_requested": False})
        rows["edge_states"].append({"run_id": run_id, "edge_index": i,
                                    "state": rng.choice(["taken", "dead"])})
        rows["attempts"].append({"run_id": run_id, "node_id": node, "attempt": 1,
                                 "status": "succeeded", "started_at": t + i,
                                 "finished_at": t + i + 0.25, "error": None, "worker": "w1"})
        for typ in ("node_started", "node_finished"):
            rows["events"].append({"run_id": run_id, "ts": t + i + 0.1, "type": typ,
                                   "node_id": node, "data": {"status": "succeeded", "n": i}})
        rows["logs"].append({"run_id": run_id, "node_id": node, "attempt": 1,
                             "stream": "stdout", "text": f"line {i}\twith tab", "ts": t + i})
    return rows


def insert_run(conn: Any, rows: dict[str, list[dict[str, Any]]]) -> None:
    for name in ("runs", "node_states", "edge_states", "attempts", "events", "logs"):
        if rows[name]:
            conn.execute(insert(metadata.tables[name]), rows[name])


KNOWN = {"flows", "runs", "node_states", "edge_states", "attempts", "events", "logs", "settings"}


def _value(col: Any, i: int, made: dict[str, list[dict[str, Any]]]) -> Any:
    """A plausible value of the column's type for row ``i`` (unique per column)."""
    import datetime as dt
    import decimal

    from sqlalchemy import (
        Boolean,
        Date,
        DateTime,
        Float,
        Integer,
        LargeBinary,
        Numeric,
        String,
        Uuid,
    )

    for fk in col.foreign_keys:
        parents = made.get(fk.column.table.name) or []
        if parents:
            return parents[i % len(parents)][fk.column.name]
    t = col.type
    if isinstance(t, JSON):
        return {"i": i, "list": [i, 0.1, None, "ü"]}
    if isinstance(t, Boolean):
        return i % 2 == 0
    if isinstance(t, Integer):
        return i + 1
    if isinstance(t, Float):
        return i + 0.1
    if isinstance(t, Numeric):
        return decimal.Decimal(f"{i}.25")
    if isinstance(t, LargeBinary):
        return bytes([i % 256, 0, 255])
    if isinstance(t, DateTime):
        return dt.datetime(2026, 11, 29, 23, 0, i % 60)
    if isinstance(t, Date):
        return dt.date(2026, 11, 1 + i % 28)
    if isinstance(t, Uuid):
        return uuid.UUID(int=i + 1)
    if isinstance(t, String):
        return f"{col.name}-{i}"[: t.length or None]
    return f"{col.name}-{i}"


def fill_other_tables(conn: Any, rows_each: int = 3) -> None:
    """Rows for tables this test does not know by name (auth tables, later additions)."""
    made: dict[str, list[dict[str, Any]]] = {}
    for table in metadata.sorted_tables:
        if table.name in KNOWN:
            continue
        rows = [{c.name: _value(c, i, made) for c in table.columns} for i in range(rows_each)]
        conn.execute(insert(table), rows)
        made[table.name] = rows


def fill_store(engine: Engine, n_runs: int, seed: int = 7) -> None:
    """A store with flows, settings, runs and everything runs leave behind."""
    rng = random.Random(seed)
    with write_transaction(engine) as conn:
        conn.execute(insert(flows), [
            {"name": f"flow-{i}", "version": 1, "definition": {"format": "flowdesk/1",
                                                                "name": f"flow-{i}"},
             "created_at": 1_764_000_000.5 + i, "created_by": "ada", "archived": i == 2}
            for i in range(3)])
        conn.execute(insert(settings), [
            {"key": "theme", "value": "dark"}, {"key": "limits", "value": {"max": 8}},
            {"key": "json-null", "value": JSON.NULL}, {"key": "sql-null", "value": None}])
        for i in range(n_runs):
            insert_run(conn, run_rows(rng, f"run{i:06d}", 1_764_000_000 + i * 2.0))
        # a child run and an interrupted attempt, as resume leaves them
        child = run_rows(rng, "child000001", 1_764_000_500.0)
        child["runs"][0].update(parent_run_id="run000000", parent_node_id="fetch", depth=1)
        child["attempts"].append({"run_id": "child000001", "node_id": "fetch", "attempt": 2,
                                  "status": "interrupted", "started_at": 1.0,
                                  "finished_at": None, "error": "cut off", "worker": None})
        insert_run(conn, child)
        fill_other_tables(conn)


def dump(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """Every table's rows in primary-key order, plus which JSON values are SQL NULL.

    The audit row a restore adds about itself is left out (see the audit test).
    """
    out = {}
    with engine.connect() as conn:
        for table in metadata.sorted_tables:
            cols = list(table.columns)
            nulls = [c.is_(None) for c in cols if isinstance(c.type, JSON)]
            order = list(table.primary_key.columns) or cols
            query = select(*cols, *nulls).order_by(*order)
            if table.name == "audit_log":
                query = query.where(table.c.action != "restore")
            out[table.name] = [tuple(r) for r in conn.execute(query)]
    return out


def test_create_backup_writes_a_manifest_that_verifies(sqlite_url: str, tmp_path: Path) -> None:
    engine = open_engine(sqlite_url)
    fill_store(engine, 20)
    seen: list[tuple[int, int, str]] = []
    archive = tmp_path / "a.fdbackup"
    manifest = create_backup(engine, archive, progress=lambda *a: seen.append(a))
    engine.dispose()
    assert manifest.row_counts["runs"] == 21
    assert manifest.row_counts["node_states"] == 21 * 5
    assert set(manifest.row_counts) == set(metadata.tables)
    assert manifest.source_dialect == "sqlite"
    assert seen[-1][0] == seen[-1][1] == manifest.total_rows
    assert verify_backup(archive) == manifest
    names = zipfile.ZipFile(archive).namelist()
    assert "manifest.json" in names and "tables/runs.jsonl.gz" in names


def test_round_trip_sqlite_to_sqlite(tmp_path: Path) -> None:
    src = open_engine(f"sqlite:///{tmp_path / 'src.db'}")
    dst = open_engine(f"sqlite:///{tmp_path / 'dst.db'}")
    fill_store(src, 30)
    create_backup(src, tmp_path / "a.fdbackup")
    result = restore_backup(dst, tmp_path / "a.fdbackup")
    assert result.pre_restore_path is None  # the target was empty: nothing to save
    assert dump(dst) == dump(src)
    assert all(dump(dst)[t.name] for t in metadata.sorted_tables)  # every table has rows
    src.dispose()
    dst.dispose()


@pytest.mark.postgres
def test_round_trip_sqlite_to_postgres_and_back(tmp_path: Path, pg_url: str) -> None:
    src = open_engine(f"sqlite:///{tmp_path / 'src.db'}")
    pg = open_engine(pg_url)
    back = open_engine(f"sqlite:///{tmp_path / 'back.db'}")
    fill_store(src, 30)
    create_backup(src, tmp_path / "a.fdbackup")
    restore_backup(pg, tmp_path / "a.fdbackup")
    assert dump(pg) == dump(src)
    manifest = create_backup(pg, tmp_path / "b.fdbackup")
    assert manifest.source_dialect == "postgresql"
    restore_backup(back, tmp_path / "b.fdbackup")
    assert dump(back) == dump(src)
    # the sequences moved: a new flow on PostgreSQL gets a fresh id, not a clash
    with write_transaction(pg) as conn:
        new_id = conn.execute(insert(flows).values(
            name="new", version=1, definition={}, created_at=1.0, archived=False)
            .returning(flows.c.id)).scalar_one()
    assert new_id == 4
    for e in (src, pg, back):
        e.dispose()


class Writer(threading.Thread):
    """Keeps inserting runs, each with all its rows in one transaction, until stopped."""

    def __init__(self, engine: Engine) -> None:
        super().__init__(daemon=True)
        self.engine = engine
        self.stop = threading.Event()
        self.written = 0
        self.error: BaseException | None = None
        self.rng = random.Random(3)

    def write_one(self) -> None:
        with write_transaction(self.engine) as conn:
            insert_run(conn, run_rows(self.rng, uuid.uuid4().hex, 1_800_000_000.0))
        self.written += 1

    def run(self) -> None:
        try:
            while not self.stop.is_set():
                self.write_one()
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            self.error = exc


def test_backup_under_concurrent_writes_is_consistent(store_url: str, tmp_path: Path) -> None:
    engine = open_engine(store_url)
    fill_store(engine, 200)
    writer = Writer(engine)
    side = Writer(engine)
    wrote_between_tables = []

    def progress(done: int, total: int, message: str) -> None:
        # Right after the runs table is read, commit a whole run before node_states
        # is read: an archive without one snapshot would hold its nodes but not it.
        if message == "backing up node_states" and not wrote_between_tables:
            side.write_one()
            wrote_between_tables.append(True)

    writer.start()
    try:
        manifest = create_backup(engine, tmp_path / "a.fdbackup", progress=progress)
    finally:
        writer.stop.set()
        writer.join()
    assert writer.error is None
    assert wrote_between_tables and writer.written + side.written > 0
    restored = open_engine(f"sqlite:///{tmp_path / 'restored.db'}")
    restore_backup(restored, tmp_path / "a.fdbackup")
    with restored.connect() as conn:
        n_runs = conn.execute(select(func.count()).select_from(runs)).scalar_one()
        per_run = conn.execute(select(node_states.c.run_id, func.count())
                               .group_by(node_states.c.run_id)).all()
        orphans = conn.execute(select(func.count()).select_from(events).where(
            events.c.run_id.not_in(select(runs.c.id)))).scalar_one()
        n_attempts = conn.execute(select(func.count()).select_from(attempts)).scalar_one()
    assert n_runs == manifest.row_counts["runs"]
    assert len(per_run) == n_runs and all(n == 5 for _, n in per_run)
    assert orphans == 0
    assert n_attempts == manifest.row_counts["attempts"] == (n_runs - 1) * 5 + 6
    with engine.connect() as conn:  # the writers really added runs the archive does not have
        assert conn.execute(select(func.count()).select_from(runs)).scalar_one() > n_runs
    engine.dispose()
    restored.dispose()


@pytest.fixture
def archive_and_store(tmp_path: Path) -> tuple[Path, Engine]:
    """A good archive of 10 runs, and a different, non-empty store to restore into."""
    src = open_engine(f"sqlite:///{tmp_path / 'src.db'}")
    fill_store(src, 10, seed=1)
    archive = tmp_path / "good.fdbackup"
    create_backup(src, archive)
    src.dispose()
    target = open_engine(f"sqlite:///{tmp_path / 'target.db'}")
    fill_store(target, 4, seed=2)
    yield archive, target
    target.dispose()


def _flip(data: bytes, at: int) -> bytes:
    return data[:at] + bytes([data[at] ^ 0x01]) + data[at + 1:]


def _damaged_copies(archive: Path, tmp_path: Path) -> dict[str, Path]:
    data = archive.read_bytes()
    zf = zipfile.ZipFile(archive)
    part = zf.getinfo("tables/node_states.jsonl.gz")
    man = zf.getinfo("manifest.json")
    # an entry's data follows its 30-byte local header, file name and extra field
    name_len, extra_len = (int.from_bytes(data[part.header_offset + k:part.header_offset + k + 2],
                                          "little") for k in (26, 28))
    part_at = part.header_offset + 30 + name_len + extra_len + part.compress_size // 2
    man_body = data.index(b'"created_at"', man.header_offset)
    cases = {
        "flipped byte in a part": _flip(data, part_at),
        "flipped byte in the manifest": _flip(data, man_body + 20),
        "truncated": data[: len(data) * 2 // 3],
        "empty": b"",
        "text file": b"just some notes\nnot a backup\n",
    }
    foreign = tmp_path / "foreign.zip"
    with zipfile.ZipFile(foreign, "w") as z:
        z.writestr("readme.txt", "hello")
    cases["a random zip"] = foreign.read_bytes()
    # damage the zip's own CRCs cannot see: a rebuilt zip with a swapped part, an edited manifest
    entries = {n: zf.read(n) for n in zf.namelist()}
    for name, change in (("part swapped", ("tables/node_states.jsonl.gz",
                                           entries["tables/edge_states.jsonl.gz"])),
                         ("manifest edited", ("manifest.json", entries["manifest.json"].replace(
                             b'"rows": 11', b'"rows": 12', 1)))):
        rebuilt = tmp_path / "rebuilt.zip"
        with zipfile.ZipFile(rebuilt, "w") as z:
            for n, b in {**entries, change[0]: change[1]}.items():
                z.writestr(n, b)
        cases[name] = rebuilt.read_bytes()
    out = {}
    for name, blob in cases.items():
        p = tmp_path / (name.replace(" ", "-") + ".fdbackup")
        p.write_bytes(blob)
        out[name] = p
    return out


@pytest.mark.parametrize("case", ["flipped byte in a part", "flipped byte in the manifest",
                                  "truncated", "empty", "text file", "a random zip",
                                  "part swapped", "manifest edited"])
def test_damaged_or_foreign_archive_is_refused_and_store_untouched(
        case: str, archive_and_store: tuple[Path, Engine], tmp_path: Path) -> None:
    archive, target = archive_and_store
    bad = _damaged_copies(archive, tmp_path)[case]
    before = dump(target)
    with pytest.raises(BackupError) as info:
        verify_backup(bad)
    message = str(info.value)
    assert "\n" not in message and str(bad) in message
    with pytest.raises(BackupError) as info2:
        restore_backup(target, bad, force=True, pre_restore_dir=tmp_path / "pre")
    assert str(info2.value) == message
    assert dump(target) == before
    assert not (tmp_path / "pre").exists()  # refused before anything was done


def test_non_empty_store_is_refused_without_force(archive_and_store: tuple[Path, Engine],
                                                   tmp_path: Path) -> None:
    archive, target = archive_and_store
    before = dump(target)
    with pytest.raises(BackupRefused, match=r"not empty \(5 runs.*--force"):
        restore_backup(target, archive, pre_restore_dir=tmp_path / "pre")
    assert dump(target) == before
    assert not (tmp_path / "pre").exists()


def test_pre_restore_backup_undoes_a_mistaken_restore(archive_and_store: tuple[Path, Engine],
                                                      tmp_path: Path) -> None:
    archive, target = archive_and_store
    before = dump(target)
    seen: list[tuple[int, int, str]] = []
    result = restore_backup(target, archive, force=True, pre_restore_dir=tmp_path / "pre",
                            progress=lambda *a: seen.append(a))
    assert result.pre_restore_path is not None
    assert result.pre_restore_path.parent == tmp_path / "pre"
    assert result.pre_restore_path.name.startswith("pre-restore-")
    assert dump(target) != before and len(dump(target)["runs"]) == 11
    assert seen[-1][0] == seen[-1][1] and any("saving" in m for _, _, m in seen)
    undo = restore_backup(target, result.pre_restore_path, force=True,
                          pre_restore_dir=tmp_path / "pre")
    assert dump(target) == before
    assert undo.pre_restore_path is not None and undo.pre_restore_path.exists()


def test_default_pre_restore_folder_is_in_the_data_folder(
        archive_and_store: tuple[Path, Engine], flowdesk_home: Path) -> None:
    archive, target = archive_and_store
    result = restore_backup(target, archive, force=True)
    assert result.pre_restore_path is not None
    assert result.pre_restore_path.parent == flowdesk_home / "backups"
    verify_backup(result.pre_restore_path)


def test_archive_from_a_newer_flowdesk_is_refused(archive_and_store: tuple[Path, Engine],
                                                  tmp_path: Path) -> None:
    import json

    from engine.backup.manifest import parse_manifest

    archive, target = archive_and_store
    with zipfile.ZipFile(archive) as z:
        manifest = parse_manifest(z.read("manifest.json"), "x")
        parts = {n: z.read(n) for n in z.namelist() if n != "manifest.json"}
    from dataclasses import replace

    newer = replace(manifest, schema_revision="9999", flowdesk_version="9.0")
    future = tmp_path / "future.fdbackup"
    with zipfile.ZipFile(future, "w") as z:
        for n, b in parts.items():
            z.writestr(n, b)
        z.writestr("manifest.json", newer.to_json())
    with pytest.raises(BackupError, match=r"newer Flowdesk \(9\.0, schema revision 9999\)"):
        verify_backup(future)
    body = json.loads(newer.to_json())
    body["format_version"] = 2
    with zipfile.ZipFile(future, "w") as z:
        z.writestr("manifest.json", json.dumps(body))
    with pytest.raises(BackupError, match="format version 2"):
        verify_backup(future)


def test_create_backup_into_missing_folder_is_one_sentence(sqlite_url: str,
                                                            tmp_path: Path) -> None:
    engine = open_engine(sqlite_url)
    with pytest.raises(BackupError, match="does not exist"):
        create_backup(engine, tmp_path / "nope" / "a.fdbackup")
    engine.dispose()


def test_prune_backups_keeps_the_newest(tmp_path: Path) -> None:
    import os

    for i in range(5):
        p = tmp_path / f"auto-{i}.fdbackup"
        p.write_bytes(b"x")
        os.utime(p, (1000 + i, 1000 + i))
    (tmp_path / "pre-restore-1.fdbackup").write_bytes(b"x")
    (tmp_path / "notes.txt").write_text("keep me")
    removed = prune_backups(tmp_path, 2, pattern="auto-*.fdbackup")
    assert sorted(p.name for p in removed) == ["auto-0.fdbackup", "auto-1.fdbackup",
                                               "auto-2.fdbackup"]
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "auto-3.fdbackup", "auto-4.fdbackup", "notes.txt", "pre-restore-1.fdbackup"]
    assert prune_backups(tmp_path / "missing", 1) == []
    with pytest.raises(ValueError, match="keep must be 0 or more"):
        prune_backups(tmp_path, -1)


def test_a_bad_row_under_a_good_checksum_is_refused_and_rolled_back(
        archive_and_store: tuple[Path, Engine], tmp_path: Path) -> None:
    """An archive written wrongly (checksums right, a row wrong) changes nothing either."""
    archive, target = archive_and_store
    bad = tmp_path / "bad-row.fdbackup"
    _rewrite_part(archive, bad, "tables/logs.jsonl.gz",
                  lambda lines: lines[:-1] + [b'["too", "few"]\n'])
    with pytest.raises(BackupError, match="a row of the logs table cannot be read"):
        verify_backup(bad)
    before = dump(target)
    with pytest.raises(BackupError, match="a row of the logs table cannot be read"):
        restore_backup(target, bad, force=True, pre_restore_dir=tmp_path / "pre")
    assert dump(target) == before


def test_archive_from_an_older_schema_is_upgraded_on_restore(tmp_path: Path) -> None:
    """An archive of a store at the first revision restores into today's store."""
    from sqlalchemy import MetaData

    from engine.backup.create import write_archive
    from engine.backup.upgrade import _migrate
    from engine.store.db import create_store_engine, head_revision

    old_engine = create_store_engine(f"sqlite:///{tmp_path / 'old.db'}")
    _migrate(old_engine, "0001")
    old = MetaData()
    old.reflect(old_engine)
    rng = random.Random(5)
    with write_transaction(old_engine) as conn:
        for i in range(5):
            for name, rows in run_rows(rng, f"old{i}", 1_700_000_000.0 + i).items():
                table = old.tables[name]
                conn.execute(insert(table), [{k: v for k, v in r.items() if k in table.c}
                                             for r in rows])
    archive = tmp_path / "old.fdbackup"
    tables = [t for t in old.sorted_tables if t.name != "alembic_version"]
    manifest = write_archive(old_engine, archive, tables, "0001")
    with old_engine.connect() as conn:
        old_nodes = conn.execute(select(old.tables["node_states"]).order_by(
            "run_id", "node_id")).all()
    old_engine.dispose()
    assert verify_backup(archive).schema_revision == "0001"

    target = open_engine(f"sqlite:///{tmp_path / 'new.db'}")
    result = restore_backup(target, archive)
    assert result.manifest == manifest
    restored = dump(target)
    assert len(restored["runs"]) == 5 and len(restored["node_states"]) == 25
    with target.connect() as conn:
        cols = [node_states.c[c.name] for c in old.tables["node_states"].columns]
        assert conn.execute(select(*cols).order_by("run_id", "node_id")).all() == old_nodes
    if head_revision() != "0001":  # tables added since are there, and empty
        assert set(restored) == set(metadata.tables)
    # and the restored store backs up at today's revision
    assert create_backup(target, tmp_path / "new.fdbackup").schema_revision == head_revision()
    target.dispose()


def test_an_interrupted_backup_leaves_no_file(sqlite_url: str, tmp_path: Path) -> None:
    engine = open_engine(sqlite_url)
    fill_store(engine, 5)
    out = tmp_path / "out"
    out.mkdir()

    def stop_halfway(done: int, total: int, message: str) -> None:
        if message == "backing up node_states":
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        create_backup(engine, out / "a.fdbackup", progress=stop_halfway)
    assert list(out.iterdir()) == []  # neither the archive nor its temporary file
    engine.dispose()


def _rewrite_part(archive: Path, out: Path, name: str, change: Any) -> None:
    """Copy ``archive`` to ``out`` with part ``name``'s lines changed and checksums kept right."""
    import gzip
    import hashlib
    from dataclasses import replace

    from engine.backup.manifest import parse_manifest

    with zipfile.ZipFile(archive) as z:
        manifest = parse_manifest(z.read("manifest.json"), "x")
        entries = {n: z.read(n) for n in z.namelist() if n != "manifest.json"}
    lines = change(gzip.decompress(entries[name]).splitlines(keepends=True))
    entries[name] = gzip.compress(b"".join(lines))
    parts = tuple(replace(p, size=len(entries[name]), rows=len(lines),
                          sha256=hashlib.sha256(entries[name]).hexdigest())
                  if p.part == name else p for p in manifest.tables)
    with zipfile.ZipFile(out, "w") as z:
        for n, b in entries.items():
            z.writestr(n, b)
        z.writestr("manifest.json", replace(manifest, tables=parts).to_json())


def test_rows_that_break_a_constraint_are_refused_and_rolled_back(store_url: str,
                                                                  tmp_path: Path) -> None:
    src = open_engine(f"sqlite:///{tmp_path / 'src.db'}")
    fill_store(src, 6, seed=1)
    create_backup(src, tmp_path / "good.fdbackup")
    src.dispose()
    bad = tmp_path / "dup.fdbackup"
    _rewrite_part(tmp_path / "good.fdbackup", bad, "tables/runs.jsonl.gz",
                  lambda lines: lines + lines[-1:])  # the same run id twice
    verify_backup(bad)  # well-formed: only the database can tell
    target = open_engine(store_url)
    fill_store(target, 3, seed=9)
    before = dump(target)
    with pytest.raises(BackupError, match="the restore was undone: the runs rows of .* do not "
                                          "fit this store"):
        restore_backup(target, bad, force=True, pre_restore_dir=tmp_path / "pre")
    assert dump(target) == before
    target.dispose()


def test_large_rows_round_trip(tmp_path: Path) -> None:
    """A node that printed megabytes: its log rows come back whole (and in bounded batches)."""
    from engine.store.schema import logs

    src = open_engine(f"sqlite:///{tmp_path / 'src.db'}")
    fill_store(src, 1)
    big = "".join(f"line {i} ✓ " for i in range(900_000))  # about 11 MB
    with write_transaction(src) as conn:
        conn.execute(insert(logs), [{"run_id": "run000000", "node_id": "fetch", "attempt": 2,
                                     "stream": "stdout", "text": big + str(k), "ts": 1.0 + k}
                                    for k in range(2)])
    create_backup(src, tmp_path / "a.fdbackup")
    dst = open_engine(f"sqlite:///{tmp_path / 'dst.db'}")
    restore_backup(dst, tmp_path / "a.fdbackup")
    assert dump(dst) == dump(src)
    with dst.connect() as conn:
        texts = conn.execute(select(logs.c.text).where(logs.c.attempt == 2)
                             .order_by(logs.c.ts)).scalars().all()
    assert texts == [big + "0", big + "1"]
    src.dispose()
    dst.dispose()


def test_live_runs_are_those_with_a_live_owner(sqlite_url: str) -> None:
    import os
    import socket
    import time

    from sqlalchemy import update

    from engine.backup import live_runs

    engine = open_engine(sqlite_url)
    fill_store(engine, 5, seed=4)
    here = socket.gethostname()
    owners = {  # run id: (owner, lease_until)
        "run000000": (f"{here}:{os.getpid()}:a", 0.0),              # this very process
        "run000001": ("elsewhere.example:77:b", time.time() + 60),  # another host, fresh lease
        "run000002": ("elsewhere.example:78:c", time.time() - 1),   # another host, lease expired
        "run000003": (f"{here}:999999999:d", time.time() + 60),     # no such process here
    }
    with write_transaction(engine) as conn:
        for run_id, (owner, lease) in owners.items():
            conn.execute(update(runs).where(runs.c.id == run_id).values(
                status="running", owner=owner, lease_until=lease))
        conn.execute(update(runs).where(runs.c.id == "run000004").values(
            status="succeeded", owner=f"{here}:{os.getpid()}:e"))
    assert live_runs(engine) == ["run000000", "run000001"]
    engine.dispose()


def test_a_restore_is_recorded_in_the_audit_log(tmp_path: Path) -> None:
    """A restore is a security event: after it, the restored store's audit log names it."""
    from sqlalchemy import select

    from engine.store import open_engine
    from engine.store.schema import audit_log

    source = open_engine(f"sqlite:///{tmp_path / 'a.db'}")
    archive = tmp_path / "a.fdbackup"
    create_backup(source, archive)
    target = open_engine(f"sqlite:///{tmp_path / 'b.db'}")
    restore_backup(target, archive)
    with target.connect() as conn:
        rows = conn.execute(select(audit_log.c.action, audit_log.c.target)).all()
    assert [(r.action, r.target) for r in rows] == [("restore", str(archive))]
    source.dispose()
    target.dispose()
