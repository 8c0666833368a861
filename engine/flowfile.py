"""Reading and writing ``*.flow.json`` files (format ``flowdesk/1``), strictly.

Unknown keys, wrong types and unknown formats are errors that name the file,
the node and the field. What this module accepts is a well-formed document;
whether it makes a runnable flow (one start, no cycles, expressions that
parse…) is :mod:`engine.validate`'s job.

A file written by :func:`dumps` and loaded again is written back byte for byte.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

from engine.kinds import KINDS
from engine.model import (
    EDGE_FIELDS,
    FLOW_FIELDS,
    FORMAT,
    ID_RE,
    INPUT_TYPES,
    NODE_FIELDS,
    Edge,
    Flow,
    Node,
)

__all__ = ["ID_RE", "FlowFileError", "dumps", "flow_from_dict", "input_value_ok", "load_flow",
           "loads", "save_flow"]


class FlowFileError(ValueError):
    """A flow document that cannot be read; the message names file, node and field."""

    def __init__(self, message: str, *, source: str | None = None, node: str | None = None,
                 field: str | None = None) -> None:
        self.source, self.node, self.field, self.detail = source, node, field, message
        where = []
        if source:
            where.append(source)
        if node:
            where.append(f"node '{node}'")
        if field:
            where.append(f"field '{field}'")
        super().__init__(f"{': '.join(where)}: {message}" if where else message)


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v: Any) -> bool:
    return (isinstance(v, (int, float)) and not isinstance(v, bool)
            and not (isinstance(v, float) and not math.isfinite(v)))


def _type_name(v: Any) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "a boolean"
    if isinstance(v, (int, float)):
        return "a number"
    if isinstance(v, str):
        return "a string"
    if isinstance(v, list):
        return "a list"
    if isinstance(v, dict):
        return "an object"
    return type(v).__name__


class _Reader:
    def __init__(self, source: str | None) -> None:
        self.source = source

    def fail(self, message: str, node: str | None = None, field: str | None = None) -> None:
        raise FlowFileError(message, source=self.source, node=node, field=field)

    def expect(self, ok: bool, value: Any, wanted: str, node: str | None, field: str) -> None:
        if not ok:
            self.fail(f"must be {wanted}, not {_type_name(value)}", node, field)

    def unknown(self, data: dict[str, Any], allowed: tuple[str, ...], node: str | None,
                what: str) -> None:
        for key in data:
            if key not in allowed:
                self.fail(f"unknown {what} '{key}' (allowed: {', '.join(allowed)})", node,
                          None)

    def flow(self, data: Any) -> Flow:
        if not isinstance(data, dict):
            self.fail(f"a flow file must hold a JSON object, not {_type_name(data)}")
        fmt = data.get("format")
        if fmt is None:
            self.fail(f"missing 'format' (expected \"{FORMAT}\")")
        if fmt != FORMAT:
            self.fail(f"unsupported format {json.dumps(fmt)} (this version reads \"{FORMAT}\")")
        self.unknown(data, FLOW_FIELDS, None, "top-level key")
        name = data.get("name")
        if name is None:
            self.fail("missing 'name'")
        self.expect(isinstance(name, str) and bool(name.strip()), name, "a non-empty string",
                    None, "name")
        desc = data.get("description")
        if desc is not None:
            self.expect(isinstance(desc, str), desc, "a string", None, "description")
        inputs = data.get("inputs")
        if inputs is not None:
            self.inputs(inputs)
        conc = data.get("concurrency")
        if conc is not None:
            self.expect(_is_int(conc) and conc >= 1, conc, "an integer of at least 1", None,
                        "concurrency")
        flow = Flow(name, description=desc, inputs=inputs, concurrency=conc)
        nodes = data.get("nodes", None)
        if nodes is None:
            self.fail("missing 'nodes'")
        self.expect(isinstance(nodes, list), nodes, "a list", None, "nodes")
        for i, raw in enumerate(nodes):
            node = self.node(raw, i)
            if flow.has_node(node.id):
                self.fail("duplicate node id", node.id, "id")
            flow.nodes.append(node)
            flow._by_id[node.id] = node
        edges = data.get("edges", [])
        self.expect(isinstance(edges, list), edges, "a list", None, "edges")
        for i, raw in enumerate(edges):
            flow.edges.append(self.edge(raw, i))
        return flow

    def inputs(self, inputs: Any) -> None:
        self.expect(isinstance(inputs, dict), inputs, "an object", None, "inputs")
        for name, decl in inputs.items():
            field = f"inputs.{name}"
            if not ID_RE.match(name):
                self.fail("an input name must be a letter or _ followed by letters, digits, "
                          "_ or -", None, field)
            self.expect(isinstance(decl, dict), decl, "an object", None, field)
            for key in decl:
                if key not in ("type", "default", "description"):
                    self.fail(f"unknown key '{key}' (allowed: type, default, description)",
                              None, field)
            typ = decl.get("type")
            if typ not in INPUT_TYPES:
                self.fail(f"type must be one of {', '.join(INPUT_TYPES)}, not "
                          f"{json.dumps(typ)}", None, field)
            if "default" in decl and not input_value_ok(typ, decl["default"]):
                self.fail(f"default must be of type {typ}", None, field)

    def node(self, raw: Any, i: int) -> Node:
        if not isinstance(raw, dict):
            self.fail(f"nodes[{i}] must be an object, not {_type_name(raw)}")
        nid = raw.get("id")
        if not isinstance(nid, str) or not ID_RE.match(nid):
            self.fail(f"nodes[{i}] needs an 'id' made of a letter or _ followed by letters, "
                      f"digits, _ or - (found {json.dumps(nid)})", None, "id")
        self.unknown(raw, NODE_FIELDS, nid, "node field")
        kind = raw.get("kind")
        if kind is None:
            self.fail("missing 'kind'", nid, "kind")
        if not isinstance(kind, str) or kind not in KINDS:  # a list would not even hash
            self.fail(f"unknown kind {json.dumps(kind)} (known: {', '.join(KINDS)})", nid,
                      "kind")
        name = raw.get("name")
        if name is not None:
            self.expect(isinstance(name, str), name, "a string", nid, "name")
        config = raw.get("config")
        if config is not None:
            self.expect(isinstance(config, dict), config, "an object", nid, "config")
            allowed = KINDS[kind].field_map
            for key in config:
                if key not in allowed:
                    known = ", ".join(allowed) or "none"
                    self.fail(f"unknown config key '{key}' for kind '{kind}' "
                              f"(allowed: {known})", nid, f"config.{key}")
        retry = raw.get("retry")
        if retry is not None:
            self.retry(retry, nid)
        timeout = raw.get("timeout_s")
        if timeout is not None:
            self.expect(_is_number(timeout) and timeout > 0, timeout, "a positive number", nid,
                        "timeout_s")
        join = raw.get("join")
        if join is not None:
            ok = join in ("all", "any") or (
                isinstance(join, dict) and set(join) == {"min"} and _is_int(join["min"])
                and join["min"] >= 1)
            if not ok:
                self.fail(f'must be "all", "any" or {{"min": N}} with N >= 1, not '
                          f"{json.dumps(join)}", nid, "join")
        co = raw.get("cancel_others")
        if co is not None:
            self.expect(isinstance(co, bool), co, "a boolean", nid, "cancel_others")
        cancels = raw.get("cancels")
        if cancels is not None:
            self.expect(isinstance(cancels, list) and all(isinstance(c, str) for c in cancels),
                        cancels, "a list of node ids", nid, "cancels")
        for axis in ("x", "y"):
            v = raw.get(axis)
            if v is not None:
                self.expect(_is_number(v), v, "a number", nid, axis)
        return Node(id=nid, kind=kind, name=name, config=config, retry=retry,
                    timeout_s=timeout, join=join, cancel_others=co, cancels=cancels,
                    x=raw.get("x"), y=raw.get("y"))

    def retry(self, retry: Any, nid: str) -> None:
        self.expect(isinstance(retry, dict), retry, "an object", nid, "retry")
        for key, value in retry.items():
            if key == "max_attempts":
                self.expect(_is_int(value) and value >= 1, value, "an integer of at least 1",
                            nid, "retry.max_attempts")
            elif key in ("backoff_s", "backoff_factor"):
                self.expect(_is_number(value) and value >= 0, value, "a number >= 0", nid,
                            f"retry.{key}")
            else:
                self.fail(f"unknown key '{key}' (allowed: max_attempts, backoff_s, "
                          "backoff_factor)", nid, "retry")

    def edge(self, raw: Any, i: int) -> Edge:
        where = f"edges[{i}]"
        if not isinstance(raw, dict):
            self.fail(f"{where} must be an object, not {_type_name(raw)}")
        ends = raw.get("from"), raw.get("to")
        if all(isinstance(e, str) for e in ends):
            where += f" ({ends[0]} -> {ends[1]})"  # say which edge, not only its index
        for key in raw:
            if key not in EDGE_FIELDS:
                self.fail(f"{where}: unknown edge field '{key}' (allowed: "
                          f"{', '.join(EDGE_FIELDS)})")
        for key in ("from", "to"):
            if not isinstance(raw.get(key), str):
                self.fail(f"{where}: '{key}' must be a node id, not "
                          f"{_type_name(raw.get(key))}", None, None)
        when = raw.get("when")
        if when is not None and not isinstance(when, str):
            self.fail(f"{where}: 'when' must be an expression string, not {_type_name(when)}")
        default = raw.get("default")
        if default is not None and not isinstance(default, bool):
            self.fail(f"{where}: 'default' must be a boolean, not {_type_name(default)}")
        on = raw.get("on")
        if on is not None and on not in ("success", "error"):
            self.fail(f"{where}: 'on' must be \"success\" or \"error\", not {json.dumps(on)}")
        label = raw.get("label")
        if label is not None and not isinstance(label, str):
            self.fail(f"{where}: 'label' must be a string, not {_type_name(label)}")
        return Edge(raw["from"], raw["to"], when=when, default=default, on=on, label=label)


def input_value_ok(typ: str, value: Any) -> bool:
    """Whether ``value`` (already JSON-typed) is of the declared input type."""
    return {
        "string": lambda v: isinstance(v, str),
        "integer": _is_int,
        "number": _is_number,
        "boolean": lambda v: isinstance(v, bool),
        "object": lambda v: isinstance(v, dict),
        "array": lambda v: isinstance(v, list),
    }[typ](value)


def flow_from_dict(data: Any, source: str | None = None) -> Flow:
    """Build a :class:`Flow` from parsed JSON, or raise :class:`FlowFileError`."""
    return _Reader(source).flow(data)


class _Refused(Exception):
    """Raised inside the JSON parser for what plain json.loads would let through."""

    def __init__(self, message: str, node: str | None = None, field: str | None = None):
        super().__init__(message)
        self.message, self.node, self.field = message, node, field


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A key given twice would silently lose one value: refuse it, naming the node if any."""
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            ids = [v for k, v in pairs if k == "id" and isinstance(v, str)]
            raise _Refused(f"the key '{key}' appears twice in one object",
                           ids[0] if ids and "kind" in out else None, key)
        out[key] = value
    return out


