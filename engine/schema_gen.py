"""The published JSON Schema (draft 2020-12) of the ``flowdesk/1`` format.

The schema is generated from :mod:`engine.model` (which fields exist) and
:data:`engine.kinds.KINDS` (which config each kind takes), so editors and other
tools can check a flow file without Flowdesk. ``docs/flow-schema.json`` is this
module's output; a test keeps the committed file up to date. Regenerate it with::

    python -m engine.schema_gen docs/flow-schema.json

The schema checks the document's shape, as the loader does, plus each kind's
required config keys. Graph rules (one start, no cycles, …) and expression
syntax are :mod:`engine.validate`'s job and cannot be said in JSON Schema.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from engine.kinds import KINDS, ConfigField
from engine.model import EDGE_FIELDS, FLOW_FIELDS, FORMAT, ID_PATTERN, INPUT_TYPES, NODE_FIELDS

SCHEMA_ID = "https://flowdesk.example/schemas/flowdesk-1.json"
_LONE_TEMPLATE = {"$ref": "#/$defs/lone_template"}


def _field_schema(f: ConfigField) -> dict[str, Any]:
    """The schema of one config field, from its type in the kinds registry."""
    t = f.type
    if t in ("string", "code"):
        out: dict[str, Any] = {"type": "string"}
    elif t == "template":
        out = {}
    elif t in ("number", "integer", "boolean"):
        out = {"anyOf": [{"type": t}, _LONE_TEMPLATE]}
    elif t == "args":
        out = {"anyOf": [{"type": "array", "items": {"type": "string"}, "minItems": 1},
                         {"type": "string"}]}
    elif t == "map":
        out = {"type": "object"}
    elif t == "list":
        out = {"type": "array"}
    elif t == "choice":
        out = {"anyOf": [{"enum": list(f.choices)}, _LONE_TEMPLATE]}
    else:  # a new field type must be taught to the generator
        raise ValueError(f"schema_gen does not know the field type '{t}'")
    out["description"] = f.description
    if f.default is not None:
        out["default"] = f.default
    return out


def _config_schema(kind: str) -> dict[str, Any]:
    spec = KINDS[kind]
    out: dict[str, Any] = {
        "type": "object",
        "description": f"Config of a {kind} node: {spec.description}",
        "properties": {f.name: _field_schema(f) for f in spec.fields},
        "additionalProperties": False,
    }
    required = [f.name for f in spec.fields if f.required]
    if required:
        out["required"] = required
    return out


def _node_schema() -> dict[str, Any]:
    props: dict[str, Any] = {
        "id": {"$ref": "#/$defs/id", "description": "Unique within the flow"},
        "kind": {"enum": list(KINDS), "description": "What the node does"},
        "name": {"type": "string", "description": "Label shown on the canvas"},
        "config": {"type": "object", "description": "Kind-specific settings"},
        "retry": {
            "type": "object",
            "properties": {
                "max_attempts": {"type": "integer", "minimum": 1, "default": 1},
                "backoff_s": {"type": "number", "minimum": 0, "default": 0},
                "backoff_factor": {"type": "number", "minimum": 0, "default": 1},
            },
            "additionalProperties": False,
            "description": "Wait before attempt k+1: backoff_s * backoff_factor^(k-1)",
        },
        "timeout_s": {"type": "number", "exclusiveMinimum": 0,
                      "description": "Per attempt; a timeout is a failed attempt"},
        "join": {
            "description": "When the node runs: all taken edges decided (all), the first "
                           "(any), or N of them ({\"min\": N})",
            "default": "all",
            "oneOf": [
                {"enum": ["all", "any"]},
                {"type": "object", "properties": {"min": {"type": "integer", "minimum": 1}},
                 "required": ["min"], "additionalProperties": False},
            ],
        },
        "cancel_others": {"type": "boolean",
                          "description": "With join any or min: cancel the nodes this join "
                                         "post-dominates when it fires"},
        "cancels": {"type": "array", "items": {"$ref": "#/$defs/id"},
                    "description": "Nodes to cancel when this node succeeds"},
        "x": {"type": "number", "description": "Canvas position (ignored by the engine)"},
        "y": {"type": "number", "description": "Canvas position (ignored by the engine)"},
    }
    _same_fields("node", props, NODE_FIELDS)
    per_kind = []
    for kind, spec in KINDS.items():
        then: dict[str, Any] = {"properties": {"config": {"$ref": f"#/$defs/config_{kind}"}}}
        if any(f.required for f in spec.fields):
            then["required"] = ["config"]
        per_kind.append({"if": {"properties": {"kind": {"const": kind}}, "required": ["kind"]},
                         "then": then})
    return {"type": "object", "properties": props, "required": ["id", "kind"],
            "additionalProperties": False, "allOf": per_kind}


def _edge_schema() -> dict[str, Any]:
    props: dict[str, Any] = {
        "from": {"$ref": "#/$defs/id", "description": "Source node id"},
        "to": {"$ref": "#/$defs/id", "description": "Target node id"},
        "when": {"type": "string", "minLength": 1,
                 "description": "An expression; the edge is taken iff it is true"},
        "default": {"type": "boolean",
                    "description": "Taken iff no 'when' edge of the source was taken"},
        "on": {"enum": ["success", "error"], "default": "success",
               "description": "error: taken when the source fails"},
        "label": {"type": "string", "description": "Text shown on the canvas"},
    }
    _same_fields("edge", props, EDGE_FIELDS)
    return {"type": "object", "properties": props, "required": ["from", "to"],
            "additionalProperties": False}


def _same_fields(what: str, props: dict[str, Any], fields: tuple[str, ...]) -> None:
    if tuple(props) != fields:
        raise ValueError(f"schema_gen's {what} fields {tuple(props)} differ from the model's "
                         f"{fields}")


def flow_schema() -> dict[str, Any]:
    """The whole schema as a JSON-ready dict."""
    input_decl = {
        "type": "object",
        "properties": {
            "type": {"enum": list(INPUT_TYPES)},
            "default": {"description": "Makes the input optional; must be of its type"},
            "description": {"type": "string"},
        },
        "required": ["type"],
        "additionalProperties": False,
        # A default must be of the declared type (the input types are JSON Schema's own).
        "allOf": [{"if": {"properties": {"type": {"const": t}}},
                   "then": {"properties": {"default": {"type": t}}}} for t in INPUT_TYPES],
    }
    props: dict[str, Any] = {
        "format": {"const": FORMAT},
        "name": {"type": "string", "pattern": r"\S"},
        "description": {"type": "string"},
        "inputs": {"type": "object",
                   "propertyNames": {"$ref": "#/$defs/id"},
                   "additionalProperties": {"$ref": "#/$defs/input"},
                   "description": "Run parameters; one without a default is required"},
        "concurrency": {"type": "integer", "minimum": 1, "default": 8,
                        "description": "The most nodes of one run doing work at once"},
        "nodes": {"type": "array", "items": {"$ref": "#/$defs/node"}},
        "edges": {"type": "array", "items": {"$ref": "#/$defs/edge"}},
    }
    _same_fields("flow", props, FLOW_FIELDS)
    defs: dict[str, Any] = {
        "id": {"type": "string", "pattern": ID_PATTERN},
        "lone_template": {"type": "string", "pattern": r"^\{\{(?:(?!\{\{|\}\})[\s\S])*\}\}$",
                          "description": "Exactly one {{ expr }}: its native value"},
        "input": input_decl,
        "node": _node_schema(),
        "edge": _edge_schema(),
    }
    for kind in KINDS:
        defs[f"config_{kind}"] = _config_schema(kind)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "Flowdesk flow (flowdesk/1)",
        "description": "A *.flow.json file. Generated by engine/schema_gen.py; do not edit.",
        "type": "object",
        "properties": props,
        "required": ["format", "name", "nodes"],
        "additionalProperties": False,
        "$defs": defs,
    }


def schema_text() -> str:
    return json.dumps(flow_schema(), indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if not args:
        sys.stdout.write(schema_text())
        return 0
    Path(args[0]).write_text(schema_text(), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
