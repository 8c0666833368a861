"""Properties over many generated documents: the loader and the published schema agree, a
loaded file writes back byte for byte, and no text makes the expression layer crash."""

from __future__ import annotations

import json
import os
from typing import Any

import jsonschema
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.expressions import ExpressionError, check_expression, check_templates, evaluate
from engine.flowfile import FlowFileError, dumps, flow_from_dict, loads
from engine.schema_gen import flow_schema

VALIDATOR = jsonschema.Draft202012Validator(flow_schema())
SETTINGS = settings(max_examples=int(os.environ.get("FLOWDESK_HYPOTHESIS_EXAMPLES", "60")), deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])

ids = st.from_regex(r"\A[A-Za-z_][A-Za-z0-9_-]{0,8}\Z")
numbers = st.one_of(st.integers(-10_000, 10_000),
                    st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False))
json_leaf = st.one_of(st.none(), st.booleans(), numbers, st.text(max_size=12))
json_any = st.recursive(json_leaf, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=5), inner, max_size=3)),
    max_leaves=8)
CONFIGS = {
    "start": st.none(), "branch": st.none(),
    "end": st.fixed_dictionaries({}, optional={"outputs": st.dictionaries(ids, json_leaf),
                                               "terminate": st.booleans()}),
    "set": st.fixed_dictionaries({"vars": st.dictionaries(ids, json_any, max_size=3)}),
    "shell": st.fixed_dictionaries({"command": st.lists(st.text(max_size=8), min_size=1,
                                                        max_size=3)},
                                   optional={"cwd": st.text(max_size=8)}),
    "python": st.fixed_dictionaries({"code": st.text(max_size=20)}),
    "http": st.fixed_dictionaries({"url": st.text(max_size=20)},
                                  optional={"method": st.sampled_from(["GET", "POST"]),
                                            "json": json_any}),
    "delay": st.fixed_dictionaries({"seconds": numbers}),
    "approval": st.fixed_dictionaries({"prompt": st.text(max_size=10)},
                                      optional={"role": st.text(max_size=5)}),
    "subflow": st.fixed_dictionaries({"flow": st.text(min_size=1, max_size=10)},
                                     optional={"max_depth": st.integers(1, 50)}),
}


@st.composite
def node(draw: Any, node_id: str) -> dict[str, Any]:
    kind = draw(st.sampled_from(sorted(CONFIGS)))
    out: dict[str, Any] = {"id": node_id, "kind": kind}
    config = draw(CONFIGS[kind])
    if config is not None:
        out["config"] = config
    extras = draw(st.fixed_dictionaries({}, optional={
        "name": st.text(max_size=10),
        "retry": st.fixed_dictionaries({}, optional={
            "max_attempts": st.integers(1, 5), "backoff_s": st.floats(0, 10),
            "backoff_factor": st.integers(0, 3)}),
        "timeout_s": st.floats(0.001, 1e4),
        "join": st.one_of(st.sampled_from(["all", "any"]),
                          st.builds(lambda n: {"min": n}, st.integers(1, 4))),
        "cancel_others": st.booleans(),
        "cancels": st.lists(ids, max_size=2),
        "x": numbers, "y": numbers,
    }))
    out.update(extras)
    return out


@st.composite
def document(draw: Any) -> dict[str, Any]:
    node_ids = draw(st.lists(ids, min_size=1, max_size=6, unique=True))
    doc: dict[str, Any] = {"format": "flowdesk/1", "name": draw(st.text(min_size=1,
                                                                       max_size=10)
                                                               .filter(str.strip))}
    doc.update(draw(st.fixed_dictionaries({}, optional={
        "description": st.text(max_size=20),
        "inputs": st.dictionaries(ids, st.sampled_from([
            {"type": "string", "default": "x"}, {"type": "integer"},
            {"type": "number", "default": 1.5}, {"type": "array", "default": []}]),
            max_size=2),
        "concurrency": st.integers(1, 64),
    })))
    doc["nodes"] = [draw(node(i)) for i in node_ids]
    doc["edges"] = draw(st.lists(st.fixed_dictionaries(
        {"from": st.sampled_from(node_ids), "to": st.sampled_from(node_ids)},
        optional={"when": st.text(min_size=1, max_size=10), "default": st.booleans(),
                  "on": st.sampled_from(["success", "error"]), "label": st.text(max_size=5)}),
        max_size=5))
    return doc


def _loader_accepts(doc: Any) -> bool:
    try:
        flow_from_dict(doc)
    except FlowFileError:
        return False
    return True


@SETTINGS
@given(document())
def test_generated_documents_load_validate_against_the_schema_and_round_trip(
        doc: dict[str, Any]) -> None:
    assert list(VALIDATOR.iter_errors(doc)) == []
    text = dumps(flow_from_dict(doc))
    assert dumps(loads(text)) == text
    assert json.loads(text) == flow_from_dict(doc).to_dict()


def _break(doc: dict[str, Any], where: int, key: str, value: Any) -> dict[str, Any]:
    broken = json.loads(json.dumps(doc))
    target = broken["nodes"][where % len(broken["nodes"])]
    if key == "config":
        target.setdefault("config", {})["not_a_key"] = value
    else:
        target[key] = value
    return broken


@SETTINGS
@given(document(), st.integers(0, 10),
       st.sampled_from(["kind", "timeout_s", "join", "cancel_others", "x", "config", "bogus"]),
       st.one_of(st.just("nonsense"), st.just(-1), st.just([1]), st.just({"min": 0})))
def test_a_broken_node_is_refused_by_both_loader_and_schema(
        doc: dict[str, Any], where: int, key: str, value: Any) -> None:
    broken = _break(doc, where, key, value)
    schema_ok = not list(VALIDATOR.iter_errors(broken))
    assert schema_ok == _loader_accepts(broken)
    if key in ("kind", "config", "bogus"):
        assert not schema_ok


@SETTINGS
@given(st.text(max_size=40))
def test_no_text_crashes_the_expression_layer(text: str) -> None:
    check_expression(text)
    check_templates({"k": [text]})
    try:
        evaluate(text, {"inputs": {"n": 1}, "vars": {}, "nodes": {}, "run": {"id": "r"}})
    except ExpressionError as exc:
        assert str(exc).strip() and "Traceback" not in str(exc)
