"""The flowdesk/1 loader is strict, and what it writes it reads back byte for byte."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from engine.flowfile import FlowFileError, dumps, load_flow, loads, save_flow
from engine.model import Flow, Node

EXAMPLES = Path(__file__).resolve().parents[2] / "resources" / "examples"


def base() -> dict[str, Any]:
    return {
        "format": "flowdesk/1",
        "name": "t",
        "nodes": [
            {"id": "start", "kind": "start"},
            {"id": "work", "kind": "shell", "config": {"command": ["true"]}},
            {"id": "end", "kind": "end"},
        ],
        "edges": [{"from": "start", "to": "work"}, {"from": "work", "to": "end"}],
    }


def work(d: dict[str, Any]) -> dict[str, Any]:
    return d["nodes"][1]


def mutate(fn: Callable[[dict[str, Any]], Any]) -> dict[str, Any]:
    d = base()
    fn(d)
    return d


# (case id, mutation, node named in the message or None, field named or None, words)
BAD: list[tuple[str, Callable[[dict[str, Any]], Any], str | None, str | None, str]] = [
    ("unknown top-level key", lambda d: d.update(version=2), None, None,
     "unknown top-level key 'version'"),
    ("wrong format", lambda d: d.update(format="flowdesk/2"), None, None,
     'unsupported format "flowdesk/2"'),
    ("missing format", lambda d: d.pop("format"), None, None, "missing 'format'"),
    ("format not a string", lambda d: d.update(format=1), None, None, "unsupported format 1"),
    ("missing name", lambda d: d.pop("name"), None, None, "missing 'name'"),
    ("empty name", lambda d: d.update(name="  "), None, "name", "must be a non-empty string"),
    ("description not a string", lambda d: d.update(description=5), None, "description",
     "must be a string, not a number"),
    ("concurrency zero", lambda d: d.update(concurrency=0), None, "concurrency",
     "an integer of at least 1"),
    ("concurrency float", lambda d: d.update(concurrency=2.5), None, "concurrency",
     "an integer of at least 1"),
    ("concurrency bool", lambda d: d.update(concurrency=True), None, "concurrency",
     "not a boolean"),
    ("missing nodes", lambda d: d.pop("nodes"), None, None, "missing 'nodes'"),
    ("nodes not a list", lambda d: d.update(nodes={}), None, "nodes",
     "must be a list, not an object"),
    ("edges not a list", lambda d: d.update(edges="x"), None, "edges",
     "must be a list, not a string"),
    ("inputs not an object", lambda d: d.update(inputs=[]), None, "inputs", "an object"),
    ("input bad type", lambda d: d.update(inputs={"n": {"type": "int"}}), None, "inputs.n",
     'type must be one of string, integer, number, boolean, object, array, not "int"'),
    ("input missing type", lambda d: d.update(inputs={"n": {}}), None, "inputs.n",
     "type must be one of"),
    ("input unknown key", lambda d: d.update(inputs={"n": {"type": "string", "req": 1}}),
     None, "inputs.n", "unknown key 'req'"),
    ("input default of wrong type",
     lambda d: d.update(inputs={"n": {"type": "integer", "default": "3"}}), None, "inputs.n",
     "default must be of type integer"),
    ("input bad name", lambda d: d.update(inputs={"my input": {"type": "string"}}), None,
     "inputs.my input", "an input name must be"),
    ("node not an object", lambda d: d["nodes"].append("x"), None, None,
     "nodes[3] must be an object, not a string"),
    ("node without id", lambda d: work(d).pop("id"), None, "id",
     "nodes[1] needs an 'id'"),
    ("bad id", lambda d: work(d).update(id="has space"), None, "id", '"has space"'),
    ("id starting with digit", lambda d: work(d).update(id="1st"), None, "id", '"1st"'),
    ("duplicate id", lambda d: d["nodes"].append({"id": "work", "kind": "end"}), "work", "id",
     "duplicate node id"),
    ("unknown node field", lambda d: work(d).update(colour="red"), "work", None,
     "unknown node field 'colour'"),
    ("missing kind", lambda d: work(d).pop("kind"), "work", "kind", "missing 'kind'"),
    ("unknown kind", lambda d: work(d).update(kind="email"), "work", "kind",
     'unknown kind "email"'),
    ("kind a list", lambda d: work(d).update(kind=["shell"]), "work", "kind",
     'unknown kind ["shell"]'),
    ("name not a string", lambda d: work(d).update(name=3), "work", "name",
     "must be a string, not a number"),
    ("config not an object", lambda d: work(d).update(config=["true"]), "work", "config",
     "must be an object, not a list"),
    ("unknown config key", lambda d: work(d)["config"].update(shel=True), "work",
     "config.shel", "unknown config key 'shel' for kind 'shell'"),
    ("config on a kind without config", lambda d: d["nodes"][0].update(config={"a": 1}),
     "start", "config.a", "(allowed: none)"),
    ("retry not an object", lambda d: work(d).update(retry=3), "work", "retry",
     "must be an object, not a number"),
    ("retry zero attempts", lambda d: work(d).update(retry={"max_attempts": 0}), "work",
     "retry.max_attempts", "an integer of at least 1"),
    ("retry negative backoff", lambda d: work(d).update(retry={"backoff_s": -1}), "work",
     "retry.backoff_s", "a number >= 0"),
    ("retry unknown key", lambda d: work(d).update(retry={"tries": 2}), "work", "retry",
     "unknown key 'tries'"),
    ("timeout zero", lambda d: work(d).update(timeout_s=0), "work", "timeout_s",
     "a positive number"),
    ("timeout string", lambda d: work(d).update(timeout_s="5"), "work", "timeout_s",
     "not a string"),
    ("join unknown word", lambda d: work(d).update(join="some"), "work", "join",
     'must be "all", "any" or {"min": N}'),
    ("join min zero", lambda d: work(d).update(join={"min": 0}), "work", "join",
     '{"min": 0}'),
    ("join extra key", lambda d: work(d).update(join={"min": 1, "max": 2}), "work", "join",
     "must be"),
    ("cancel_others not bool", lambda d: work(d).update(cancel_others="yes"), "work",
     "cancel_others", "must be a boolean, not a string"),
    ("cancels not a list", lambda d: work(d).update(cancels="end"), "work", "cancels",
     "a list of node ids"),
    ("x not a number", lambda d: work(d).update(x="10"), "work", "x", "must be a number"),
    ("y a boolean", lambda d: work(d).update(y=True), "work", "y", "not a boolean"),
    ("edge not an object", lambda d: d["edges"].append(1), None, None,
     "edges[2] must be an object"),
    ("edge unknown field", lambda d: d["edges"][0].update(weight=1), None, None,
     "edges[0] (start -> work): unknown edge field 'weight'"),
    ("edge missing to", lambda d: d["edges"][1].pop("to"), None, None,
     "edges[1]: 'to' must be a node id, not null"),
    ("edge when not a string", lambda d: d["edges"][0].update(when=True), None, None,
     "edges[0] (start -> work): 'when' must be an expression string, not a boolean"),
    ("edge default not bool", lambda d: d["edges"][0].update(default="yes"), None, None,
     "edges[0] (start -> work): 'default' must be a boolean"),
    ("edge on unknown", lambda d: d["edges"][0].update(on="failure"), None, None,
     "edges[0] (start -> work): 'on' must be \"success\" or \"error\", not \"failure\""),
    ("edge label not a string", lambda d: d["edges"][0].update(label=[]), None, None,
     "edges[0] (start -> work): 'label' must be a string"),
]


@pytest.mark.parametrize("mut,node,field,words", [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_bad_documents_are_refused_naming_file_node_and_field(
        tmp_path: Path, mut: Callable[[dict[str, Any]], Any], node: str | None,
        field: str | None, words: str) -> None:
    path = tmp_path / "bad.flow.json"
    text = json.dumps(mutate(mut))
    path.write_text(text, encoding="utf-8")
    with pytest.raises(FlowFileError) as info:
        load_flow(path)
    err = info.value
    message = str(err)
    assert message.startswith(f"{path}: ")
    assert words in message
    assert err.node == node
    if node:
        assert f"node '{node}'" in message
    assert err.field == field
    if field:
        assert f"field '{field}'" in message
    assert "\n" not in message and "Traceback" not in message
    assert path.read_text(encoding="utf-8") == text  # loading never touches the file


@pytest.mark.parametrize("text,words", [
    ("{", "not valid JSON: Expecting property name enclosed in double quotes at line 1"),
    ('{"format": "flowdesk/1",\n "name": "x",,}', "at line 2 column"),
    ("", "not valid JSON: Expecting value at line 1 column 1"),
    ("[1, 2]", "a flow file must hold a JSON object, not a list"),
    ("null", "a flow file must hold a JSON object, not null"),
    ('{"format": "flowdesk/1", "name": "x", "nodes": [], "description": '
     + "[" * 100_000 + "]" * 100_000 + "}", "not valid JSON: nested too deeply"),
])
def test_malformed_json_names_the_file_and_the_place(tmp_path: Path, text: str,
                                                     words: str) -> None:
    path = tmp_path / "broken.flow.json"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(FlowFileError) as info:
        load_flow(path)
    assert str(info.value).startswith(f"{path}: ")
    assert words in str(info.value)


@pytest.mark.parametrize("text,node,field,words", [
    ('{"format": "flowdesk/1", "name": "a", "name": "b", "nodes": []}', None, "name",
     "the key 'name' appears twice in one object"),
    ('{"format": "flowdesk/1", "name": "a", "nodes": [{"id": "n", "kind": "delay", '
     '"config": {"seconds": 1}, "config": {"seconds": 2}}]}', "n", "config",
     "the key 'config' appears twice"),
    ('{"format": "flowdesk/1", "name": "a", "nodes": [{"id": "n", "kind": "delay", '
     '"config": {"seconds": 1, "seconds": 2}}]}', None, "seconds",
     "the key 'seconds' appears twice"),
    ('{"format": "flowdesk/1", "name": "a", "nodes": [{"id": "n", "kind": "start", '
     '"x": NaN}]}', None, None, "NaN is not valid JSON"),
    ('{"format": "flowdesk/1", "name": "a", "nodes": [{"id": "n", "kind": "set", '
     '"config": {"vars": {"a": -Infinity}}}]}', None, None, "-Infinity is not valid JSON"),
])
def test_what_plain_json_would_let_through_is_refused(text: str, node: str | None,
                                                      field: str | None, words: str) -> None:
    """Python's json keeps the last of two equal keys and reads NaN: both would lose data."""
    with pytest.raises(FlowFileError) as info:
        loads(text, "dup.flow.json")
    assert str(info.value).startswith("dup.flow.json: ") and words in str(info.value)
    assert (info.value.node, info.value.field) == (node, field)


