"""The ``shell`` node, run for real: output, failures, cwd, env, the shell, and real kills."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from engine.kinds import implementation
from engine.kinds.base import NodeContext, NodeFailed
from engine.kinds.shell_kind import execute
from tests.engine.proc_testkit import gone


def make_ctx(config: dict[str, Any], logs: list[tuple[str, str]] | None = None,
             flow_dir: Path | None = None, attempt: int = 1) -> NodeContext:
    sink = logs if logs is not None else []
    return NodeContext(run_id="run-42", node_id="step", attempt=attempt, config=config,
                       scope={}, flow_dir=flow_dir,
                       log=lambda stream, text: sink.append((stream, text)))


def run(config: dict[str, Any], **kw: Any) -> Any:
    return asyncio.run(execute(make_ctx(config, **kw)))


def fail(config: dict[str, Any], **kw: Any) -> NodeFailed:
    with pytest.raises(NodeFailed) as info:
        run(config, **kw)
    return info.value


def test_the_registry_finds_this_module() -> None:
    assert implementation("shell").execute is execute


def test_success_gives_exit_code_stdout_stderr_and_streams_lines() -> None:
    logs: list[tuple[str, str]] = []
    out = run({"command": [sys.executable, "-c",
                           "import sys; print('one'); print('two'); "
                           "print('warn', file=sys.stderr)"]}, logs=logs)
    assert out == {"exit_code": 0, "stdout": "one\ntwo\n", "stderr": "warn\n"}
    assert [line for line in logs if line[0] == "stdout"] == [("stdout", "one"),
                                                              ("stdout", "two")]
    assert ("stderr", "warn") in logs


def test_lines_reach_the_log_while_the_program_still_runs(tmp_path: Path) -> None:
    """The program waits for a file that only the log callback creates: live or deadlock."""
    flag = tmp_path / "seen"
    script = (f"import os, time\nprint('first', flush=True)\n"
              f"while not os.path.exists({str(flag)!r}): time.sleep(0.01)\nprint('second')")

    def log(stream: str, text: str) -> None:
        if text == "first":
            flag.touch()

    ctx = NodeContext("r", "n", 1, {"command": [sys.executable, "-c", script]}, {}, log=log)
    out = asyncio.run(asyncio.wait_for(execute(ctx), 10))
    assert out["stdout"] == "first\nsecond\n"


def test_last_line_without_newline_is_kept() -> None:
    assert run({"command": ["printf", "a\\nb"]})["stdout"] == "a\nb"


def test_non_zero_exit_fails_and_keeps_the_output() -> None:
    err = fail({"command": ["sh", "-c", "echo partial; echo 'disk full' >&2; exit 3"]})
    assert err.message == "the command exited with code 3: disk full"
    assert err.output == {"exit_code": 3, "stdout": "partial\n", "stderr": "disk full\n"}


def test_killed_by_a_signal_says_which() -> None:
    err = fail({"command": ["sh", "-c", "kill -TERM $$"]})
    assert err.message == "the command was killed by SIGTERM"
    assert err.output["exit_code"] == -15


def test_missing_program_is_one_sentence() -> None:
    assert fail({"command": ["no-such-program-flowdesk"]}).message == \
        "program 'no-such-program-flowdesk' was not found on PATH"
    assert fail({"command": ["/nowhere/tool"]}).message == \
        "program '/nowhere/tool' was not found"


def test_a_file_that_is_not_executable_is_one_sentence(tmp_path: Path) -> None:
    script = tmp_path / "script.sh"
    script.write_text("echo hi\n")
    assert fail({"command": [str(script)]}).message == \
        f"program '{script}' cannot be run: permission denied"


def test_cwd_is_relative_to_the_flow_folder(tmp_path: Path) -> None:
    (tmp_path / "work").mkdir()
    out = run({"command": ["pwd"], "cwd": "work"}, flow_dir=tmp_path)
    assert out["stdout"].strip() == str(tmp_path / "work")
    # without cwd the program runs in the flow's folder
    assert run({"command": ["pwd"]}, flow_dir=tmp_path)["stdout"].strip() == str(tmp_path)


def test_missing_cwd_is_one_sentence(tmp_path: Path) -> None:
    err = fail({"command": ["pwd"], "cwd": "nope"}, flow_dir=tmp_path)
    assert err.message == f"the working directory '{tmp_path / 'nope'}' does not exist"


def test_env_adds_variables_and_null_removes_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLOWDESK_TEST_DROP", "present")
    out = run({"command": ["sh", "-c", 'echo "$GREETING $COUNT ${FLOWDESK_TEST_DROP:-unset}"'],
               "env": {"GREETING": "hello", "COUNT": 5, "FLOWDESK_TEST_DROP": None}})
    assert out["stdout"] == "hello 5 unset\n"


def test_flowdesk_variables_are_set() -> None:
    out = run({"command": ["sh", "-c", 'echo "$FLOWDESK_RUN_ID/$FLOWDESK_NODE_ID/'
                                       '$FLOWDESK_ATTEMPT"']}, attempt=3)
    assert out["stdout"] == "run-42/step/3\n"


def test_the_engine_secrets_are_not_inherited(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLOWDESK_JWT_SECRET", "k" * 40)
    monkeypatch.setenv("FLOWDESK_STORE", "postgresql+psycopg://u:pw@db/flowdesk")
    monkeypatch.setenv("BACKUP_PASSWORD", "hunter2")
    monkeypatch.setenv("REPORT_URL", "https://user:pw@example.com/x")
    monkeypatch.setenv("PLAIN_SETTING", "kept")
    out = run({"command": ["env"]})["stdout"]
    names = {line.split("=", 1)[0] for line in out.splitlines()}
    assert "PLAIN_SETTING" in names
    assert not names & {"FLOWDESK_JWT_SECRET", "FLOWDESK_STORE", "BACKUP_PASSWORD",
                        "REPORT_URL"}
    # a node that needs one gets it explicitly
    out = run({"command": ["sh", "-c", "echo $BACKUP_PASSWORD"],
               "env": {"BACKUP_PASSWORD": "given"}})
    assert out["stdout"] == "given\n"


def test_a_string_runs_through_the_shell_only_when_asked() -> None:
    assert run({"command": "echo $((2 + 3)) | tr 5 6", "shell": True})["stdout"] == "6\n"
    assert fail({"command": "echo hi"}).message.startswith(
        'a command given as one string needs "shell": true')


def test_a_list_with_shell_passes_the_rest_as_arguments() -> None:
    """Templated values stay arguments: no shell syntax in them is interpreted."""
    out = run({"command": ['echo "[$1]" "[$2]"', "a; rm -rf /", "$(id)"], "shell": True})
    assert out["stdout"] == "[a; rm -rf /] [$(id)]\n"


def test_numbers_in_a_command_become_text_and_bad_items_are_refused() -> None:
    assert run({"command": ["echo", 7, 1.5]})["stdout"] == "7 1.5\n"
    assert fail({"command": ["echo", {"a": 1}]}).message == \
        "command argument 2 must be text, not dict"
    assert fail({"command": []}).message == "the command must be a non-empty list of arguments"


def test_a_timeout_kills_the_program_and_its_children(tmp_path: Path) -> None:
    pids = tmp_path / "pids"
    script = f'sleep 30 & echo $! > {pids}.child; echo $$ > {pids}.parent; wait'

    async def scenario() -> float:
        started = time.monotonic()
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(execute(make_ctx({"command": ["sh", "-c", script]})), 1.0)
        return time.monotonic() - started

    took = asyncio.run(scenario())
    assert took < 5  # far below the 30 s sleep: the group was killed, not waited for
    parent = int(Path(f"{pids}.parent").read_text())
    child = int(Path(f"{pids}.child").read_text())
    assert gone(parent) and gone(child)


def test_a_program_that_ignores_sigterm_is_killed(tmp_path: Path) -> None:
    pid_file = tmp_path / "pid"
    script = f"trap '' TERM; echo $$ > {pid_file}; while true; do sleep 0.05; done"

    async def scenario() -> None:
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(execute(make_ctx({"command": ["sh", "-c", script]})), 0.5)

    asyncio.run(scenario())
    assert gone(int(pid_file.read_text()))


def test_a_crashed_engine_leaves_no_shell_work_running(tmp_path: Path) -> None:
    """kill -9 of the engine process: the guardian stops the node's whole process group.

    (The program waits 0.3 s before it says its pids: between the start of a
    program and its registration with the guardian there is a moment where a
    crash would leave it behind.)
    """
    pids = tmp_path / "pids"
    script = ("import asyncio, sys\n"
              "from engine.kinds.base import NodeContext\n"
              "from engine.kinds.shell_kind import execute\n"
              "cmd = 'sleep 0.3; sleep 30 & echo $! > %s.child; echo $$ > %s.parent; wait'"
              " % (sys.argv[1], sys.argv[1])\n"
              "asyncio.run(execute(NodeContext('r', 'n', 1, {'command': ['sh', '-c', cmd]},"
              " {})))\n")
    root = Path(__file__).resolve().parents[2]
    engine = subprocess.Popen([sys.executable, "-c", script, str(pids)], cwd=root)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not all(
                Path(f"{pids}.{w}").exists() and Path(f"{pids}.{w}").read_text()
                for w in ("child", "parent")):
            time.sleep(0.02)
        parent = int(Path(f"{pids}.parent").read_text())
        child = int(Path(f"{pids}.child").read_text())
        assert not gone(parent, within_s=0)
    finally:
        engine.kill()
        engine.wait()
    assert gone(parent, within_s=5) and gone(child, within_s=5)


def test_a_failing_log_callback_still_stops_the_program(tmp_path: Path) -> None:
    pid_file = tmp_path / "pid"

    def broken_log(stream: str, text: str) -> None:
        raise RuntimeError("the log store is gone")

    script = f"echo $$ > {pid_file}; echo line; sleep 30"
    ctx = NodeContext("r", "n", 1, {"command": ["sh", "-c", script]}, {}, log=broken_log)
    with pytest.raises(RuntimeError, match="the log store is gone"):
        asyncio.run(asyncio.wait_for(execute(ctx), 10))
    assert gone(int(pid_file.read_text()))


def _processes_with(token: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes()
                state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
            except OSError:
                continue
            if token.encode() in cmdline and state not in ("Z", "X"):
                found.append(int(entry.name))
    return found


@pytest.mark.parametrize("ticks", [0, 1, 2, 3, 5, 8])
def test_a_cancel_while_the_program_is_being_started_kills_it(ticks: int) -> None:
    """Cancelled before the process handle exists: still stopped, and at once."""
    token = f"flowdesk-spawn-cancel-{os.getpid()}-{ticks}"

    async def scenario() -> float:
        task = asyncio.ensure_future(execute(make_ctx(
            {"command": ["sh", "-c", f"sh -c 'sleep 30; :' {token} & wait"]})))
        for _ in range(ticks):
            await asyncio.sleep(0)
        started = time.monotonic()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return time.monotonic() - started

    assert asyncio.run(scenario()) < 5
    deadline = time.monotonic() + 3
    while _processes_with(token) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert _processes_with(token) == []


def test_text_the_system_cannot_pass_to_a_program_is_one_sentence() -> None:
    assert fail({"command": ["echo", "a\x00b"]}).message == \
        "the command cannot start: embedded null byte"
    assert fail({"command": ["true"], "env": {"A=B": "x"}}).message == \
        "the command cannot start: illegal environment variable name"
