"""Retries, timeouts, the concurrency limit, approvals, subflows, retry_failed and inputs."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest
from executor_testkit import (
    Background,
    delay,
    end,
    flow,
    node,
    run,
    setv,
    start,
    statuses,
    wait_for,
)

from engine.executor import execute_run
from engine.flowfile import save_flow
from engine.runs import InputError, RunNotFound, RunStore, check_inputs, parse_inputs
from engine.store.schema import flows


def _t(text: str) -> float:
    return datetime.fromisoformat(text).timestamp()


def shell(id_: str, script: str, **fields) -> dict:
    return node(id_, "shell", config={"command": ["sh", "-c", script]}, **fields)


def test_retries_with_backoff_until_an_attempt_succeeds(store: RunStore) -> None:
    f = flow([start(), shell("flaky", 'echo "try $FLOWDESK_ATTEMPT"; '
                                      'test "$FLOWDESK_ATTEMPT" -ge 3',
                             retry={"max_attempts": 4, "backoff_s": 0.1,
                                    "backoff_factor": 2}),
              end("end", said="{{ nodes.flaky.output.stdout }}")],
             ["start>flaky", "flaky>end"])
    run_id, status, doc = run(store, f)
    assert status == "succeeded"
    assert doc["nodes"]["flaky"]["attempts"] == 3
    assert doc["outputs"] == {"said": "try 3\n"}
    tries = store.attempts(run_id, "flaky")
    assert [(a["attempt"], a["status"]) for a in tries] == [
        (1, "failed"), (2, "failed"), (3, "succeeded")]
    # the waits before attempts 2 and 3 are backoff_s * factor^(k-1): 0.1 s, then 0.2 s
    assert _t(tries[1]["started_at"]) - _t(tries[0]["finished_at"]) >= 0.1
    assert _t(tries[2]["started_at"]) - _t(tries[1]["finished_at"]) >= 0.2
    logs = store.node_logs(run_id, "flaky")
    assert [(entry["attempt"], entry["text"].strip()) for entry in logs] == [
        (1, "try 1"), (2, "try 2"), (3, "try 3")]


def test_all_attempts_spent_fails_with_the_last_error(store: RunStore) -> None:
    f = flow([start(), shell("never", "exit 7", retry={"max_attempts": 2}), end()],
             ["start>never", "never>end"])
    run_id, status, doc = run(store, f)
    assert status == "failed"
    assert doc["nodes"]["never"]["attempts"] == 2
    assert doc["nodes"]["never"]["output"]["exit_code"] == 7
    assert doc["error"].startswith("node 'never' failed:")
    assert len(store.attempts(run_id, "never")) == 2


def test_timeout_is_a_failed_attempt_and_kills_the_work(store: RunStore, tmp_path: Path
                                                        ) -> None:
    marker = tmp_path / "late"
    f = flow([start(), shell("slow", f"sleep 5; touch {marker}", timeout_s=0.3),
              end("caught", r="{{ nodes.slow.output.error }}")],
             ["start>slow", {"from": "slow", "to": "caught", "on": "error"}])
    _, status, doc = run(store, f)
    assert status == "succeeded"
    assert doc["outputs"] == {"r": "timed out after 0.3 s"}
    assert not marker.exists()


def test_concurrency_limit_bounds_nodes_doing_work(store: RunStore) -> None:
    nodes = [start(), end()] + [shell(f"w{i}", "sleep 0.3") for i in range(5)]
    edges = [f"start>w{i}" for i in range(5)] + [f"w{i}>end" for i in range(5)]
    f = flow(nodes, edges, concurrency=2)
    run_id, status, _ = run(store, f)
    assert status == "succeeded"
    spans = [(_t(a["started_at"]), _t(a["finished_at"])) for a in store.attempts(run_id)
             if a["node_id"].startswith("w")]
    most = max(sum(1 for s, e in spans if s <= t < e) for t, _ in spans)
    assert most == 2


def test_waiting_delays_and_approvals_hold_no_slot(store: RunStore) -> None:
    f = flow([start(), delay("d", 0.5), node("ask", "approval", config={"prompt": "ok?"}),
              shell("work", "true"), end("e1"), end("e2"), end("e3")],
             ["start>d", "start>ask", "start>work", "d>e1", "ask>e2", "work>e3"],
             concurrency=1)
    run_id, status, doc = run(store, f)
    assert status == "waiting"
    assert statuses(doc)["work"] == "succeeded"


def test_approval_waits_then_continues_when_approved(store: RunStore) -> None:
    f = flow([start(), node("ask", "approval",
                            config={"prompt": "Ship {{ inputs.what }}?", "role": "operator"}),
              end("end", ok="{{ nodes.ask.output.approved }}", by="{{ nodes.ask.output.by }}")],
             ["start>ask", "ask>end"], inputs={"what": {"type": "string"}})
    run_id, status, doc = run(store, f, {"what": "v2"})
    assert status == "waiting" and doc["status"] == "waiting"
    assert doc["nodes"]["ask"]["status"] == "waiting"
    assert store.pending_approvals() == [{
        "run_id": run_id, "node_id": "ask", "prompt": "Ship v2?", "role": "operator",
        "since": doc["nodes"]["ask"]["started_at"]}]
    store.decide_approval(run_id, "ask", True, "alice", "looks good")
    with pytest.raises(ValueError, match="already been decided"):
        store.decide_approval(run_id, "ask", False, "bob")
    assert execute_run(store, run_id) == "succeeded"
    doc = store.get_run(run_id)
    assert doc["outputs"] == {"ok": True, "by": "alice"}
    assert doc["nodes"]["ask"]["output"] == {"approved": True, "by": "alice",
                                             "comment": "looks good"}
    assert store.pending_approvals() == []
    approvals = [e for e in store.events_after(0, run_id=run_id) if e["type"] == "approval"]
    assert [e["data"] for e in approvals] == [{"approved": True, "by": "alice",
                                               "comment": "looks good"}]
    with pytest.raises(ValueError, match="not waiting"):
        store.decide_approval(run_id, "ask", True, "alice")


def test_rejection_fails_the_approval_and_its_error_edge_applies(store: RunStore) -> None:
    f = flow([start(), node("ask", "approval", config={"prompt": "go?"}), end("yes"),
              end("no", why="{{ nodes.ask.output.error }}")],
             ["start>ask", "ask>yes", {"from": "ask", "to": "no", "on": "error"}])
    run_id, status, _ = run(store, f)
    assert status == "waiting"
    store.decide_approval(run_id, "ask", False, "bob", "not today")
    assert execute_run(store, run_id) == "succeeded"
    doc = store.get_run(run_id)
    assert statuses(doc)["yes"] == "skipped"
    assert doc["outputs"] == {"why": "rejected by bob: not today"}


def test_a_live_executor_picks_up_a_decision_from_elsewhere(store: RunStore) -> None:
    f = flow([start(), node("ask", "approval", config={"prompt": "go?"}), delay("d", 60),
              end("e1"), end("e2")], ["start>ask", "start>d", "ask>e1", "d>e2"])
    run_id = store.create_run(f, {})
    bg = Background(store, run_id)
    wait_for(lambda: store.get_run(run_id)["nodes"]["ask"]["status"] == "waiting")
    store.decide_approval(run_id, "ask", True, "carol")
    wait_for(lambda: store.get_run(run_id)["nodes"]["e1"]["status"] == "succeeded")
    store.request_cancel(run_id, "d")
    assert bg.join() == "succeeded"


def _write(path: Path, f) -> Path:
    save_flow(f, path)
    return path


def test_subflow_by_relative_path_returns_the_child_outputs(store: RunStore, tmp_path: Path
                                                            ) -> None:
    (tmp_path / "lib").mkdir()
    child = flow([start(), end("end", twice="{{ inputs.x * 2 }}")], ["start>end"],
                 name="child", inputs={"x": {"type": "integer"}})
    _write(tmp_path / "lib" / "child.flow.json", child)
    parent = flow([start(), node("call", "subflow", config={
        "flow": "lib/child.flow.json", "inputs": {"x": "{{ inputs.n + 1 }}"}}),
        end("end", got="{{ nodes.call.output.twice }}")], ["start>call", "call>end"],
        name="parent", inputs={"n": {"type": "integer"}})
    src = _write(tmp_path / "parent.flow.json", parent)
    run_id, status, doc = run(store, parent, {"n": 4}, source=str(src))
    assert status == "succeeded"
    assert doc["outputs"] == {"got": 10}
    kids = [r for r in store.list_runs() if r["flow_name"] == "child"]
    assert len(kids) == 1
    kid = store.get_run(kids[0]["run_id"])
    assert (kid["parent_run_id"], kid["parent_node_id"], kid["status"]) == (
        run_id, "call", "succeeded")


def test_subflow_by_deployed_name_uses_the_highest_live_version(store: RunStore) -> None:
    import time

    with store.engine.begin() as conn:
        for version, archived, value in ((1, False, "one"), (2, False, "two"),
                                         (3, True, "three")):
            child = flow([start(), end("end", v=value)], ["start>end"], name="lib")
            conn.execute(flows.insert().values(name="lib", version=version,
                                               definition=child.to_dict(),
                                               created_at=time.time(), archived=archived))
    parent = flow([start(), node("call", "subflow", config={"flow": "lib"}),
                   end("end", v="{{ nodes.call.output.v }}")], ["start>call", "call>end"])
    _, status, doc = run(store, parent)
    assert (status, doc["outputs"]) == ("succeeded", {"v": "two"})


def test_recursive_subflow_stops_at_max_depth(store: RunStore, tmp_path: Path) -> None:
    me = flow([start(), node("again", "subflow", config={"flow": "self.flow.json",
                                                          "max_depth": 3}), end()],
              ["start>again", "again>end"], name="self")
    src = _write(tmp_path / "self.flow.json", me)
    _, status, doc = run(store, me, source=str(src))
    assert status == "failed"
    assert "max_depth 3" in doc["error"]
    assert store.count_runs(flow="self") == 4   # the run and three nested levels


def test_a_subflow_waiting_for_approval_makes_the_parent_wait(store: RunStore,
                                                              tmp_path: Path) -> None:
    child = flow([start(), node("ask", "approval", config={"prompt": "ok?"}), end("end", a=1)],
                 ["start>ask", "ask>end"], name="kid")
    _write(tmp_path / "kid.flow.json", child)
    parent = flow([start(), node("call", "subflow", config={"flow": "kid.flow.json"}),
                   end("end", a="{{ nodes.call.output.a }}")], ["start>call", "call>end"],
                  name="dad")
    src = _write(tmp_path / "dad.flow.json", parent)
    run_id, status, doc = run(store, parent, source=str(src))
    assert status == "waiting" and doc["nodes"]["call"]["status"] == "waiting"
    kid = doc["nodes"]["call"]["output"]["child_run_id"]
    store.decide_approval(kid, "ask", True, "dan")
    from engine.executor import continue_run

    assert continue_run(store, kid) == (run_id, "succeeded")
    assert store.get_run(run_id)["outputs"] == {"a": 1}
    assert store.count_runs(flow="kid") == 1   # re-attached, not started again


def test_retry_failed_runs_failed_nodes_again_and_keeps_successes(store: RunStore,
                                                                  tmp_path: Path) -> None:
    gate = tmp_path / "gate"
    f = flow([start(), setv("a", x=1), shell("b", f"test -e {gate}"), end()],
             ["start>a", "a>b", "b>end"])
    run_id, status, _ = run(store, f)
    assert status == "failed"
    gate.touch()
    store.retry_failed(run_id)
    assert store.get_run(run_id)["status"] == "pending"
    assert execute_run(store, run_id) == "succeeded"
    assert [a["status"] for a in store.attempts(run_id, "a")] == ["succeeded"]
    assert [a["status"] for a in store.attempts(run_id, "b")] == ["failed", "succeeded"]
    with pytest.raises(ValueError, match="only a failed or cancelled run"):
        store.retry_failed(run_id)


def test_list_count_and_unknown_runs(store: RunStore) -> None:
    f = flow([start(), end()], ["start>end"], name="alpha")
    ids = [run(store, f)[0] for _ in range(3)]
    g = flow([start(), setv("bad", x="{{ nope }}"), end()], ["start>bad", "bad>end"],
             name="beta")
    bad = run(store, g)[0]
    listed = store.list_runs()
    assert [r["run_id"] for r in listed] == [bad, *reversed(ids)]
    assert store.count_runs() == 4 and store.count_runs(status="failed") == 1
    assert [r["run_id"] for r in store.list_runs(flow="alpha", limit=2)] == ids[:0:-1]
    assert store.count_runs(search="ALP") == 3
    assert store.list_runs(status="failed")[0]["flow_name"] == "beta"
    with pytest.raises(RunNotFound, match="no run with id 'nope'"):
        store.get_run("nope")


def test_create_run_refuses_an_invalid_flow_listing_problems(store: RunStore) -> None:
    f = flow([start(), setv("lonely", x=1)], ["start>lonely"])
    with pytest.raises(ValueError, match="the flow has no end node"):
        store.create_run(f, {})
    assert store.count_runs() == 0


INPUTS = {"s": {"type": "string"}, "i": {"type": "integer", "default": 1},
          "n": {"type": "number", "default": 0.5}, "b": {"type": "boolean", "default": False},
          "o": {"type": "object", "default": {}}, "a": {"type": "array", "default": []}}


def test_parse_inputs_converts_to_declared_types() -> None:
    f = flow([start(), end()], ["start>end"], inputs=INPUTS)
    got = parse_inputs(f, {"s": "x", "i": "42", "n": "2.5", "b": "true",
                           "o": '{"k": [1]}', "a": "[1, 2]"})
    assert got == {"s": "x", "i": 42, "n": 2.5, "b": True, "o": {"k": [1]}, "a": [1, 2]}
    assert parse_inputs(f, {"s": "y", "b": "0"}) == {"s": "y", "i": 1, "n": 0.5, "b": False,
                                                     "o": {}, "a": []}


@pytest.mark.parametrize(("raw", "message"), [
    ({}, "input 's' is required (string): give it with --input s=VALUE"),
    ({"s": "x", "i": "4.5"}, "input 'i' must be an integer, not '4.5'"),
    ({"s": "x", "n": "abc"}, "input 'n' must be a number, not 'abc'"),
    ({"s": "x", "b": "yes"}, "input 'b' must be a boolean (true, false, 1 or 0), not 'yes'"),
    ({"s": "x", "o": "[1]"}, "input 'o' must be an object in JSON, not '[1]'"),
    ({"s": "x", "a": "{"}, "input 'a' must be an array in JSON, not '{'"),
    ({"s": "x", "zz": "1"}, "the flow has no input 'zz' (its inputs: s, i, n, b, o, a)"),
])
def test_parse_inputs_errors_name_the_input(raw: dict, message: str) -> None:
    f = flow([start(), end()], ["start>end"], inputs=INPUTS)
    with pytest.raises(InputError) as info:
        parse_inputs(f, raw)
    assert str(info.value) == message


def test_check_inputs_takes_typed_values() -> None:
    f = flow([start(), end()], ["start>end"], inputs=INPUTS)
    assert check_inputs(f, {"s": "x", "a": [3]})["a"] == [3]
    with pytest.raises(InputError, match="input 'i' must be of type integer, not true"):
        check_inputs(f, {"s": "x", "i": True})
    with pytest.raises(InputError, match="input 's' must be of type string, not 5"):
        check_inputs(f, json.loads('{"s": 5}'))


def test_runnable_nodes_is_decided_from_the_store(store: RunStore) -> None:
    from engine.executor_state import runnable_nodes

    f = flow([start(), setv("a", x=1), setv("b", x=1), node("j", "set", join="any",
                                                             config={"vars": {"y": 1}}),
              end()], ["start>a", "start>b", "a>j", "b>j", "j>end"])
    run_id = store.create_run(f, {})
    with store.engine.connect() as conn:
        assert runnable_nodes(conn, run_id) == ["start"]
    assert execute_run(store, run_id) == "succeeded"
    with store.engine.connect() as conn:
        assert runnable_nodes(conn, run_id) == []


def test_cancelling_a_subflow_node_cancels_its_child_run(store: RunStore,
                                                        tmp_path: Path) -> None:
    child = flow([start(), delay("nap", 60), end()], ["start>nap", "nap>end"], name="napper")
    _write(tmp_path / "napper.flow.json", child)
    parent = flow([start(), node("call", "subflow", config={"flow": "napper.flow.json"}),
                   end("e1"), end("e2", r="{{ nodes.call.status }}")],
                  ["start>call", "call>e1", "start>e2"], name="boss")
    src = _write(tmp_path / "boss.flow.json", parent)
    run_id = store.create_run(parent, {}, source=str(src))
    bg = Background(store, run_id)
    wait_for(lambda: store.count_runs(flow="napper", status="running") == 1)
    kid = store.list_runs(flow="napper")[0]["run_id"]
    wait_for(lambda: store.get_run(kid)["nodes"]["nap"]["status"] == "running")
    store.request_cancel(run_id, "call")
    assert bg.join() == "succeeded"
    assert statuses(store.get_run(run_id))["call"] == "cancelled"
    wait_for(lambda: store.get_run(kid)["status"] == "cancelled")
    assert statuses(store.get_run(kid))["nap"] == "cancelled"


def test_cancelling_a_waiting_parent_cancels_its_waiting_child(store: RunStore,
                                                              tmp_path: Path) -> None:
    child = flow([start(), node("ask", "approval", config={"prompt": "ok?"}), end()],
                 ["start>ask", "ask>end"], name="kid")
    _write(tmp_path / "kid.flow.json", child)
    parent = flow([start(), node("call", "subflow", config={"flow": "kid.flow.json"}), end()],
                  ["start>call", "call>end"], name="dad")
    src = _write(tmp_path / "dad.flow.json", parent)
    run_id, status, doc = run(store, parent, source=str(src))
    assert status == "waiting"
    kid = doc["nodes"]["call"]["output"]["child_run_id"]
    store.request_cancel(run_id)
    assert store.get_run(run_id)["status"] == "cancelled"
    assert store.get_run(kid)["status"] == "cancelled"
    assert statuses(store.get_run(kid))["ask"] == "cancelled"
    assert store.pending_approvals() == []


def test_a_cancelled_delay_does_not_keep_a_waiting_run_busy(store: RunStore) -> None:
    f = flow([start(), node("ask", "approval", config={"prompt": "?"}), delay("d", 60),
              end("e1"), end("e2")], ["start>ask", "start>d", "ask>e1", "d>e2"])
    run_id = store.create_run(f, {})
    bg = Background(store, run_id)
    wait_for(lambda: store.get_run(run_id)["nodes"]["d"]["status"] == "running")
    store.request_cancel(run_id, "d")
    assert bg.join(timeout=20) == "waiting"
    assert statuses(store.get_run(run_id))["d"] == "cancelled"
