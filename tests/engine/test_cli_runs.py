"""``flowdesk run/runs/show/cancel/approve/resume`` as a user types them: exit codes and words."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from executor_testkit import delay, end, flow, node, setv, start, wait_for

from engine.cli import main
from engine.flowfile import save_flow
from engine.runs import RunStore

ROOT = Path(__file__).resolve().parents[2]
ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00$")


def _file(tmp_path: Path, f, name: str = "f.flow.json") -> str:
    path = tmp_path / name
    save_flow(f, path)
    return str(path)


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "engine.cli", *args], capture_output=True,
                          text=True, cwd=ROOT, timeout=60)


HELLO = flow([start(), setv("greet", text="Hello, {{ inputs.who }}!"),
              end("end", greeting="{{ vars.text }}")], ["start>greet", "greet>end"],
             name="hello", inputs={"who": {"type": "string"},
                                   "times": {"type": "integer", "default": 1}})


def test_run_json_prints_the_run_document(tmp_path: Path, sqlite_url: str, capsys) -> None:
    path = _file(tmp_path, HELLO)
    code = main(["run", path, "--input", "who=Ada", "--store", sqlite_url, "--json"])
    out = capsys.readouterr().out
    assert code == 0
    doc = json.loads(out)
    assert doc["status"] == "succeeded"
    assert doc["outputs"] == {"greeting": "Hello, Ada!"}
    assert set(doc["nodes"]) == {"start", "greet", "end"}
    for n in doc["nodes"].values():
        assert {"status", "attempts", "output", "started_at", "finished_at"} <= set(n)
        assert ISO.match(n["started_at"]) and ISO.match(n["finished_at"])
    assert RunStore.open(sqlite_url).get_run(doc["run_id"])["status"] == "succeeded"


def test_run_human_output_and_show(tmp_path: Path, sqlite_url: str, capsys) -> None:
    path = _file(tmp_path, HELLO)
    assert main(["run", path, "-i", "who=Bo", "--store", sqlite_url]) == 0
    out = capsys.readouterr().out
    assert re.search(r"^run [0-9a-f]{32} \(hello\): succeeded in \d+ ms$", out, re.M)
    assert re.search(r"^  greet\s+succeeded\s+1 attempt, \d+ ms$", out, re.M)
    assert 'outputs: {"greeting": "Hello, Bo!"}' in out
    run_id = out.split()[1]
    assert main(["show", run_id, "--store", sqlite_url]) == 0
    assert "greet" in capsys.readouterr().out
    assert main(["runs", "--store", sqlite_url, "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [(r["run_id"], r["status"], r["flow_name"]) for r in rows] == [
        (run_id, "succeeded", "hello")]
    assert main(["runs", "--store", sqlite_url, "--status", "failed"]) == 0
    assert capsys.readouterr().out.strip() == "no runs"


@pytest.mark.parametrize(("args", "message"), [
    ([], "error: input 'who' is required (string): give it with --input who=VALUE"),
    (["-i", "who=x", "-i", "times=many"], "error: input 'times' must be an integer, not "
                                           "'many'"),
    (["-i", "who"], "error: --input needs NAME=VALUE, not 'who'"),
    (["-i", "nobody=1"], "error: the flow has no input 'nobody' (its inputs: who, times)"),
])
def test_bad_inputs_exit_2_before_anything_runs(tmp_path: Path, sqlite_url: str, capsys,
                                                args: list[str], message: str) -> None:
    path = _file(tmp_path, HELLO)
    assert main(["run", path, "--store", sqlite_url, *args]) == 2
    assert capsys.readouterr().err.strip() == message
    assert RunStore.open(sqlite_url).count_runs() == 0


def test_invalid_flow_prints_the_validators_problems(tmp_path: Path, sqlite_url: str,
                                                     capsys) -> None:
    f = flow([start(), setv("a", x=1), setv("orphan", y=1)], ["start>a"])
    path = _file(tmp_path, f)
    assert main(["run", path, "--store", sqlite_url]) == 2
    err = capsys.readouterr().err.splitlines()
    assert f"{path}: the flow has no end node" in err
    assert f"{path}: node 'orphan': not reachable from the start node" in err
    assert err[-1] == f"error: {path} is not a valid flow (2 problems)"


def test_unreadable_files_exit_2(tmp_path: Path, capsys) -> None:
    assert main(["run", str(tmp_path / "nope.flow.json")]) == 2
    assert capsys.readouterr().err.strip() == f"error: {tmp_path / 'nope.flow.json'}: no such file"
    bad = tmp_path / "old.flow.json"
    bad.write_text('{"format": "flowdesk/0", "name": "x", "nodes": []}')
    assert main(["run", str(bad)]) == 2
    assert 'unsupported format "flowdesk/0"' in capsys.readouterr().err


def test_a_failure_at_run_time_exits_1_naming_the_problem(tmp_path: Path, sqlite_url: str,
                                                          capsys) -> None:
    f = flow([start(), setv("calc", x="{{ inputs.missing_name * 2 }}"), end()],
             ["start>calc", "calc>end"])
    assert main(["run", _file(tmp_path, f), "--store", sqlite_url, "--json"]) == 1
    doc = json.loads(capsys.readouterr().out)
    assert doc["status"] == "failed"
    assert doc["error"] == ("node 'calc' failed: undefined name 'missing_name' in "
                            "'inputs.missing_name * 2'")
    assert doc["nodes"]["end"]["status"] == "cancelled"


def test_detach_only_enqueues(tmp_path: Path, sqlite_url: str, capsys) -> None:
    path = _file(tmp_path, HELLO)
    assert main(["run", path, "-i", "who=x", "--detach", "--json", "--store", sqlite_url]) == 0
    run_id = json.loads(capsys.readouterr().out)["run_id"]
    doc = RunStore.open(sqlite_url).get_run(run_id)
    assert doc["status"] == "pending" and doc["detached"] is True
    assert {n["status"] for n in doc["nodes"].values()} == {"pending"}
    # resume without a run id leaves enqueued runs to workers; naming it runs it
    assert main(["resume", "--store", sqlite_url]) == 0
    assert capsys.readouterr().out.strip() == "no run needed resuming"
    assert main(["resume", run_id, "--store", sqlite_url]) == 0
    assert RunStore.open(sqlite_url).get_run(run_id)["status"] == "succeeded"


def test_unknown_run_and_bad_store_are_one_sentence(sqlite_url: str, capsys) -> None:
    assert main(["show", "feedbeef", "--store", sqlite_url]) == 2
    assert capsys.readouterr().err.strip() == "error: no run with id 'feedbeef'"
    assert main(["runs", "--store", "nonsense://x"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == "error: unsupported store 'nonsense://x': use sqlite:// or postgresql+psycopg://"


def test_approval_waits_exit_3_then_approve_from_another_process(tmp_path: Path,
                                                                 store_url: str) -> None:
    f = flow([start(), node("ask", "approval", config={"prompt": "Deploy?"}),
              end("end", by="{{ nodes.ask.output.by }}")], ["start>ask", "ask>end"])
    path = _file(tmp_path, f)
    first = _cli("run", path, "--store", store_url, "--json")
    assert first.returncode == 3, first.stderr
    run_id = json.loads(first.stdout)["run_id"]
    assert json.loads(first.stdout)["status"] == "waiting"
    second = _cli("approve", run_id, "ask", "--comment", "ok", "--store", store_url, "--json")
    assert second.returncode == 0, second.stderr
    doc = json.loads(second.stdout)
    assert doc["status"] == "succeeded" and doc["outputs"]["by"]
    again = _cli("approve", run_id, "ask", "--store", store_url)
    assert again.returncode == 2
    assert again.stderr.strip() == (f"error: node 'ask' of run '{run_id}' is not waiting "
                                    "for an approval (it is succeeded)")


def test_reject_from_the_cli_fails_the_run(tmp_path: Path, sqlite_url: str, capsys) -> None:
    f = flow([start(), node("ask", "approval", config={"prompt": "Deploy?"}), end()],
             ["start>ask", "ask>end"])
    assert main(["run", _file(tmp_path, f), "--store", sqlite_url, "--json"]) == 3
    run_id = json.loads(capsys.readouterr().out)["run_id"]
    assert main(["approve", run_id, "ask", "--reject", "--comment", "no", "--store",
                 sqlite_url]) == 1
    out = capsys.readouterr().out
    assert "failed" in out and "rejected by" in out


def test_cancel_from_another_process_stops_a_running_run(tmp_path: Path,
                                                         store_url: str) -> None:
    f = flow([start(), delay("long", 60), end()], ["start>long", "long>end"])
    path = _file(tmp_path, f)
    runner = subprocess.Popen([sys.executable, "-m", "engine.cli", "run", path, "--store",
                               store_url, "--json"], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        store = RunStore.open(store_url)
        wait_for(lambda: bool(store.list_runs()) and store.get_run(
            store.list_runs()[0]["run_id"])["nodes"]["long"]["status"] == "running")
        run_id = store.list_runs()[0]["run_id"]
        cancel = _cli("cancel", run_id, "--store", store_url)
        assert cancel.returncode == 0, cancel.stderr
        assert cancel.stdout.strip() == f"run {run_id}: cancel requested"
        out, err = runner.communicate(timeout=30)
    finally:
        if runner.poll() is None:
            runner.kill()
            runner.communicate()
    assert runner.returncode == 1, err
    doc = json.loads(out)
    assert doc["status"] == "cancelled"
    assert doc["nodes"]["long"]["status"] == "cancelled"
    store.close()


def test_cancel_one_node_of_a_waiting_run_continues_it(tmp_path: Path, sqlite_url: str,
                                                       capsys) -> None:
    f = flow([start(), node("ask", "approval", config={"prompt": "?"}), end("e1"),
              setv("other", x=1), end("e2", x="{{ vars.x }}")],
             ["start>ask", "ask>e1", "start>other", "other>e2"])
    assert main(["run", _file(tmp_path, f), "--store", sqlite_url, "--json"]) == 3
    run_id = json.loads(capsys.readouterr().out)["run_id"]
    assert main(["cancel", run_id, "--node", "ask", "--store", sqlite_url]) == 0
    assert capsys.readouterr().out.strip() == (f"node 'ask' of run {run_id}: cancelled; the "
                                               "run is succeeded")
    doc = RunStore.open(sqlite_url).get_run(run_id)
    assert (doc["nodes"]["ask"]["status"], doc["nodes"]["e1"]["status"]) == ("cancelled",
                                                                           "skipped")
    assert main(["cancel", run_id, "--store", sqlite_url]) == 1
    assert capsys.readouterr().err.strip() == f"error: run '{run_id}' has already succeeded"


def test_resume_of_a_run_owned_by_a_live_process_is_refused(tmp_path: Path, sqlite_url: str,
                                                            capsys) -> None:
    f = flow([start(), delay("long", 60), end()], ["start>long", "long>end"])
    path = _file(tmp_path, f)
    runner = subprocess.Popen([sys.executable, "-m", "engine.cli", "run", path, "--store",
                               sqlite_url], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, cwd=ROOT)
    try:
        store = RunStore.open(sqlite_url)
        wait_for(lambda: bool(store.list_runs()) and store.list_runs()[0]["status"]
                 == "running")
        run_id = store.list_runs()[0]["run_id"]
        assert main(["resume", run_id, "--store", sqlite_url]) == 1
        assert "is being executed by another process" in capsys.readouterr().err
    finally:
        runner.kill()
        runner.wait()
    time.sleep(0.05)
    # the owner is gone now: resume takes the run over and keeps the delay's due time
    store.request_cancel(run_id, "long")
    assert main(["resume", "--store", sqlite_url]) == 0
    assert capsys.readouterr().out.strip() == f"run {run_id}: succeeded"


def test_ctrl_c_cancels_the_run_and_kills_its_command(tmp_path: Path, sqlite_url: str) -> None:
    import signal

    marker, began = tmp_path / "finished", tmp_path / "began"
    script = f"touch {began}; sleep 30; touch {marker}"
    f = flow([start(), node("w", "shell", config={"command": ["sh", "-c", script]}), end()],
             ["start>w", "w>end"])
    path = _file(tmp_path, f)
    # A terminal's Ctrl-C; the default disposition is restored in case this test itself
    # runs where SIGINT is ignored (a background job, `timeout`).
    runner = subprocess.Popen([sys.executable, "-m", "engine.cli", "run", path, "--store",
                               sqlite_url], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True, cwd=ROOT,
                              preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    store = RunStore.open(sqlite_url)
    try:
        # (once the command has started: a cancel while asyncio is still spawning it waits
        # for the command to end, see the report on the shell kind)
        wait_for(began.exists)
        runner.send_signal(signal.SIGINT)
        _, err = runner.communicate(timeout=30)
    finally:
        if runner.poll() is None:
            runner.kill()
            runner.communicate()
    assert runner.returncode == 130
    assert err.strip().endswith("error: interrupted")
    doc = store.get_run(store.list_runs()[0]["run_id"])
    assert doc["status"] == "cancelled" and doc["nodes"]["w"]["status"] == "cancelled"
    assert not marker.exists()
    store.close()


@pytest.mark.parametrize(("expr", "message"), [
    ("{{ 1 / 0 }}", "node 'calc' failed: ZeroDivisionError: division by zero in '1 / 0'"),
    ("{{ 'a' + 1 }}", "node 'calc' failed: TypeError: can only concatenate str (not \"int\") "
                      "to str in \"'a' + 1\""),
    ("{{ vars.nope.deeper }}", "node 'calc' failed: undefined name 'nope' in "
                               "'vars.nope.deeper'"),
])
def test_expression_errors_at_run_time(tmp_path: Path, sqlite_url: str, capsys, expr: str,
                                       message: str) -> None:
    f = flow([start(), setv("calc", x=expr), end()], ["start>calc", "calc>end"])
    assert main(["run", _file(tmp_path, f), "--store", sqlite_url]) == 1
    out = capsys.readouterr().out
    assert f"  error: {message}" in out.splitlines()


def test_wrong_node_or_run_in_commands_is_one_sentence(tmp_path: Path, sqlite_url: str,
                                                       capsys) -> None:
    f = flow([start(), node("ask", "approval", config={"prompt": "?"}), end()],
             ["start>ask", "ask>end"])
    assert main(["run", _file(tmp_path, f), "--store", sqlite_url, "--json"]) == 3
    run_id = json.loads(capsys.readouterr().out)["run_id"]
    assert main(["approve", run_id, "nosuch", "--store", sqlite_url]) == 2
    assert capsys.readouterr().err.strip() == f"error: run '{run_id}' has no node 'nosuch'"
    assert main(["approve", "feedbeef", "ask", "--store", sqlite_url]) == 2
    assert capsys.readouterr().err.strip() == "error: no run with id 'feedbeef'"
    assert main(["cancel", run_id, "--node", "nosuch", "--store", sqlite_url]) == 2
    assert capsys.readouterr().err.strip() == f"error: run '{run_id}' has no node 'nosuch'"
    assert main(["cancel", run_id, "--node", "start", "--store", sqlite_url]) == 1
    assert capsys.readouterr().err.strip() == "error: node 'start' has already succeeded"
    assert main(["runs", "--limit", "0", "--store", sqlite_url]) == 2
    assert capsys.readouterr().err.strip() == "error: --limit must be at least 1"
    assert main(["resume", "feedbeef", "--store", sqlite_url]) == 2
    assert capsys.readouterr().err.strip() == "error: no run with id 'feedbeef'"
    # nothing was lost: the run still waits for its approval
    assert RunStore.open(sqlite_url).get_run(run_id)["nodes"]["ask"]["status"] == "waiting"
