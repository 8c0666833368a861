"""Edge and node rules of DESIGN.md "Semantics", each on SQLite and on PostgreSQL."""

from __future__ import annotations

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

from engine.runs import RunStore


def test_start_set_end_compute_outputs_from_inputs_and_vars(store: RunStore) -> None:
    f = flow([start(), setv("double", x="{{ inputs.n * 2 }}", label="n={{ inputs.n }}"),
              setv("again", y="{{ vars.x + 1 }}"),
              end("end", x="{{ vars.x }}", y="{{ vars.y }}", label="{{ vars.label }}",
                  first="{{ nodes.start.output.n }}")],
             ["start>double", "double>again", "again>end"],
             inputs={"n": {"type": "integer"}})
    _, status, doc = run(store, f, {"n": 21})
    assert status == "succeeded"
    assert doc["outputs"] == {"x": 42, "y": 43, "label": "n=21", "first": 21}
    assert doc["nodes"]["start"]["output"] == {"n": 21}
    assert doc["nodes"]["double"]["output"] == {"x": 42, "label": "n=21"}
    assert all(n["attempts"] == 1 for n in doc["nodes"].values())


def test_two_ends_merge_their_outputs(store: RunStore) -> None:
    f = flow([start(), end("e1", a=1), end("e2", b="{{ 1 + 1 }}")], ["start>e1", "start>e2"])
    _, status, doc = run(store, f)
    assert status == "succeeded"
    assert doc["outputs"] == {"a": 1, "b": 2}


@pytest.mark.parametrize(("n", "taken"), [(5, "yes"), (1, "other")])
def test_when_edge_and_default_edge(store: RunStore, n: int, taken: str) -> None:
    f = flow([start(), end("yes", r="yes"), end("other", r="other"), end("always", a=1)],
             [{"from": "start", "to": "yes", "when": "inputs.n > 3"},
              {"from": "start", "to": "other", "default": True},
              {"from": "start", "to": "always"}],
             inputs={"n": {"type": "integer"}})
    _, status, doc = run(store, f, {"n": n})
    assert status == "succeeded"
    skipped = "other" if taken == "yes" else "yes"
    assert statuses(doc) == {"start": "succeeded", taken: "succeeded", skipped: "skipped",
                             "always": "succeeded"}
    assert doc["outputs"] == {"r": taken, "a": 1}


def test_branch_takes_the_first_true_edge_in_file_order(store: RunStore) -> None:
    f = flow([start(), node("b", "branch"), end("a", r="a"), end("c", r="c"), end("d", r="d")],
             ["start>b", {"from": "b", "to": "a", "when": "false"},
              {"from": "b", "to": "c", "when": "1 < 2"},
              {"from": "b", "to": "d", "when": "true"}])
    _, status, doc = run(store, f)
    assert status == "succeeded"
    assert statuses(doc) == {"start": "succeeded", "b": "succeeded", "a": "skipped",
                             "c": "succeeded", "d": "skipped"}
    assert doc["nodes"]["b"]["output"] == "c"


def test_branch_falls_back_to_its_default(store: RunStore) -> None:
    f = flow([start(), node("b", "branch"), end("a"), end("d", r="default")],
             ["start>b", {"from": "b", "to": "a", "when": "false"},
              {"from": "b", "to": "d", "default": True}])
    _, status, doc = run(store, f)
    assert (status, doc["outputs"], doc["nodes"]["b"]["output"]) == (
        "succeeded", {"r": "default"}, "d")


def test_branch_without_match_or_default_fails_the_run(store: RunStore) -> None:
    f = flow([start(), node("b", "branch"), end("a")],
             ["start>b", {"from": "b", "to": "a", "when": "false"}])
    _, status, doc = run(store, f)
    assert status == "failed"
    assert doc["nodes"]["b"]["status"] == "failed"
    assert "no edge condition is true" in doc["error"]
    assert doc["nodes"]["a"]["status"] == "cancelled"


def test_failure_takes_error_edges_and_the_run_goes_on(store: RunStore) -> None:
    f = flow([start(), setv("bad", x="{{ nosuch + 1 }}"), end("ok", r="fine"),
              setv("handle", seen="{{ nodes.bad.output.error }}"),
              end("recovered", r="{{ vars.seen }}")],
             ["start>bad", "bad>ok", {"from": "bad", "to": "handle", "on": "error"},
              "handle>recovered"])
    _, status, doc = run(store, f)
    assert status == "succeeded"
    s = statuses(doc)
    assert (s["bad"], s["ok"], s["handle"], s["recovered"]) == (
        "failed", "skipped", "succeeded", "succeeded")
    assert "undefined name 'nosuch'" in doc["nodes"]["bad"]["output"]["error"]
    assert "nosuch" in doc["outputs"]["r"]