def test_unreadable_files(tmp_path: Path) -> None:
    with pytest.raises(FlowFileError, match="no such file"):
        load_flow(tmp_path / "missing.flow.json")
    with pytest.raises(FlowFileError) as info:
        load_flow(tmp_path)
    assert str(info.value) == f"{tmp_path}: cannot read the file: Is a directory"
    latin = tmp_path / "latin.flow.json"
    latin.write_bytes(b'{"name": "caf\xe9"}')
    with pytest.raises(FlowFileError) as info:
        load_flow(latin)
    assert str(info.value) == f"{latin}: cannot read the file: it is not UTF-8 text (byte 13)"


def test_a_good_document_loads_every_field() -> None:
    d = base()
    d.update(description="desc", concurrency=3,
             inputs={"n": {"type": "number", "default": 1.5, "description": "N"}})
    work(d).update(name="Work", retry={"max_attempts": 3, "backoff_s": 0.5,
                                       "backoff_factor": 2},
                   timeout_s=2.5, join={"min": 1}, cancel_others=True, cancels=["end"],
                   x=10, y=-20.5)
    d["edges"][1].update(when="true", label="ok")
    d["edges"].append({"from": "work", "to": "end", "on": "error"})
    flow = loads(json.dumps(d))
    n = flow.node("work")
    assert (n.name, n.timeout_s, n.join, n.cancel_others, n.cancels, n.x, n.y) == (
        "Work", 2.5, {"min": 1}, True, ["end"], 10, -20.5)
    assert n.retry == {"max_attempts": 3, "backoff_s": 0.5, "backoff_factor": 2}
    assert flow.concurrency == 3 and flow.effective_concurrency == 3
    assert flow.edges[2].is_error and flow.edges[1].when == "true"
    assert flow.to_dict() == d


