"""CLI details a user meets: who is recorded, and how a mistyped node is refused."""

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


def test_cancel_of_an_unknown_node_is_a_usage_error_like_approve(tmp_path: Path) -> None:
    store = f"sqlite:///{tmp_path / 'r.db'}"
    approval = ROOT / "resources" / "examples" / "approval.flow.json"
    ran = subprocess.run([sys.executable, "-m", "engine.cli", "run", str(approval), "--json",
                          "--store", store], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert ran.returncode == 3, ran.stderr
    run_id = json.loads(ran.stdout)["run_id"]
    for command in (["cancel", run_id, "--node", "sign_of"], ["approve", run_id, "sign_of"]):
        proc = subprocess.run([sys.executable, "-m", "engine.cli", *command, "--store", store],
                              capture_output=True, text=True, cwd=ROOT, timeout=60)
        assert (proc.returncode, proc.stderr) == (
            2, f"error: run '{run_id}' has no node 'sign_of'\n")
    shown = subprocess.run([sys.executable, "-m", "engine.cli", "show", run_id, "--json",
                            "--store", store], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert json.loads(shown.stdout)["status"] == "waiting"  # nothing was changed