def test_failure_without_error_edge_fails_the_run_and_cancels_the_rest(store: RunStore
                                                                         ) -> None:
    f = flow([start(), delay("first", 0.1), setv("bad", x="{{ missing }}"), delay("slow", 30),
              end("e1"), end("e2")],
             ["start>first", "first>bad", "start>slow", "bad>e1", "slow>e2"])
    run_id, status, doc = run(store, f)
    assert status == "failed"
    assert doc["error"] == "node 'bad' failed: undefined name 'missing' in 'missing'"
    assert statuses(doc) == {"start": "succeeded", "first": "succeeded", "bad": "failed",
                             "slow": "cancelled", "e1": "cancelled", "e2": "cancelled"}
    assert [a["status"] for a in store.attempts(run_id, "slow")] == ["cancelled"]


def test_a_when_that_fails_fails_its_node_and_error_edges_apply(store: RunStore) -> None:
    f = flow([start(), setv("s", x=1), end("a"), end("caught", r="{{ nodes.s.status }}")],
             ["start>s", {"from": "s", "to": "a", "when": "vars.x > nothing"},
              {"from": "s", "to": "caught", "on": "error"}])
    _, status, doc = run(store, f)
    assert status == "succeeded"
    assert doc["nodes"]["s"]["status"] == "failed"
    assert "undefined name 'nothing'" in doc["nodes"]["s"]["error"]
    assert doc["outputs"] == {"r": "failed"}
    assert doc["nodes"]["a"]["status"] == "skipped"


def test_dead_path_elimination_skips_whole_paths(store: RunStore) -> None:
    f = flow([start(), setv("a", x=1), setv("b", x=2), setv("c", x=3), setv("j", y=1),
              end()],
             ["start>a", {"from": "start", "to": "b", "when": "false"}, "b>c", "a>j", "c>j",
              "j>end"])
    run_id, status, doc = run(store, f)
    assert status == "succeeded"
    s = statuses(doc)
    assert (s["b"], s["c"], s["j"], s["end"]) == ("skipped", "skipped", "succeeded",
                                                  "succeeded")
    assert store.attempts(run_id, "b") == []


@pytest.mark.parametrize(("join", "expected"), [
    ("all", "skipped"),          # one dead input is fine for all, but both dead skips
    ("any", "skipped"),
])
def test_join_with_every_input_dead_is_skipped(store: RunStore, join: str,
                                               expected: str) -> None:
    f = flow([start(), setv("a", x=1), setv("b", x=1), node("j", "set", join=join,
                                                            config={"vars": {"z": 1}}),
              end("e1"), end("e2")],
             ["start>e1", {"from": "start", "to": "a", "when": "false"},
              {"from": "start", "to": "b", "when": "false"}, "a>j", "b>j", "j>e2"])
    _, status, doc = run(store, f)
    assert status == "succeeded"
    assert doc["nodes"]["j"]["status"] == expected
    assert doc["nodes"]["e2"]["status"] == "skipped"


def test_join_all_waits_for_every_input(store: RunStore) -> None:
    f = flow([start(), delay("slow", 0.3), setv("fast", f=1),
              node("j", "set", config={"vars": {"seen": "{{ nodes.slow.status }}"}}),
              end("end", seen="{{ vars.seen }}")],
             ["start>slow", "start>fast", "slow>j", "fast>j", "j>end"])
    _, status, doc = run(store, f)
    assert status == "succeeded"
    assert doc["outputs"] == {"seen": "succeeded"}
    assert doc["nodes"]["j"]["started_at"] >= doc["nodes"]["slow"]["finished_at"]


def test_join_any_fires_once_on_the_first_arrival(store: RunStore) -> None:
    f = flow([start(), delay("slow", 0.3), setv("fast", f=1),
              node("j", "set", join="any",
                   config={"vars": {"seen": "{{ nodes.slow.status }}"}}),
              end("end", seen="{{ vars.seen }}")],
             ["start>slow", "start>fast", "slow>j", "fast>j", "j>end"])
    run_id, status, doc = run(store, f)
    assert status == "succeeded"
    assert doc["outputs"] == {"seen": "running"}   # fired before slow finished
    assert doc["nodes"]["slow"]["status"] == "succeeded"  # later arrival: ignored
    assert len(store.attempts(run_id, "j")) == 1


