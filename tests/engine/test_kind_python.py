"""The ``python`` node, run for real on the warm worker pool."""

from __future__ import annotations

import asyncio
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from engine.kinds import implementation
from engine.kinds.base import NodeContext, NodeFailed
from engine.kinds.python_kind import execute
from engine.pyworker import get_pool, shutdown_pool
from tests.engine.proc_testkit import gone

# A secret that lives only in this (the engine's) process.
MODULE_SECRET = "flowdesk-test-secret-" + uuid.uuid4().hex

SCOPE = {
    "inputs": {"day": "monday", "limit": 3},
    "vars": {"total": 10},
    "nodes": {"fetch": {"status": "succeeded", "output": {"status": 200, "json": {"n": 4}}}},
    "run": {"id": "run-7"},
}


def make_ctx(code: str, logs: list[tuple[str, str]] | None = None, attempt: int = 1,
             flow_dir: Path | None = None, node_id: str = "calc") -> NodeContext:
    sink = logs if logs is not None else []
    return NodeContext(run_id="run-7", node_id=node_id, attempt=attempt, config={"code": code},
                       scope=SCOPE, flow_dir=flow_dir,
                       log=lambda stream, text: sink.append((stream, text)))


def run(code: str, **kw: Any) -> Any:
    return asyncio.run(execute(make_ctx(code, **kw)))


def fail(code: str, **kw: Any) -> NodeFailed:
    with pytest.raises(NodeFailed) as info:
        run(code, **kw)
    return info.value


@pytest.fixture
def fresh_pool() -> Iterator[None]:
    """Workers started inside the test (so they see the test's environment)."""
    shutdown_pool()
    yield
    shutdown_pool()


def test_the_registry_finds_this_module() -> None:
    assert implementation("python").execute is execute


def test_code_sees_inputs_vars_nodes_and_sets_result() -> None:
    code = ("result = {'day': inputs['day'], 'twice': vars.total * 2,\n"
            "          'n': nodes['fetch']['output']['json']['n'],\n"
            "          'status': nodes.fetch.status, 'run': run.id}")
    assert run(code) == {"day": "monday", "twice": 20, "n": 4, "status": "succeeded",
                         "run": "run-7"}


def test_no_result_is_null() -> None:
    assert run("x = 1") is None


def test_print_goes_to_the_stdout_log_and_stderr_to_stderr() -> None:
    logs: list[tuple[str, str]] = []
    code = "import sys\nprint('hello', 42)\nprint('careful', file=sys.stderr)\nresult = 1"
    assert run(code, logs=logs) == 1
    assert ("stdout", "hello 42") in logs and ("stderr", "careful") in logs


def test_output_of_programs_the_code_starts_is_captured() -> None:
    logs: list[tuple[str, str]] = []
    run("import subprocess\nsubprocess.run(['echo', 'from a child'])", logs=logs)
    assert ("stdout", "from a child") in logs


def test_lines_reach_the_log_while_the_code_runs(tmp_path: Path) -> None:
    flag = tmp_path / "seen"
    code = (f"import os, time\nprint('first')\n"
            f"while not os.path.exists({str(flag)!r}): time.sleep(0.01)\nresult = 'done'")

    def log(stream: str, text: str) -> None:
        if text == "first":
            flag.touch()

    ctx = NodeContext("r", "n", 1, {"code": code}, SCOPE, log=log)
    assert asyncio.run(asyncio.wait_for(execute(ctx), 10)) == "done"


def test_flowdesk_variables_are_set_for_each_execution() -> None:
    code = "import os\nresult = [os.environ[k] for k in " \
           "('FLOWDESK_RUN_ID', 'FLOWDESK_NODE_ID', 'FLOWDESK_ATTEMPT')]"
    assert run(code, attempt=1) == ["run-7", "calc", "1"]
    assert run(code, attempt=2, node_id="other") == ["run-7", "other", "2"]


def test_each_execution_starts_fresh() -> None:
    """Globals, environment changes and the working folder do not leak to the next node."""
    run("import os\nleaked = 1\nos.environ['LEAKED'] = '1'\nos.chdir('/')")
    code = "import os\nresult = ['leaked' in globals(), 'LEAKED' in os.environ, os.getcwd()]"
    first = run(code)
    assert first[:2] == [False, False] and first[2] != "/"


def test_code_runs_in_the_flow_folder(tmp_path: Path) -> None:
    (tmp_path / "data.txt").write_text("42")
    assert run("result = int(open('data.txt').read())", flow_dir=tmp_path) == 42


def test_a_result_that_is_not_json_fails_clearly() -> None:
    err = fail("result = {1, 2}")
    assert err.message == "result is not JSON-serialisable: Object of type set is not JSON " \
                          "serializable"
    assert fail("result = float('nan')").message.startswith("result is not JSON-serialisable")
    # the worker survives it
    assert run("result = 'fine'") == "fine"


