"""Runs started and approvals decided from a shell without $USER still name the account."""

from __future__ import annotations

import json
import os
import pwd
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HELLO = ROOT / "resources" / "examples" / "hello.flow.json"


def test_run_without_user_variable_records_the_account(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("USER", "USERNAME", "LOGNAME")}
    proc = subprocess.run([sys.executable, "-m", "engine.cli", "run", str(HELLO), "--json",
                           "--store", f"sqlite:///{tmp_path / 'r.db'}"], capture_output=True,
                          text=True, cwd=ROOT, env=env, timeout=60)
    assert proc.returncode == 0, proc.stderr
    account = pwd.getpwuid(os.getuid()).pw_name
    assert json.loads(proc.stdout)["created_by"] == account