def test_join_min_fires_on_the_nth_arrival(store: RunStore) -> None:
    f = flow([start(), delay("a", 0.05), delay("b", 0.1), delay("c", 10),
              node("j", "set", join={"min": 2}, cancel_others=True,
                   config={"vars": {"done": "{{ [nodes.a.status, nodes.b.status] }}"}}),
              end("end", done="{{ vars.done }}")],
             ["start>a", "start>b", "start>c", "a>j", "b>j", "c>j", "j>end"])
    _, status, doc = run(store, f)
    assert status == "succeeded"
    assert doc["outputs"] == {"done": ["succeeded", "succeeded"]}
    assert doc["nodes"]["c"]["status"] == "cancelled"


def test_join_min_that_cannot_be_reached_is_skipped(store: RunStore) -> None:
    f = flow([start(), setv("a", x=1), setv("b", x=1),
              node("j", "set", join={"min": 2}, config={"vars": {"z": 1}}), end("e1"),
              end("e2")],
             ["start>e1", "start>a", {"from": "start", "to": "b", "when": "false"}, "a>j",
              "b>j", "j>e2"])
    _, status, doc = run(store, f)
    assert status == "succeeded"
    assert doc["nodes"]["j"]["status"] == "skipped"


def test_cancel_others_cancels_only_what_the_join_post_dominates(store: RunStore) -> None:
    # "side" reaches its own end, so the join does not post-dominate it: it survives.
    f = flow([start(), delay("fast", 0.05), delay("slow", 30), delay("slower", 30),
              delay("side", 0.3), end("side_end"),
              node("first", "set", join="any", cancel_others=True,
                   config={"vars": {"w": "fast"}}), end("end", w="{{ vars.w }}")],
             ["start>fast", "start>slow", "slow>slower", "start>side", "side>side_end",
              "side>first", "fast>first", "slower>first", "first>end"])
    _, status, doc = run(store, f)
    assert status == "succeeded"
    s = statuses(doc)
    assert (s["slow"], s["slower"], s["side"], s["side_end"]) == (
        "cancelled", "cancelled", "succeeded", "succeeded")
    assert doc["outputs"] == {"w": "fast"}


def test_cancels_list_cancels_named_nodes_when_the_node_succeeds(store: RunStore) -> None:
    f = flow([start(), delay("watch", 30), end("e1"), setv("work", x=1, cancels=None),
              end("e2")],
             ["start>watch", "watch>e1", "start>work", "work>e2"])
    f.node("work").cancels = ["watch"]
    _, status, doc = run(store, f)
    assert status == "succeeded"
    assert statuses(doc)["watch"] == "cancelled"
    assert statuses(doc)["e1"] == "skipped"   # a cancelled node's edges are dead


def test_end_with_terminate_cancels_the_rest_and_the_run_succeeds(store: RunStore) -> None:
    f = flow([start(), delay("slow", 30), end("late"),
              node("stop", "end", config={"outputs": {"r": "done"}, "terminate": True})],
             ["start>slow", "slow>late", "start>stop"])
    _, status, doc = run(store, f)
    assert status == "succeeded"
    assert doc["outputs"] == {"r": "done"}
    assert statuses(doc) == {"start": "succeeded", "slow": "cancelled", "late": "cancelled",
                             "stop": "succeeded"}


def test_single_node_cancel_from_outside(store: RunStore) -> None:
    f = flow([start(), delay("wait", 60), end("after"), delay("other", 0.2), end("e2")],
             ["start>wait", "wait>after", "start>other", "other>e2"])
    run_id = store.create_run(f, {})
    bg = Background(store, run_id)
    wait_for(lambda: store.get_run(run_id)["nodes"]["wait"]["status"] == "running")
    store.request_cancel(run_id, "wait")
    assert bg.join() == "succeeded"
    doc = store.get_run(run_id)
    assert statuses(doc) == {"start": "succeeded", "wait": "cancelled", "after": "skipped",
                             "other": "succeeded", "e2": "succeeded"}


def test_whole_run_cancel_from_outside(store: RunStore) -> None:
    f = flow([start(), delay("wait", 60), end()], ["start>wait", "wait>end"])
    run_id = store.create_run(f, {})
    bg = Background(store, run_id)
    wait_for(lambda: store.get_run(run_id)["nodes"]["wait"]["status"] == "running")
    store.request_cancel(run_id)
    assert bg.join() == "cancelled"
    doc = store.get_run(run_id)
    assert statuses(doc) == {"start": "succeeded", "wait": "cancelled", "end": "cancelled"}
    assert doc["owner"] is None


