"""The layering ``app > designer > engine``: engine never imports Qt, designer or app."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FORBIDDEN = {
    "engine": {"PySide6", "shiboken6", "designer", "app", "pytestqt"},
    "designer": {"app"},
}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_packages_import_only_downwards() -> None:
    offences = []
    for package, forbidden in FORBIDDEN.items():
        for path in sorted((ROOT / package).rglob("*.py")):
            bad = _imports(path) & forbidden
            if bad:
                offences.append(f"{path.relative_to(ROOT)} imports {', '.join(sorted(bad))}")
    assert offences == []


def test_engine_and_cli_load_without_qt() -> None:
    """Importing the engine and its whole command line pulls in no Qt module."""
    code = (
        "import sys, engine.cli, engine.validate, engine.expressions, engine.flowfile, app.entry\n"
        "engine.cli.build_parser()\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in "
        "('PySide6', 'shiboken6', 'designer'))\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=ROOT, check=True)
    assert out.stdout.strip() == ""


def test_a_forbidden_import_is_caught(tmp_path: Path) -> None:
    """The checker itself sees `from PySide6 import …` (so the first test can fail)."""
    f = tmp_path / "m.py"
    f.write_text("from PySide6.QtCore import QObject\nimport designer.scene\n")
    assert _imports(f) == {"PySide6", "designer"}
