"""Validation: every error and warning, each tied to the right node or edge."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from engine.flowfile import flow_from_dict, load_flow
from engine.model import Flow, Node
from engine.validate import Problem, build_graph, has_errors, validate

EXAMPLES = Path(__file__).resolve().parents[2] / "resources" / "examples"


def doc() -> dict[str, Any]:
    """A valid flow: start -> b (branch) -> x | y -> end."""
    return {
        "format": "flowdesk/1", "name": "v",
        "inputs": {"n": {"type": "integer", "default": 1}},
        "nodes": [
            {"id": "start", "kind": "start"},
            {"id": "b", "kind": "branch"},
            {"id": "x", "kind": "set", "config": {"vars": {"a": "{{ inputs.n }}"}}},
            {"id": "y", "kind": "shell", "config": {"command": ["echo", "{{ inputs.n }}"]}},
            {"id": "end", "kind": "end", "config": {"outputs": {"a": "{{ vars.a }}"}}},
        ],
        "edges": [
            {"from": "start", "to": "b"},
            {"from": "b", "to": "x", "when": "inputs.n > 0"},
            {"from": "b", "to": "y", "default": True},
            {"from": "x", "to": "end"},
            {"from": "y", "to": "end"},
        ],
    }


def nodes(d: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {n["id"]: n for n in d["nodes"]}


def add(d: dict[str, Any], node: dict[str, Any], *edges: dict[str, Any]) -> None:
    d["nodes"].append(node)
    d["edges"].extend(edges)


def problems_of(mut: Callable[[dict[str, Any]], Any]) -> list[Problem]:
    d = doc()
    mut(d)
    return validate(flow_from_dict(d))


def test_the_base_flow_is_clean() -> None:
    assert validate(flow_from_dict(doc())) == []


# (id, mutation, severity, node, edge index, field, words)
CASES: list[tuple[str, Callable[[dict[str, Any]], Any], str, str | None, int | None,
                  str | None, str]] = [
    ("no start", lambda d: nodes(d)["start"].update(kind="set", config={"vars": {}}),
     "error", None, None, None, "the flow has no start node"),
    ("two starts", lambda d: add(d, {"id": "s2", "kind": "start"}, {"from": "s2", "to": "b"}),
     "error", "s2", None, None, "more than one start node (also 'start')"),
    ("no end", lambda d: (nodes(d)["end"].update(kind="set", config={"vars": {}})),
     "error", None, None, None, "the flow has no end node"),
    ("cycle", lambda d: d["edges"].append({"from": "x", "to": "b"}),
     "error", "b", None, None, "the flow has a cycle: b -> x -> b"),
    ("self loop", lambda d: d["edges"].append({"from": "y", "to": "y", "on": "error"}),
     "error", "y", None, None, "the flow has a cycle: y -> y"),
    ("unreachable", lambda d: add(d, {"id": "lost", "kind": "set", "config": {"vars": {}}},
                                  {"from": "lost", "to": "end"}),
     "error", "lost", None, None, "not reachable from the start node"),
    ("edge to missing node", lambda d: d["edges"].append({"from": "x", "to": "ghost"}),
     "error", None, 5, None, "names a node that does not exist: 'ghost'"),
    ("edge from missing node", lambda d: d["edges"].append({"from": "ghost", "to": "x"}),
     "error", None, 5, None, "names a node that does not exist: 'ghost'"),
    ("branch without edges",
     lambda d: (add(d, {"id": "b2", "kind": "branch"}, {"from": "x", "to": "b2"}),
                d["edges"].append({"from": "b2", "to": "end", "on": "error"})),
     "error", "b2", None, None, "a branch needs at least one outgoing edge"),
    ("when does not parse", lambda d: d["edges"][1].update(when="inputs.n >"),
     "error", None, 1, "when", "invalid expression 'inputs.n >'"),
    ("empty when", lambda d: d["edges"][1].update(when=" "),
     "error", None, 1, "when", "empty expression"),
    ("template does not parse", lambda d: nodes(d)["x"].update(
        config={"vars": {"a": "{{ inputs.n + }}"}}),
     "error", "x", None, "config.vars", "invalid expression"),
    ("text template does not parse", lambda d: nodes(d)["y"]["config"].update(
        command=["echo", "n={{ inputs.n }"]),
     "error", "y", None, "config.command", "invalid template"),
    ("required config missing", lambda d: nodes(d)["y"].update(config={}),
     "error", "y", None, "config.command", "config 'command' is required for a shell node"),
    ("config of the wrong type", lambda d: nodes(d)["x"].update(config={"vars": ["a"]}),
     "error", "x", None, "config.vars", "config 'vars' must be an object of name -> value"),
    ("string command without shell", lambda d: nodes(d)["y"]["config"].update(command="ls"),
     "error", "y", None, "config.command", "needs \"shell\": true"),
    ("empty command list", lambda d: nodes(d)["y"]["config"].update(command=[]),
     "error", "y", None, "config.command", "must be a non-empty list of strings"),
    ("shell flag not boolean", lambda d: nodes(d)["y"]["config"].update(shell="yes"),
     "error", "y", None, "config.shell", "must be true or false"),
    ("python syntax error", lambda d: nodes(d)["y"].update(kind="python",
                                                           config={"code": "x = (1,\n"}),
     "error", "y", None, "config.code", "Python syntax error on line 1"),
    ("delay seconds text", lambda d: nodes(d)["y"].update(kind="delay",
                                                          config={"seconds": "soon"}),
     "error", "y", None, "config.seconds", "must be a number"),
    ("delay seconds with spaces around a template",
     lambda d: nodes(d)["y"].update(kind="delay", config={"seconds": " {{ inputs.n }}"}),
     "error", "y", None, "config.seconds", "must be a number"),
    ("delay seconds from two templates",
     lambda d: nodes(d)["y"].update(kind="delay",
                                    config={"seconds": "{{ inputs.n }}{{ inputs.n }}"}),
     "error", "y", None, "config.seconds", "must be a number"),
    ("http method unknown", lambda d: nodes(d)["y"].update(
        kind="http", config={"url": "http://h", "method": "FETCH"}),
     "error", "y", None, "config.method", "must be one of GET, POST, PUT, PATCH, DELETE, HEAD"),
    ("http json and body", lambda d: nodes(d)["y"].update(
        kind="http", config={"url": "http://h", "json": {}, "body": "x"}),
     "error", "y", None, "config.body", "give either 'json' or 'body', not both"),
    ("http ok_status not codes", lambda d: nodes(d)["y"].update(
        kind="http", config={"url": "http://h", "ok_status": [200, "x", 700]}),
     "error", "y", None, "config.ok_status", "must list HTTP status codes"),
    ("subflow depth not integer", lambda d: nodes(d)["y"].update(
        kind="subflow", config={"flow": "f.flow.json", "max_depth": 2.5}),
     "error", "y", None, "config.max_depth", "must be an integer"),
    ("approval without prompt", lambda d: nodes(d)["y"].update(kind="approval", config={}),
     "error", "y", None, "config.prompt", "config 'prompt' is required"),
    ("duplicate edge", lambda d: d["edges"].append({"from": "x", "to": "end"}),
     "error", None, 5, None, "duplicate edge x -> end"),
    ("when and default", lambda d: d["edges"][1].update(default=True),
     "error", None, 1, "default", "an edge cannot have both 'when' and 'default'"),
    ("error edge with when", lambda d: d["edges"].append(
        {"from": "x", "to": "end", "on": "error", "when": "true"}),
     "error", None, 5, None, "an error edge takes no 'when' or 'default'"),
    ("edge into start", lambda d: d["edges"].append({"from": "x", "to": "start",
                                                     "on": "error"}),
     "error", None, 5, None, "no edge may lead into the start node"),
    ("edge out of end", lambda d: (add(d, {"id": "e2", "kind": "end"},
                                       {"from": "end", "to": "e2"})),
     "error", None, 5, None, "no edge may leave an end node"),
    ("two defaults", lambda d: (add(d, {"id": "z", "kind": "set", "config": {"vars": {}}},
                                    {"from": "b", "to": "z", "default": True},
                                    {"from": "z", "to": "end"})),
     "error", "b", None, None, "more than one default edge"),
    ("join min too high", lambda d: nodes(d)["end"].update(join={"min": 3}),
     "error", "end", None, "join", "join needs 3 arrivals but only 2 edges lead here"),
    ("cancels unknown node", lambda d: nodes(d)["x"].update(cancels=["ghost"]),
     "error", "x", None, "cancels", "cancels names a node that does not exist: 'ghost'"),
    ("cancel_others without any", lambda d: nodes(d)["end"].update(cancel_others=True),
     "warning", "end", None, "cancel_others", "cancel_others has an effect only with join"),
    ("retry on start", lambda d: nodes(d)["start"].update(retry={"max_attempts": 2}),
     "warning", "start", None, None, "retry has no effect on a start node"),
    ("misspelt name in when", lambda d: d["edges"][1].update(when="inptus.n > 0"),
     "warning", None, 1, "when", "'inptus' is not a name in scope"),
    ("when naming a missing node", lambda d: d["edges"][1].update(
        when="nodes.fetch.output.status == 200"),
     "warning", None, 1, "when", "there is no node 'fetch'"),
    ("template naming an undeclared input", lambda d: nodes(d)["y"]["config"].update(
        command=["echo", "{{ inputs['count'] }}"]),
     "warning", "y", None, "config.command", "the flow declares no input 'count'"),
    ("template using a function that is not offered", lambda d: nodes(d)["end"].update(
        config={"outputs": {"r": {"deep": ["{{ range(3) }}"]}}}),
     "warning", "end", None, "config.outputs", "'range' is not a name in scope"),
    ("node reaching no end", lambda d: add(d, {"id": "dangling", "kind": "set",
                                               "config": {"vars": {}}},
                                           {"from": "x", "to": "dangling"}),
     "warning", "dangling", None, None, "no path from this node reaches an end node"),
]


@pytest.mark.parametrize("mut,severity,node,edge,field,words", [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])
def test_each_problem_is_reported_where_it_is(
        mut: Callable[[dict[str, Any]], Any], severity: str, node: str | None,
        edge: int | None, field: str | None, words: str) -> None:
    found = problems_of(mut)
    matching = [p for p in found if words in p.message]
    assert matching, f"no problem mentions {words!r}: {found}"
    p = matching[0]
    assert (p.severity, p.node, p.edge, p.field) == (severity, node, edge, field), p
    assert has_errors(found) == (severity == "error")


def test_names_bound_inside_a_template_and_python_code_are_not_flagged() -> None:
    def mut(d: dict[str, Any]) -> None:
        nodes(d)["y"].update(kind="python", config={"code": "result = undefined_here"})
        nodes(d)["x"]["config"]["vars"]["list"] = (
            "{% for item in [inputs.n] %}{{ loop.index }}{{ item }}{% endfor %}")
        nodes(d)["end"]["config"]["outputs"]["s"] = "{{ nodes['x'].status ~ str(run.id) }}"
    assert problems_of(mut) == []


def test_warnings_alone_do_not_block_and_are_formatted_as_warnings() -> None:
    found = problems_of(lambda d: nodes(d)["start"].update(retry={"max_attempts": 2}))
    assert not has_errors(found)
    assert found[0].format("f.flow.json") == (
        "f.flow.json: node 'start': warning: retry has no effect on a start node")


def test_problem_lines_and_json_shapes() -> None:
    flow_level = Problem("error", "the flow has no end node")
    on_node = Problem("error", "not reachable from the start node", node="lost")
    on_edge = Problem("error", "duplicate edge x -> end", edge=5)
    assert flow_level.format("a.flow.json") == "a.flow.json: the flow has no end node"
    assert on_node.format("a.flow.json") == (
        "a.flow.json: node 'lost': not reachable from the start node")
    assert on_edge.format("a.flow.json") == "a.flow.json: edge 5: duplicate edge x -> end"
    assert on_edge.to_dict() == {"severity": "error", "message": "duplicate edge x -> end",
                                 "edge": 5}


def test_a_flow_with_many_problems_lists_them_all() -> None:
    def wreck(d: dict[str, Any]) -> None:
        d["edges"].append({"from": "x", "to": "ghost"})
        d["edges"][1]["when"] = "1 +"
        nodes(d)["y"]["config"] = {}
        nodes(d)["end"]["join"] = {"min": 5}
    found = problems_of(wreck)
    messages = " | ".join(p.message for p in found)
    for words in ("'ghost'", "invalid expression", "config 'command' is required",
                  "join needs 5 arrivals"):
        assert words in messages


# A model edited in memory (designer, server) gets the loader's shape checks too, so a
# flow that would save to an unloadable file is reported instead of crashing the validator.
MODEL_EDITS: list[tuple[str, Callable[[Flow], Any], str | None, str]] = [
    ("join min zero", lambda f: f.set_node_field("end", "join", {"min": 0}), "end",
     'must be "all", "any" or {"min": N}'),
    ("join without min", lambda f: f.set_node_field("end", "join", {"max": 1}), "end",
     'must be "all", "any" or {"min": N}'),
    ("cancels a string", lambda f: f.set_node_field("x", "cancels", "end"), "x",
     "a list of node ids"),
    ("config a list", lambda f: f.set_node_field("x", "config", ["a"]), "x",
     "config must be an object"),
    ("negative timeout", lambda f: f.set_node_field("y", "timeout_s", -1), "y",
     "a positive number"),
    ("retry zero", lambda f: f.set_node_field("y", "retry", {"max_attempts": 0}), "y",
     "an integer of at least 1"),
    ("unknown kind", lambda f: f.set_node_field("y", "kind", "email"), "y",
     "unknown kind 'email'"),
    ("empty flow name", lambda f: f.set_flow_field("name", ""), None,
     "must be a non-empty string"),
    ("input without type", lambda f: f.set_flow_field("inputs", {"n": {"default": 1}}), None,
     "type must be one of"),
    ("edge when not text", lambda f: f.set_edge_field(f.edges[1].key, "when", 5), None,
     "'when' must be an expression string"),
]


@pytest.mark.parametrize("edit,node,words", [m[1:] for m in MODEL_EDITS],
                         ids=[m[0] for m in MODEL_EDITS])
def test_shape_errors_of_a_model_edited_in_memory(edit: Callable[[Flow], Any],
                                                  node: str | None, words: str) -> None:
    flow = flow_from_dict(doc())
    edit(flow)
    found = validate(flow)
    matching = [p for p in found if words in p.message]
    assert matching, found
    assert matching[0].is_error and matching[0].node == node
    if matching[0].field:  # the printed line names the field
        assert matching[0].field in matching[0].format("f")


def test_validation_does_not_change_the_flow() -> None:
    flow = flow_from_dict(doc())
    flow.add_node(Node("extra", "set", config={"vars": {}}))
    before = copy.deepcopy(flow.to_dict())
    validate(flow)
    assert flow.to_dict() == before


def test_build_graph_keeps_parallel_edges_and_their_index() -> None:
    d = doc()
    d["edges"].append({"from": "x", "to": "end", "on": "error"})
    graph = build_graph(flow_from_dict(d))
    assert sorted(i for _, _, i in graph.edges("x", data="index")) == [3, 5]
    assert set(graph.nodes) == {"start", "b", "x", "y", "end"}


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.flow.json")), ids=lambda p: p.name)
def test_every_example_validates_without_any_problem(path: Path) -> None:
    assert validate(load_flow(path), base_dir=path.parent) == []
