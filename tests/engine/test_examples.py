"""The example flows: together they show every node kind and edge rule, and their table of
expected end states (resources/examples/expected.json) matches the flows."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine.flowfile import dumps, input_value_ok, load_flow
from engine.kinds import KINDS
from engine.model import Flow
from engine.validate import validate

FOLDER = Path(__file__).resolve().parents[2] / "resources" / "examples"
PATHS = sorted(FOLDER.glob("*.flow.json"))
FLOWS = {p.name: load_flow(p) for p in PATHS}
EXPECTED = json.loads((FOLDER / "expected.json").read_text(encoding="utf-8"))
NODE_STATES = {"pending", "running", "waiting", "succeeded", "failed", "skipped", "cancelled"}
RUN_STATES = {"pending", "running", "waiting", "succeeded", "failed", "cancelled"}


def test_there_are_at_least_six() -> None:
    assert len(PATHS) >= 6


def test_every_node_kind_is_shown() -> None:
    used = {n.kind for f in FLOWS.values() for n in f.nodes}
    assert used == set(KINDS)


def _rules(flow: Flow) -> set[str]:
    rules: set[str] = set()
    for n in flow.nodes:
        outgoing = flow.edges_from(n.id)
        incoming = flow.edges_to(n.id)
        if n.kind == "branch" and sum(e.when is not None for e in outgoing) >= 2:
            rules.add("branch first-true")
        if n.kind != "branch" and any(e.when for e in outgoing):
            rules.add("when")
        if any(e.default for e in outgoing):
            rules.add("default")
        if any(e.is_error for e in outgoing):
            rules.add("on: error")
        if n.kind == "branch" and len({e.target for e in outgoing}) >= 2 and any(
                len(flow.edges_to(e.target)) == 1 and flow.edges_from(e.target)
                for e in outgoing):
            rules.add("dead-path elimination")
        if len(incoming) >= 2 and n.join in (None, "all"):
            rules.add("join all")
        if n.join == "any":
            rules.add("join any")
        if isinstance(n.join, dict):
            rules.add("join min")
        if n.cancel_others:
            rules.add("cancel_others")
        if n.cancels:
            rules.add("cancels")
        if n.kind == "end" and n.cfg.get("terminate"):
            rules.add("end terminate")
        if n.retry and n.retry.get("max_attempts", 1) > 1 and n.retry.get("backoff_s", 0) > 0:
            rules.add("retry with backoff")
        if n.timeout_s is not None:
            rules.add("timeout_s")
        if n.kind == "subflow" and n.cfg.get("flow") in FLOWS and \
                FLOWS[n.cfg["flow"]] is flow:
            rules.add("a flow calling itself")
    return rules


def test_every_edge_rule_is_shown() -> None:
    shown = set().union(*(_rules(f) for f in FLOWS.values()))
    assert shown >= {"when", "default", "branch first-true", "on: error",
                     "dead-path elimination", "join all", "join any", "join min",
                     "cancel_others", "cancels", "end terminate", "retry with backoff",
                     "timeout_s", "a flow calling itself"}


@pytest.mark.parametrize("name", list(FLOWS))
def test_each_example_is_valid_canonical_and_well_drawn(name: str) -> None:
    flow = FLOWS[name]
    assert validate(flow) == []
    assert (FOLDER / name).read_text(encoding="utf-8") == dumps(flow)
    assert flow.description and name == f"{flow.name}.flow.json"
    positions = set()
    for n in flow.nodes:
        assert n.name, f"{name}: node {n.id} has no name"
        assert n.x is not None and n.y is not None
        positions.add((n.x, n.y))
    assert len(positions) == len(flow.nodes), f"{name}: two nodes on the same spot"
    for e in flow.edges:  # drawn left to right
        assert flow.node(e.target).x > flow.node(e.source).x, f"{name}: {e} points left"
    for n in flow.nodes:
        if n.kind == "subflow" and n.cfg["flow"].endswith(".flow.json"):
            assert (FOLDER / n.cfg["flow"]).exists()


def test_the_expected_table_lists_every_example() -> None:
    assert set(EXPECTED) == set(FLOWS)


@pytest.mark.parametrize("name", list(FLOWS))
def test_each_expected_entry_matches_its_flow(name: str) -> None:
    entry, flow = EXPECTED[name], FLOWS[name]
    assert entry["status"] in RUN_STATES
    assert set(entry["nodes"]) == {n.id for n in flow.nodes}
    assert set(entry["nodes"].values()) <= NODE_STATES
    declared = flow.inputs or {}
    for key, value in entry["inputs"].items():
        assert key in declared and input_value_ok(declared[key]["type"], value)
    required = {k for k, d in declared.items() if "default" not in d}
    assert required <= set(entry["inputs"])
    ended = [n for n in flow.nodes if n.kind == "end" and entry["nodes"][n.id] == "succeeded"]
    if entry["status"] == "succeeded":
        assert ended, "a succeeded run reached an end"
        assert all(s not in ("pending", "running", "waiting") for s in entry["nodes"].values())
        assert set(entry.get("outputs", {})) == {
            k for n in ended for k in n.cfg.get("outputs", {})}
    if entry["status"] == "waiting":
        assert any(flow.node(i).kind == "approval" and s == "waiting"
                   for i, s in entry["nodes"].items())


def test_the_readme_names_every_example() -> None:
    readme = (FOLDER / "README.md").read_text(encoding="utf-8")
    for name in FLOWS:
        assert name in readme
