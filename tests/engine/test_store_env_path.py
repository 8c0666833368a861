"""FLOWDESK_STORE takes what --store takes: a URL or a plain path to a SQLite file."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HELLO = ROOT / "resources" / "examples" / "hello.flow.json"


def _cli(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "engine.cli", *args], capture_output=True,
                          text=True, cwd=cwd, env=env, timeout=60)


def test_flowdesk_store_may_be_a_plain_path(tmp_path: Path) -> None:
    env = {**os.environ, "FLOWDESK_STORE": "team.db", "PYTHONPATH": str(ROOT)}
    ran = _cli("run", str(HELLO), "-i", "who=Ada", env=env, cwd=tmp_path)
    assert ran.returncode == 0, ran.stderr
    assert (tmp_path / "team.db").is_file()
    listed = _cli("runs", "--store", str(tmp_path / "team.db"), env=env, cwd=tmp_path)
    assert "succeeded" in listed.stdout and "hello" in listed.stdout


def test_a_file_that_is_not_a_database_is_named(tmp_path: Path) -> None:
    notes = tmp_path / "notes.db"
    notes.write_text("my shopping list\n")
    proc = _cli("runs", "--store", str(notes), env=dict(os.environ), cwd=ROOT)
    assert proc.returncode == 2
    assert proc.stderr == (f"error: cannot open the store sqlite:///{notes}: "
                           "file is not a database\n")
    assert notes.read_text() == "my shopping list\n"  # nothing lost


def test_a_silent_postgresql_host_gives_up_with_one_sentence() -> None:
    listener = socket.create_server(("127.0.0.1", 0))  # accepts, never answers
    port = listener.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if k != "PGCONNECT_TIMEOUT"}
    try:
        proc = _cli("runs", "--store", f"postgresql+psycopg://u:pw@127.0.0.1:{port}/db",
                    env=env, cwd=ROOT)
    finally:
        listener.close()
    assert proc.returncode == 2
    assert proc.stderr.startswith(f"error: cannot open the store "
                                  f"postgresql+psycopg://u:***@127.0.0.1:{port}/db: ")
    assert "timeout" in proc.stderr and proc.stderr.count("\n") == 1