def test_cancel_of_an_unowned_run_is_done_by_the_store(store: RunStore) -> None:
    f = flow([start(), end()], ["start>end"])
    run_id = store.create_run(f, {}, detached=True)
    store.request_cancel(run_id)
    doc = store.get_run(run_id)
    assert doc["status"] == "cancelled"
    assert statuses(doc) == {"start": "cancelled", "end": "cancelled"}
    with pytest.raises(ValueError, match="already cancelled"):
        store.request_cancel(run_id)


def test_event_log_tells_the_whole_story_in_order(store: RunStore) -> None:
    f = flow([start(), setv("s", x=1), end()], ["start>s", "s>end"])
    before = store.last_event_id()
    run_id, _, _ = run(store, f)
    evs = store.events_after(before, run_id=run_id)
    ids = [e["id"] for e in evs]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    assert [(e["type"], e["node_id"], e["data"].get("status", e["data"].get("state")))
            for e in evs] == [
        ("run_status", None, "pending"), ("run_status", None, "running"),
        ("node_status", "start", "succeeded"), ("edge", "start", "taken"),
        ("node_status", "s", "succeeded"), ("edge", "s", "taken"),
        ("node_status", "end", "succeeded"), ("run_status", None, "succeeded")]
    assert evs[-1]["data"]["outputs"] == {}
    assert store.last_event_id() == ids[-1]


def test_stop_interrupts_and_leaves_the_run_resumable(store: RunStore, tmp_path) -> None:
    import threading

    from engine.executor import execute_run

    began = tmp_path / "began"
    f = flow([start(), node("work", "shell", config={
        "command": ["sh", "-c", f"touch {began}; sleep 30"]}),
        setv("after", x=1), end()], ["start>work", "work>after", "after>end"])
    run_id = store.create_run(f, {})
    stop = threading.Event()
    result: list[str] = []
    thread = threading.Thread(target=lambda: result.append(execute_run(store, run_id,
                                                                       stop=stop)))
    thread.start()
    wait_for(began.exists)
    stop.set()
    thread.join(30)
    assert result == ["running"]
    doc = store.get_run(run_id)
    assert doc["status"] == "running" and doc["owner"] is None
    assert [a["status"] for a in store.attempts(run_id, "work")] == ["interrupted"]
    assert doc["nodes"]["work"]["attempts"] == 0
    store.request_cancel(run_id, "work")
    assert execute_run(store, run_id) == "succeeded"
    assert statuses(store.get_run(run_id))["after"] == "skipped"


def test_python_code_is_never_rendered(store: RunStore) -> None:
    code = "text = '{{ not a template }}'\nresult = text + str(inputs['n'])\n"
    f = flow([start(), node("py", "python", config={"code": code}),
              end("end", r="{{ nodes.py.output }}")], ["start>py", "py>end"],
             inputs={"n": {"type": "integer", "default": 5}})
    _, status, doc = run(store, f)
    assert status == "succeeded", doc["error"]
    assert doc["outputs"] == {"r": "{{ not a template }}5"}


def test_an_output_that_is_not_json_fails_the_node_not_the_engine(store: RunStore) -> None:
    f = flow([start(), setv("odd", x="{{ float('nan') }}"), end()], ["start>odd", "odd>end"])
    _, status, doc = run(store, f)
    assert status == "failed"
    assert doc["error"].startswith("node 'odd' failed: the node's output is not JSON (Out of "
                                   "range float values are not JSON compliant")


def test_a_reader_following_the_event_log_misses_nothing(store: RunStore) -> None:
    """Concurrent runs commit events at once; a poller of events_after(last) sees them all."""
    import threading

    from engine.executor import execute_run

    nodes = [start(), end()] + [delay(f"d{i}", 0) for i in range(25)]
    edges = ["start>d0"] + [f"d{i}>d{i + 1}" for i in range(24)] + ["d24>end"]
    f = flow(nodes, edges)
    ids = [store.create_run(f, {}) for _ in range(4)]
    seen: list[int] = []
    done = threading.Event()

    def follow() -> None:
        last = 0
        while True:
            finished = done.is_set()
            for e in store.events_after(last):
                seen.append(e["id"])
                last = e["id"]
            if finished:
                return

    reader = threading.Thread(target=follow)
    reader.start()
    workers = [threading.Thread(target=execute_run, args=(store, rid)) for rid in ids]
    for w in workers:
        w.start()
    for w in workers:
        w.join(60)
    done.set()
    reader.join(60)
    every = [e["id"] for e in store.events_after(0, limit=100000)]
    assert seen == every
    assert all(store.get_run(rid)["status"] == "succeeded" for rid in ids)
