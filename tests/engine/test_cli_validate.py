"""``flowdesk validate FILE…``: exit codes, one line per problem, and --json."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from engine.cli import main

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "resources" / "examples").glob("*.flow.json"))


def write(tmp_path: Path, name: str, data: Any) -> Path:
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else json.dumps(data), encoding="utf-8")
    return path


def good() -> dict[str, Any]:
    return {"format": "flowdesk/1", "name": "ok",
            "nodes": [{"id": "start", "kind": "start"}, {"id": "end", "kind": "end"}],
            "edges": [{"from": "start", "to": "end"}]}


def invalid() -> dict[str, Any]:
    d = good()
    d["nodes"].append({"id": "lost", "kind": "delay", "config": {"seconds": "later"}})
    d["edges"].append({"from": "lost", "to": "end"})
    d["edges"].append({"from": "start", "to": "ghost"})
    return d


def warning_only() -> dict[str, Any]:
    d = good()
    d["nodes"].append({"id": "side", "kind": "set", "config": {"vars": {"a": 1}}})
    d["edges"].append({"from": "start", "to": "side"})
    return d


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["validate", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_valid_files_exit_0_and_print_nothing(tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, str(write(tmp_path, "a.flow.json", good())),
                         *map(str, EXAMPLES))
    assert (code, out, err) == (0, "", "")


def test_invalid_file_exits_1_with_one_line_per_problem(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, "bad.flow.json", invalid())
    code, out, err = run(capsys, str(path))
    assert code == 1 and err == ""
    lines = out.splitlines()
    assert f"{path}: node 'lost': not reachable from the start node" in lines
    assert f"{path}: node 'lost': config 'seconds' must be a number" in lines
    assert (f"{path}: edge 2: edge start -> ghost names a node that does not exist: 'ghost'"
            in lines)
    assert len(lines) == 3


def test_warnings_alone_exit_0_and_are_marked(tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, "w.flow.json", warning_only())
    code, out, _ = run(capsys, str(path))
    assert code == 0
    assert out == f"{path}: node 'side': warning: no path from this node reaches an end node\n"


def test_a_subflow_file_that_is_not_there_is_a_warning(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    d = good()
    d["nodes"].insert(1, {"id": "call", "kind": "subflow",
                          "config": {"flow": "child.flow.json"}})
    d["edges"] = [{"from": "start", "to": "call"}, {"from": "call", "to": "end"}]
    path = write(tmp_path, "parent.flow.json", d)
    code, out, _ = run(capsys, str(path))
    assert code == 0
    assert out == (f"{path}: node 'call': warning: the subflow file 'child.flow.json' does not "
                   "exist next to this flow\n")
    write(tmp_path, "child.flow.json", good())
    assert run(capsys, str(path)) == (0, "", "")
    d["nodes"][1]["config"]["flow"] = "deployed-name"  # may be a deployed flow: no warning
    assert run(capsys, str(write(tmp_path, "p2.flow.json", d))) == (0, "", "")


def test_flow_level_problems_have_no_node(tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    d = good()
    d["nodes"] = [{"id": "start", "kind": "start"}]
    d["edges"] = []
    path = write(tmp_path, "noend.flow.json", d)
    code, out, _ = run(capsys, str(path))
    assert (code, out) == (1, f"{path}: the flow has no end node\n")


@pytest.mark.parametrize("content,words", [
    ("{not json", "not valid JSON"),
    (json.dumps({**good(), "format": "flowdesk/9"}), 'unsupported format "flowdesk/9"'),
    (json.dumps({**good(), "nodes": [{"id": "start", "kind": "rocket"}]}),
     "node 'start': field 'kind': unknown kind \"rocket\""),
])
def test_unreadable_files_exit_2_with_one_sentence_on_stderr(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str, words: str) -> None:
    path = write(tmp_path, "u.flow.json", content)
    code, out, err = run(capsys, str(path))
    assert code == 2 and out == ""
    assert err.startswith(f"{path}: ") and words in err and err.count("\n") == 1


def test_missing_file_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, str(tmp_path / "nope.flow.json"))
    assert code == 2 and err == f"{tmp_path / 'nope.flow.json'}: no such file\n"


def test_the_worst_file_decides_the_exit_code(tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    ok = str(write(tmp_path, "ok.flow.json", good()))
    bad = str(write(tmp_path, "bad.flow.json", invalid()))
    broken = str(write(tmp_path, "broken.flow.json", "[]"))
    assert run(capsys, ok, bad)[0] == 1
    assert run(capsys, bad, ok)[0] == 1
    assert run(capsys, bad, broken, ok)[0] == 2
    code, out, err = run(capsys, broken, bad)
    assert code == 2 and "a flow file must hold a JSON object" in err and bad in out


def test_json_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ok = str(write(tmp_path, "ok.flow.json", good()))
    bad = str(write(tmp_path, "bad.flow.json", invalid()))
    warn = str(write(tmp_path, "warn.flow.json", warning_only()))
    broken = str(write(tmp_path, "broken.flow.json",
                       json.dumps({**good(), "nodes": [{"id": "s", "kind": "start", "z": 1}]})))
    code, out, err = run(capsys, "--json", ok, bad, warn, broken)
    assert code == 2 and err == ""
    report = json.loads(out)
    assert [r["file"] for r in report] == [ok, bad, warn, broken]
    assert report[0] == {"file": ok, "readable": True, "valid": True, "problems": []}
    assert report[1]["valid"] is False and report[1]["readable"] is True
    assert {"severity": "error", "message": "not reachable from the start node",
            "node": "lost"} in report[1]["problems"]
    assert {"severity": "error", "message": "config 'seconds' must be a number",
            "node": "lost", "field": "config.seconds"} in report[1]["problems"]
    assert any(p.get("edge") == 2 for p in report[1]["problems"])
    assert report[2]["valid"] is True
    assert report[2]["problems"][0]["severity"] == "warning"
    assert report[3]["readable"] is False and report[3]["valid"] is False
    assert report[3]["problems"] == [{"severity": "error", "node": "s",
                                      "message": "unknown node field 'z' (allowed: id, kind, "
                                                 "name, config, retry, timeout_s, join, "
                                                 "cancel_others, cancels, x, y)"}]


def test_json_of_valid_files_exits_0(tmp_path: Path,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "--json", *map(str, EXAMPLES))
    assert code == 0
    assert all(r["valid"] and r["problems"] == [] for r in json.loads(out))


def test_the_installed_command_end_to_end(tmp_path: Path) -> None:
    """Through the real console entry (app.entry), as a user types it; no Qt imported."""
    bad = write(tmp_path, "bad.flow.json", invalid())
    ok = write(tmp_path, "ok.flow.json", good())
    probe = ("import sys; from app.entry import main; code = main(sys.argv[1:]); "
             "assert 'PySide6' not in sys.modules, 'validate imported Qt'; sys.exit(code)")
    proc = subprocess.run([sys.executable, "-c", probe, "validate", str(ok), str(bad)],
                          capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert proc.returncode == 1, proc.stderr
    assert f"{bad}: node 'lost': not reachable from the start node" in proc.stdout
    assert str(ok) not in proc.stdout
    usage = subprocess.run([sys.executable, "-c", probe, "validate"], capture_output=True,
                           text=True, cwd=ROOT, timeout=60)
    assert usage.returncode == 2 and "the following arguments are required: FILE" in \
        usage.stderr
    assert "Traceback" not in usage.stderr + proc.stderr