def _no_constant(name: str) -> Any:
    raise _Refused(f"{name} is not valid JSON (use a number or a string)")


def loads(text: str, source: str | None = None) -> Flow:
    try:
        data = json.loads(text, object_pairs_hook=_unique_keys, parse_constant=_no_constant)
    except json.JSONDecodeError as exc:
        raise FlowFileError(f"not valid JSON: {exc.msg} at line {exc.lineno} column "
                            f"{exc.colno}", source=source) from None
    except _Refused as exc:
        raise FlowFileError(exc.message, source=source, node=exc.node,
                            field=exc.field) from None
    except RecursionError:
        raise FlowFileError("not valid JSON: nested too deeply", source=source) from None
    return flow_from_dict(data, source)


def load_flow(path: str | os.PathLike[str]) -> Flow:
    """Read a flow file; any problem is a :class:`FlowFileError` naming the file."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise FlowFileError("no such file", source=str(path)) from None
    except UnicodeDecodeError as exc:
        raise FlowFileError(f"cannot read the file: it is not UTF-8 text (byte {exc.start})",
                            source=str(path)) from None
    except OSError as exc:
        raise FlowFileError(f"cannot read the file: {exc.strerror or exc}",
                            source=str(path)) from None
    return loads(text, str(path))


def dumps(flow: Flow | dict[str, Any]) -> str:
    """The file text: two-space indented JSON, fields in format order, newline at the end."""
    data = flow.to_dict() if isinstance(flow, Flow) else flow
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def save_flow(flow: Flow, path: str | os.PathLike[str]) -> None:
    """Write atomically: a crash while saving leaves the old file intact.

    The text goes to a temporary file in the same folder, is flushed to disk, and then
    replaces the file in one rename. A failure (disk full, no permission) raises
    :class:`OSError` and leaves neither a half-written file nor the temporary one.
    """
    p = Path(path)
    tmp = p.with_name(f".{p.name}.tmp")
    data = dumps(flow).encode("utf-8")
    try:
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, p)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
