"""The published JSON Schema: up to date, valid draft 2020-12, and it agrees with the loader."""

from __future__ import annotations

import copy
import importlib.util
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from engine.kinds import KINDS
from engine.schema_gen import flow_schema, main, schema_text

ROOT = Path(__file__).resolve().parents[2]
SCHEMA_FILE = ROOT / "docs" / "flow-schema.json"
EXAMPLES = sorted((ROOT / "resources" / "examples").glob("*.flow.json"))
VALIDATOR = jsonschema.Draft202012Validator(flow_schema())


def _flowfile_cases() -> Any:
    spec = importlib.util.spec_from_file_location(
        "_flowfile_cases", Path(__file__).with_name("test_flowfile.py"))
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


FLOWFILE = _flowfile_cases()


def errors(doc: Any) -> list[str]:
    return [e.message for e in VALIDATOR.iter_errors(doc)]


def test_the_committed_schema_is_the_generated_one() -> None:
    assert SCHEMA_FILE.read_text(encoding="utf-8") == schema_text(), (
        "docs/flow-schema.json is stale: run python -m engine.schema_gen docs/flow-schema.json")


def test_the_generator_writes_the_file(tmp_path: Path) -> None:
    out = tmp_path / "schema.json"
    assert main([str(out)]) == 0
    assert json.loads(out.read_text(encoding="utf-8")) == flow_schema()


def test_it_is_a_valid_draft_2020_12_schema() -> None:
    schema = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(schema)


def test_every_kind_has_its_config_with_no_other_keys() -> None:
    defs = flow_schema()["$defs"]
    for kind, spec in KINDS.items():
        config = defs[f"config_{kind}"]
        assert config["additionalProperties"] is False
        assert list(config["properties"]) == [f.name for f in spec.fields]
        assert config.get("required", []) == [f.name for f in spec.fields if f.required]


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_every_example_validates(path: Path) -> None:
    assert errors(json.loads(path.read_text(encoding="utf-8"))) == []


def minimal(kind: str, config: dict[str, Any] | None) -> dict[str, Any]:
    node: dict[str, Any] = {"id": "n", "kind": kind}
    if config is not None:
        node["config"] = config
    return {"format": "flowdesk/1", "name": "s",
            "nodes": [{"id": "start", "kind": "start"}, node, {"id": "end", "kind": "end"}],
            "edges": [{"from": "start", "to": "n"}, {"from": "n", "to": "end"}]}


GOOD_CONFIG = {
    "start": None, "branch": None, "end": {"outputs": {"a": 1}, "terminate": True},
    "set": {"vars": {"a": "{{ inputs.x }}"}}, "shell": {"command": "ls -l", "shell": True},
    "python": {"code": "result = 1"},
    "http": {"method": "POST", "url": "http://h", "json": {"a": [1]}, "ok_status": [201]},
    "delay": {"seconds": "{{ inputs.wait }}"}, "approval": {"prompt": "ok?", "role": "ops"},
    "subflow": {"flow": "child.flow.json", "inputs": {"a": 1}, "max_depth": 3},
}


@pytest.mark.parametrize("kind", list(KINDS))
def test_per_kind_config(kind: str) -> None:
    assert errors(minimal(kind, GOOD_CONFIG[kind])) == []
    config = copy.deepcopy(GOOD_CONFIG[kind]) or {}
    config["surprise"] = 1
    assert any("surprise" in m for m in errors(minimal(kind, config)))
    required = [f.name for f in KINDS[kind].fields if f.required]
    if required:
        assert any("config" in m for m in errors(minimal(kind, None)))
        assert any(required[0] in m for m in errors(minimal(kind, {})))


@pytest.mark.parametrize("kind,config", [
    ("delay", {"seconds": "soon"}),
    ("delay", {"seconds": " {{ x }}"}),
    ("delay", {"seconds": "{{ a }} and {{ b }}"}),
    ("http", {"url": "http://h", "method": "FETCH"}),
    ("shell", {"command": []}),
    ("shell", {"command": [1, 2]}),
    ("subflow", {"flow": "f", "max_depth": 1.5}),
    ("end", {"terminate": "yes"}),
    ("set", {"vars": ["a"]}),
    ("python", {"code": 5}),
])
def test_wrong_config_values_are_refused(kind: str, config: dict[str, Any]) -> None:
    assert errors(minimal(kind, config))


@pytest.mark.parametrize("mut,node,field,words", [b[1:] for b in FLOWFILE.BAD
                                                   if b[0] != "duplicate id"],
                         ids=[b[0] for b in FLOWFILE.BAD if b[0] != "duplicate id"])
def test_what_the_loader_refuses_the_schema_refuses(mut: Any, node: Any, field: Any,
                                                    words: str) -> None:
    """The same broken documents as the loader's tests (a duplicate id is beyond a schema)."""
    assert errors(FLOWFILE.mutate(mut))


def test_what_the_loader_accepts_the_schema_accepts() -> None:
    d = FLOWFILE.base()
    d.update(description="x", concurrency=2, inputs={"n": {"type": "number", "default": 2}})
    d["nodes"][1].update(name="W", retry={"max_attempts": 2, "backoff_s": 0, "backoff_factor": 1},
                         timeout_s=0.5, join={"min": 1}, cancel_others=False, cancels=["end"],
                         x=1.5, y=-3)
    d["edges"][0].update(when="true", label="l", on="success")
    d["edges"].append({"from": "work", "to": "end", "on": "error", "default": False})
    assert errors(d) == []
    assert errors(FLOWFILE.base()) == []