def test_edges_may_be_omitted_and_are_written_as_an_empty_list() -> None:
    d = base()
    del d["edges"]
    flow = loads(json.dumps(d))
    assert flow.edges == []
    assert json.loads(dumps(flow))["edges"] == []


CANONICAL = dumps(loads(json.dumps({
    "format": "flowdesk/1", "name": "ünïcode ✓", "description": "line\nbreak \"quoted\"",
    "inputs": {"s": {"type": "string", "default": "a"}, "o": {"type": "object",
                                                            "default": {"k": [1, 2.5]}}},
    "concurrency": 2,
    "nodes": [
        {"id": "start", "kind": "start", "x": 0, "y": 0},
        {"id": "p", "kind": "python", "name": "Py", "config": {"code": "result = 1\n"},
         "retry": {"max_attempts": 2}, "timeout_s": 1.5, "x": 200.25, "y": -1e-3},
        {"id": "end", "kind": "end", "config": {"outputs": {"r": "{{ nodes.p.output }}"},
                                                "terminate": False}, "join": "any",
         "cancel_others": False, "cancels": [], "x": 400, "y": 0},
    ],
    "edges": [{"from": "start", "to": "p", "label": "go"},
              {"from": "p", "to": "end", "default": False, "on": "success"}],
})))


def test_round_trip_of_a_canonical_file_is_byte_for_byte(tmp_path: Path) -> None:
    assert dumps(loads(CANONICAL)) == CANONICAL
    path = tmp_path / "c.flow.json"
    path.write_text(CANONICAL, encoding="utf-8")
    flow = load_flow(path)
    save_flow(flow, path)
    assert path.read_text(encoding="utf-8") == CANONICAL
    assert CANONICAL.endswith("}\n") and "ünïcode ✓" in CANONICAL