def test_an_exception_is_one_sentence_and_the_users_traceback() -> None:
    logs: list[tuple[str, str]] = []
    code = "def check(x):\n    raise ValueError(f'bad value {x}')\n\ncheck(5)\n"
    with pytest.raises(NodeFailed) as info:
        run(code, logs=logs)
    assert info.value.message == "the code raised ValueError on line 2: bad value 5"
    stderr = [text for stream, text in logs if stream == "stderr"]
    assert stderr[0] == "Traceback (most recent call last):"
    assert '  File "<node calc>", line 4, in <module>' in stderr
    assert '  File "<node calc>", line 2, in check' in stderr
    assert stderr[-1] == "ValueError: bad value 5"
    assert not any("child.py" in line or "engine" in line for line in stderr)
    assert info.value.output["stderr"].endswith("ValueError: bad value 5\n")


def test_a_syntax_error_is_one_sentence() -> None:
    assert fail("x = (1,\n").message.startswith("the code has a syntax error on line 1")


def test_exit_with_an_error_code_fails_and_exit_zero_succeeds() -> None:
    assert fail("import sys\nsys.exit(4)").message == "the code called exit(4)"
    assert run("result = 'ok'\nraise SystemExit(0)") == "ok"


def test_a_worker_that_dies_fails_the_node_and_is_replaced() -> None:
    err = fail("import os\nos._exit(7)")
    assert err.message == "the Python worker exited with code 7 while running the code"
    assert run("result = 2 + 2") == 4


def test_code_must_be_text() -> None:
    with pytest.raises(NodeFailed, match="code must be Python source text"):
        asyncio.run(execute(NodeContext("r", "n", 1, {"code": 5}, SCOPE)))


