"""The ``flowdesk`` console script: its own commands, and no core dump without a display."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _flowdesk(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", "import sys, app.entry; "
                           "sys.exit(app.entry.main())", *args],
                          capture_output=True, text=True, cwd=ROOT, env=env, timeout=60)


def test_no_display_is_one_sentence_not_a_crash(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items()
           if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    env["FLOWDESK_HOME"] = str(tmp_path)
    out = _flowdesk(env=env)
    assert out.returncode == 2
    assert out.stderr.startswith("error: there is no display") and out.stderr.count("\n") == 1
    assert "QT_QPA_PLATFORM=offscreen" in out.stderr


def test_help_lists_the_app_and_export(tmp_path: Path) -> None:
    out = _flowdesk("--help", env={**os.environ, "FLOWDESK_HOME": str(tmp_path)})
    assert out.returncode == 0
    for command in ("gui", "export", "run", "validate", "serve", "worker", "backup"):
        assert f"\n    {command} " in out.stdout, command