def test_a_failed_save_keeps_the_old_file_and_leaves_no_temporary(tmp_path: Path) -> None:
    path = tmp_path / "keep.flow.json"
    path.write_text(CANONICAL, encoding="utf-8")
    flow = loads(CANONICAL)
    flow.node("p").config = {"code": object()}  # cannot be written as JSON
    with pytest.raises(TypeError):
        save_flow(flow, path)
    target_is_dir = tmp_path / "dir.flow.json"
    target_is_dir.mkdir()
    with pytest.raises(OSError):
        save_flow(loads(CANONICAL), target_is_dir)
    assert path.read_text(encoding="utf-8") == CANONICAL
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dir.flow.json", "keep.flow.json"]


def test_dumps_puts_fields_in_format_order() -> None:
    d = json.loads(CANONICAL)
    shuffled = {k: d[k] for k in reversed(list(d))}
    shuffled["nodes"] = [{k: n[k] for k in reversed(list(n))} for n in d["nodes"]]
    assert dumps(loads(json.dumps(shuffled))) == CANONICAL


def test_save_is_atomic_and_leaves_no_temporary_file(tmp_path: Path) -> None:
    path = tmp_path / "a.flow.json"
    flow = Flow("a")
    flow.add_node(Node("start", "start"))
    save_flow(flow, path)
    assert [p.name for p in tmp_path.iterdir()] == ["a.flow.json"]
    assert load_flow(path).to_dict() == flow.to_dict()


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.flow.json")), ids=lambda p: p.name)
def test_every_example_round_trips_byte_for_byte(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert dumps(load_flow(path)) == text
