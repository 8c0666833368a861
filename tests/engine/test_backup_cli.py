"""``flowdesk backup / restore / verify``: exit codes 0 ok, 1 refused, 2 usage; one-line errors."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select, update
from test_backup import dump, fill_store

from engine.cli import main
from engine.store import open_engine, write_transaction
from engine.store.schema import runs


@pytest.fixture
def stores(tmp_path: Path) -> tuple[str, str]:
    """A source store with 6 runs and a target store with 3 other runs."""
    src, dst = f"sqlite:///{tmp_path / 'src.db'}", f"sqlite:///{tmp_path / 'dst.db'}"
    for url, n, seed in ((src, 5, 1), (dst, 2, 2)):
        engine = open_engine(url)
        fill_store(engine, n, seed)
        engine.dispose()
    return src, dst


def _dump(url: str) -> dict:
    engine = open_engine(url)
    try:
        return dump(engine)
    finally:
        engine.dispose()


def _one_error_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    return lines[0]


def test_backup_verify_restore(stores: tuple[str, str], tmp_path: Path, capsys,
                               flowdesk_home: Path) -> None:
    src, dst = stores
    archive = tmp_path / "nightly.fdbackup"
    assert main(["backup", str(archive), "--store", src]) == 0
    assert "backed up 6 runs" in capsys.readouterr().out
    assert main(["verify", str(archive)]) == 0
    out = capsys.readouterr().out
    assert "a good Flowdesk backup of a sqlite store" in out and "6 runs" in out

    before = _dump(dst)
    assert main(["restore", str(archive), "--store", dst]) == 1
    assert "is not empty (3 runs" in _one_error_line(capsys.readouterr().err)
    assert _dump(dst) == before

    assert main(["restore", str(archive), "--store", dst, "--force"]) == 0
    cap = capsys.readouterr()
    assert "restored 6 runs" in cap.out
    assert _dump(dst) == _dump(src)
    saved = list((flowdesk_home / "backups").glob("pre-restore-*.fdbackup"))
    assert len(saved) == 1 and str(saved[0]) in cap.err

    # undo with the pre-restore backup
    assert main(["restore", str(saved[0]), "--store", dst, "--force"]) == 0
    assert _dump(dst) == before


def test_backup_does_not_overwrite_and_usage_errors(stores: tuple[str, str], tmp_path: Path,
                                                    capsys) -> None:
    src, _ = stores
    archive = tmp_path / "a.fdbackup"
    archive.write_text("precious")
    assert main(["backup", str(archive), "--store", src]) == 1
    assert "already exists" in _one_error_line(capsys.readouterr().err)
    assert archive.read_text() == "precious"
    assert main(["verify", str(tmp_path / "missing.fdbackup")]) == 2
    assert "does not exist" in _one_error_line(capsys.readouterr().err)
    assert main(["backup", str(tmp_path / "b.fdbackup"), "--store", "nonsense://x"]) == 2
    _one_error_line(capsys.readouterr().err)
    with pytest.raises(SystemExit) as info:
        main(["restore"])
    assert info.value.code == 2


def test_damaged_archive_is_refused_by_verify_and_restore(stores: tuple[str, str],
                                                          tmp_path: Path, capsys) -> None:
    src, dst = stores
    archive = tmp_path / "a.fdbackup"
    assert main(["backup", str(archive), "--store", src]) == 0
    data = archive.read_bytes()
    archive.write_bytes(data[: len(data) - 200])
    capsys.readouterr()
    assert main(["verify", str(archive)]) == 1
    assert "truncated" in _one_error_line(capsys.readouterr().err)
    before = _dump(dst)
    assert main(["restore", str(archive), "--store", dst, "--force"]) == 1
    _one_error_line(capsys.readouterr().err)
    assert _dump(dst) == before


def test_restore_refuses_while_a_live_executor_owns_a_run(stores: tuple[str, str],
                                                          tmp_path: Path, capsys) -> None:
    src, dst = stores
    archive = tmp_path / "a.fdbackup"
    assert main(["backup", str(archive), "--store", src]) == 0
    engine = open_engine(dst)
    with write_transaction(engine) as conn:
        first, second = conn.execute(select(runs.c.id).order_by(runs.c.id).limit(2)).scalars()
        # a run whose owner process is gone does not count; one owned by us does
        dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                              capture_output=True, text=True, check=True).stdout.strip()
        conn.execute(update(runs).where(runs.c.id == first).values(
            status="running", owner=f"{socket.gethostname()}:{dead}:x", lease_until=0.0))
        conn.execute(update(runs).where(runs.c.id == second).values(
            status="running", owner=f"{socket.gethostname()}:{os.getpid()}:y",
            lease_until=time.time() + 60))
    engine.dispose()
    before = _dump(dst)
    capsys.readouterr()
    assert main(["restore", str(archive), "--store", dst]) == 1
    line = _one_error_line(capsys.readouterr().err)
    assert f"1 run(s) are being executed right now (e.g. {second})" in line
    assert _dump(dst) == before
    assert main(["restore", str(archive), "--store", dst, "--force"]) == 0
    assert _dump(dst) == _dump(src)


def test_console_script_exit_codes(stores: tuple[str, str], tmp_path: Path) -> None:
    """The real ``flowdesk`` command, in its own process."""
    src, _ = stores
    exe = Path(sys.executable).with_name("flowdesk")
    archive = tmp_path / "a.fdbackup"
    ok = subprocess.run([str(exe), "backup", str(archive), "--store", src],
                        capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    (tmp_path / "notes.txt").write_text("not a backup")
    bad = subprocess.run([str(exe), "verify", str(tmp_path / "notes.txt")],
                         capture_output=True, text=True)
    assert bad.returncode == 1
    assert bad.stderr.count("\n") == 1 and "not a Flowdesk backup" in bad.stderr
    engine = open_engine(src)
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(runs)).scalar_one() == 6
    engine.dispose()
