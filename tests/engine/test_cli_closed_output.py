"""A reader that stops early (``flowdesk runs --json | head``) ends the command quietly."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_closed_stdout_gives_no_error_line(tmp_path: Path) -> None:
    store = f"sqlite:///{tmp_path / 'runs.db'}"
    read_end, write_end = os.pipe()
    os.close(read_end)  # like `head` having exited before we print
    try:
        proc = subprocess.run([sys.executable, "-m", "engine.cli", "runs", "--json",
                               "--store", store], stdout=write_end, stderr=subprocess.PIPE,
                              text=True, cwd=ROOT, timeout=60)
    finally:
        os.close(write_end)
    assert proc.stderr == ""
    assert proc.returncode == 141