def test_the_code_cannot_reach_the_engines_session_or_secrets(
        fresh_pool: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLOWDESK_JWT_SECRET", "j" * 48)
    monkeypatch.setenv("FLOWDESK_STORE", "postgresql+psycopg://flow:pw@db.internal/flowdesk")
    monkeypatch.setenv("PGPASSWORD", "pg-secret")
    monkeypatch.setenv("GITHUB_TOKEN", "ghp_secret")
    monkeypatch.setenv("ANALYTICS_DB", "mysql://reader:pw@10.0.0.5/stats")
    import sqlalchemy  # noqa: F401 - the engine process has the database layer loaded

    scan = ("import os, sys\n"
            "def module_secrets():\n"
            "    found = []\n"
            "    for m in list(sys.modules.values()):\n"
            "        for v in list(getattr(m, '__dict__', {}).values()):\n"
            "            if isinstance(v, str) and v.startswith('flowdesk-test-secret-'):\n"
            "                found.append(v)\n"
            "    return found\n")
    code = scan + ("result = {'env': dict(os.environ), 'secrets': module_secrets(),\n"
                   "          'modules': sorted(m for m in sys.modules if m.split('.')[0] in\n"
                   "              ('sqlalchemy', 'engine', 'tests', 'psycopg', 'alembic'))}")
    seen = run(code)
    assert seen["modules"] == []
    assert seen["secrets"] == []
    for name in ("FLOWDESK_JWT_SECRET", "FLOWDESK_STORE", "PGPASSWORD", "GITHUB_TOKEN",
                 "ANALYTICS_DB"):
        assert name not in seen["env"]
    assert seen["env"]["FLOWDESK_RUN_ID"] == "run-7"
    # The same scan in the engine's own process does find the secret: the check is real.
    namespace: dict[str, Any] = {}
    exec(scan, namespace)
    assert MODULE_SECRET in namespace["module_secrets"]()
    assert "sqlalchemy" in sys.modules


def test_two_executions_reuse_one_warm_worker(fresh_pool: None) -> None:
    code = "import os\nresult = os.getpid()"
    first, second = run(code), run(code)
    assert first == second
    assert first in get_pool().idle_pids()


def test_a_timeout_kills_the_code_and_its_children_and_replaces_the_worker(
        fresh_pool: None, tmp_path: Path) -> None:
    pid_file, child_file = tmp_path / "worker.pid", tmp_path / "child.pid"
    code = (f"import os, subprocess, time\n"
            f"open({str(pid_file)!r}, 'w').write(str(os.getpid()))\n"
            f"child = subprocess.Popen(['sleep', '30'])\n"
            f"open({str(child_file)!r}, 'w').write(str(child.pid))\n"
            f"time.sleep(30)\n")

    async def scenario() -> float:
        started = time.monotonic()
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(execute(make_ctx(code)), 1.0)
        return time.monotonic() - started

    took = asyncio.run(scenario())
    assert took < 5  # far below the 30 s sleep
    worker_pid = int(pid_file.read_text())
    assert gone(worker_pid) and gone(int(child_file.read_text()))
    # a fresh worker runs the next node
    assert run("import os\nresult = os.getpid()") != worker_pid
    assert run("result = 'after the timeout'") == "after the timeout"


# -- through a whole flow run (the executor, a real store) ---------------------------------


def test_python_and_shell_nodes_in_a_flow_run(store_url: str) -> None:
    from executor_testkit import end, flow, node, run, start

    from engine.runs import RunStore

    f = flow([
        start(),
        node("compute", "python", config={"code": "print('computing')\n"
                                                  "result = {'n': inputs.count * 2}"}),
        node("say", "shell", config={"command": [
            "sh", "-c", 'echo "$FLOWDESK_NODE_ID:{{ nodes.compute.output.n }}"']}),
        end(n="{{ nodes.compute.output.n }}", said="{{ nodes.say.output.stdout }}"),
    ], ["start>compute", "compute>say", "say>end"],
        inputs={"count": {"type": "integer", "default": 21}})
    store = RunStore.open(store_url)
    try:
        run_id, status, doc = run(store, f)
        assert status == "succeeded", doc
        assert doc["outputs"] == {"n": 42, "said": "say:42\n"}
        assert doc["nodes"]["say"]["output"]["exit_code"] == 0
        assert [(r["stream"], r["text"]) for r in store.node_logs(run_id, "compute")] == \
            [("stdout", "computing")]
        assert [(r["stream"], r["text"]) for r in store.node_logs(run_id, "say")] == \
            [("stdout", "say:42")]
    finally:
        store.close()


def test_a_retried_python_node_sees_its_attempt_number(sqlite_url: str) -> None:
    from executor_testkit import end, flow, node, run, start

    from engine.runs import RunStore

    code = ("import os\nattempt = int(os.environ['FLOWDESK_ATTEMPT'])\n"
            "if attempt < 2:\n    raise RuntimeError('first try fails')\nresult = attempt")
    f = flow([start(), node("flaky", "python", config={"code": code},
                            retry={"max_attempts": 3}), end(got="{{ nodes.flaky.output }}")],
             ["start>flaky", "flaky>end"])
    store = RunStore.open(sqlite_url)
    try:
        run_id, status, doc = run(store, f)
        assert status == "succeeded" and doc["outputs"] == {"got": 2}
        assert [a["status"] for a in store.attempts(run_id, "flaky")][:2] == \
            ["failed", "succeeded"]
        assert store.attempts(run_id, "flaky")[0]["error"] == \
            "the code raised RuntimeError on line 4: first try fails"
    finally:
        store.close()


def test_a_node_timeout_in_a_flow_kills_the_python_and_shell_work(
        sqlite_url: str, tmp_path: Path) -> None:
    from executor_testkit import end, flow, node, run, start

    from engine.runs import RunStore

    py_pid, sh_pid = tmp_path / "py.pid", tmp_path / "sh.pid"
    f = flow([
        start(),
        node("slow_py", "python", timeout_s=0.5, config={"code": (
            f"import os, time\nopen({str(py_pid)!r}, 'w').write(str(os.getpid()))\n"
            "time.sleep(30)")}),
        node("slow_sh", "shell", timeout_s=0.5, config={"command": [
            "sh", "-c", f"echo $$ > {sh_pid}; sleep 30"]}),
        node("cleanup", "set", config={"vars": {"handled": True}}),
        end(handled="{{ vars.handled }}"),
    ], ["start>slow_py", "start>slow_sh",
        {"from": "slow_py", "to": "cleanup", "on": "error"},
        {"from": "slow_sh", "to": "cleanup", "on": "error"}, "cleanup>end"])
    store = RunStore.open(sqlite_url)
    try:
        started = time.monotonic()
        run_id, status, doc = run(store, f)
        assert time.monotonic() - started < 10  # not the 30 s the nodes would sleep
        assert status == "succeeded", doc
        assert doc["nodes"]["slow_py"]["status"] == "failed"
        assert doc["nodes"]["slow_py"]["error"] == "timed out after 0.5 s"
        assert doc["nodes"]["slow_sh"]["error"] == "timed out after 0.5 s"
        assert gone(int(py_pid.read_text())) and gone(int(sh_pid.read_text()))
    finally:
        store.close()


def test_a_bad_pool_size_setting_is_one_sentence(fresh_pool: None,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLOWDESK_PYTHON_WORKERS", "lots")
    assert fail("result = 1").message == \
        "FLOWDESK_PYTHON_WORKERS must be a whole number, not 'lots'"


def test_code_can_import_packages_installed_with_the_engine() -> None:
    assert run("import sys, jinja2\nresult = [jinja2.__name__, sys.flags.isolated]") == \
        ["jinja2", 1]


def test_code_with_a_nul_character_is_one_sentence() -> None:
    message = fail("result = 1\x00").message
    assert message.startswith("the code has a syntax error")
    assert message.endswith("cannot contain null bytes")
