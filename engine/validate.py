"""Validation of a flow: every problem, each tied to its node or edge.

Errors block a run; warnings do not. The graph analysis uses networkx graphs
built from the model for the occasion (the model itself stays plain Python).
The designer calls :func:`validate` on every edit (debounced), the CLI's
``validate`` prints the same list, and ``run`` refuses a flow with errors.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jinja2 import TemplateSyntaxError, meta
from jinja2 import nodes as jinja_nodes

from engine.expressions import _env, check_expression, check_templates, lone_expression
from engine.flowfile import FlowFileError, _Reader
from engine.kinds import KINDS, ConfigField
from engine.model import FORMAT, NODE_FIELDS, Edge, Flow

if TYPE_CHECKING:  # networkx is imported where used: it is half of the app's start time
    import networkx as nx

__all__ = ["Problem", "build_graph", "has_errors", "validate"]


@dataclass(frozen=True)
class Problem:
    """One finding. ``node`` or ``edge`` (an index into ``flow.edges``) says where."""

    severity: str  # "error" | "warning"
    message: str
    node: str | None = None
    edge: int | None = None
    field: str | None = None

    @property
    def is_error(self) -> bool:
        return self.severity == "error"

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None}

    def format(self, source: str) -> str:
        """``FILE: node 'id': message`` (or ``FILE: message`` for flow-level problems)."""
        prefix = f"{source}: "
        if self.node is not None:
            prefix += f"node '{self.node}': "
        elif self.edge is not None:
            prefix += f"edge {self.edge}: "
        tag = "" if self.is_error else "warning: "
        return f"{prefix}{tag}{self.message}"


def has_errors(problems: list[Problem]) -> bool:
    return any(p.is_error for p in problems)


def build_graph(flow: Flow) -> nx.MultiDiGraph:
    """A networkx view of the flow: nodes by id, one edge per flow edge (``index`` attr)."""
    import networkx as nx

    graph = nx.MultiDiGraph()
    graph.add_nodes_from(n.id for n in flow.nodes)
    for i, e in enumerate(flow.edges):
        if e.source in graph and e.target in graph:
            graph.add_edge(e.source, e.target, index=i)
    return graph


def _lone_template(value: Any) -> bool:
    return isinstance(value, str) and lone_expression(value) is not None


def _field_problem(spec: ConfigField, value: Any, config: dict[str, Any]) -> str | None:
    t = spec.type
    if t == "string" and not isinstance(value, str):
        return "must be a string"
    if t in ("number", "integer", "boolean") and _lone_template(value):
        return None
    if t == "number" and (isinstance(value, bool) or not isinstance(value, (int, float))):
        return "must be a number"
    if t == "integer" and (isinstance(value, bool) or not isinstance(value, int)):
        return "must be an integer"
    if t == "boolean" and not isinstance(value, bool):
        return "must be true or false"
    if t == "code":
        if not isinstance(value, str):
            return "must be Python source text"
        try:
            compile(value, "<python node>", "exec")
        except SyntaxError as exc:
            return f"Python syntax error on line {exc.lineno}: {exc.msg}"
    if t == "args":
        if isinstance(value, str):
            if config.get("shell") is not True:
                return "a command given as one string needs \"shell\": true; give a list of "\
                       "arguments otherwise"
        elif not (isinstance(value, list) and value and all(isinstance(a, str) for a in value)):
            return "must be a non-empty list of strings (or a string with \"shell\": true)"
    if t == "map" and not isinstance(value, dict):
        return "must be an object of name -> value"
    if t == "list" and not isinstance(value, list):
        return "must be a list"
    if t == "choice" and value not in spec.choices and not _lone_template(value):
        return f"must be one of {', '.join(spec.choices)}"
    return None


def _check_config(flow: Flow, out: list[Problem]) -> None:
    for node in flow.nodes:
        spec = KINDS.get(node.kind)
        if spec is None:
            out.append(Problem("error", f"unknown kind '{node.kind}'", node=node.id,
                               field="kind"))
            continue
        config = node.cfg
        if not isinstance(config, dict):
            out.append(Problem("error", "config must be an object", node=node.id,
                               field="config"))
            continue
        for f in spec.fields:
            if f.required and f.name not in config:
                out.append(Problem("error", f"config '{f.name}' is required for a {node.kind} "
                                   "node", node=node.id, field=f"config.{f.name}"))
        for key, value in config.items():
            f = spec.field_map.get(key)
            if f is None:
                out.append(Problem("error", f"unknown config key '{key}'", node=node.id,
                                   field=f"config.{key}"))
                continue
            if msg := _field_problem(f, value, config):
                out.append(Problem("error", f"config '{key}' {msg}", node=node.id,
                                   field=f"config.{key}"))
            elif f.type != "code" and (err := check_templates(value)):
                out.append(Problem("error", err, node=node.id, field=f"config.{key}"))
        if node.kind == "http" and "json" in config and "body" in config:
            out.append(Problem("error", "give either 'json' or 'body', not both", node=node.id,
                               field="config.body"))
        status = config.get("ok_status")
        if isinstance(status, list) and not all(
                isinstance(s, int) and not isinstance(s, bool) and 100 <= s <= 599
                for s in status):
            out.append(Problem("error", "config 'ok_status' must list HTTP status codes",
                               node=node.id, field="config.ok_status"))


def _check_edges(flow: Flow, out: list[Problem]) -> list[Edge]:
    """Edge-local checks; returns the edges whose ends exist."""
    good: list[Edge] = []
    seen: set[tuple[str, str, str]] = set()
    for i, e in enumerate(flow.edges):
        missing = [n for n in (e.source, e.target)
                   if not isinstance(n, str) or not flow.has_node(n)]
        if missing:
            out.append(Problem("error", f"edge {e.source} -> {e.target} names a node that does "
                               f"not exist: '{missing[0]}'", edge=i))
            continue
        good.append(e)
        ident = (e.source, e.target, e.on or "success")
        if ident in seen:
            out.append(Problem("error", f"duplicate edge {e.source} -> {e.target}", edge=i))
        seen.add(ident)
        if isinstance(e.when, str) and (err := check_expression(e.when)):
            out.append(Problem("error", err, edge=i, field="when"))
        if e.when is not None and e.default:
            out.append(Problem("error", "an edge cannot have both 'when' and 'default'",
                               edge=i, field="default"))
        if e.is_error and (e.when is not None or e.default):
            out.append(Problem("error", "an error edge takes no 'when' or 'default'", edge=i))
        if flow.node(e.target).kind == "start":
            out.append(Problem("error", "no edge may lead into the start node", edge=i))
        if flow.node(e.source).kind == "end":
            out.append(Problem("error", "no edge may leave an end node", edge=i))
    return good


def _check_nodes(flow: Flow, out: list[Problem]) -> None:
    # Edges grouped once: asking the model per node made large flows quadratic.
    edges_from: dict[Any, list[Edge]] = {}
    edges_to: dict[Any, list[Edge]] = {}
    for e in flow.edges:
        if isinstance(e.source, str) and isinstance(e.target, str):
            edges_from.setdefault(e.source, []).append(e)
            edges_to.setdefault(e.target, []).append(e)
    for node in flow.nodes:
        outgoing = [e for e in edges_from.get(node.id, []) if not e.is_error]
        incoming = edges_to.get(node.id, [])
        defaults = [e for e in outgoing if e.default]
        if len(defaults) > 1:
            out.append(Problem("error", "more than one default edge", node=node.id))
        if node.kind == "branch" and not outgoing:
            out.append(Problem("error", "a branch needs at least one outgoing edge",
                               node=node.id))
        join_min = node.join.get("min") if isinstance(node.join, dict) else None
        if isinstance(join_min, int) and join_min > len(incoming):
            out.append(Problem("error", f"join needs {node.join['min']} arrivals but only "
                               f"{len(incoming)} edges lead here", node=node.id, field="join"))
        if node.cancel_others and node.join in (None, "all"):
            out.append(Problem("warning", "cancel_others has an effect only with join \"any\" "
                               "or {\"min\": N}", node=node.id, field="cancel_others"))
        for target in node.cancels if isinstance(node.cancels, list) else []:
            if isinstance(target, str) and not flow.has_node(target):
                out.append(Problem("error", f"cancels names a node that does not exist: "
                                   f"'{target}'", node=node.id, field="cancels"))
        if node.kind == "start" and node.retry:
            out.append(Problem("warning", "retry has no effect on a start node", node=node.id))


def _check_graph(flow: Flow, good: list[Edge], out: list[Problem]) -> None:
    starts = [n.id for n in flow.nodes if n.kind == "start"]
    ends = [n.id for n in flow.nodes if n.kind == "end"]
    if not starts:
        out.append(Problem("error", "the flow has no start node"))
    elif len(starts) > 1:
        for extra in starts[1:]:
            out.append(Problem("error", f"more than one start node (also '{starts[0]}')",
                               node=extra))
    if not ends:
        out.append(Problem("error", "the flow has no end node"))
    import networkx as nx

    graph = nx.DiGraph()
    graph.add_nodes_from(n.id for n in flow.nodes)
    graph.add_edges_from((e.source, e.target) for e in good)
    cyclic = False
    try:  # the DAG test is linear; find_cycle only runs to name a cycle that exists
        cycle = [] if nx.is_directed_acyclic_graph(graph) else nx.find_cycle(graph)
    except nx.NetworkXNoCycle:
        cycle = []
    if cycle:
        cyclic = True
        path = " -> ".join([u for u, _ in cycle] + [cycle[0][0]])
        out.append(Problem("error", f"the flow has a cycle: {path}", node=cycle[0][0]))
    if len(starts) == 1:
        reachable = nx.descendants(graph, starts[0]) | {starts[0]}
        for n in flow.nodes:
            if n.id not in reachable:
                out.append(Problem("error", "not reachable from the start node", node=n.id))
    if ends and not cyclic:
        reaches_end: set[str] = set(ends)
        for end in ends:
            reaches_end |= nx.ancestors(graph, end)
        for n in flow.nodes:
            if n.id not in reaches_end:
                out.append(Problem("warning", "no path from this node reaches an end node",
                                   node=n.id))


SCOPE_NAMES = ("inputs", "vars", "nodes", "run")


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    return []


@lru_cache(maxsize=4096)
def _references(text: str, template: bool) -> tuple[tuple[str, ...], tuple[Any, ...],
                                                    tuple[Any, ...]] | None:
    """Free names, ``nodes.X`` keys and ``inputs.X`` keys of one expression or template.

    Cached by text: the designer validates after every edit, and parsing dominates.
    """
    try:
        ast = _env.parse(text if template else "{{ " + text + " }}")
    except TemplateSyntaxError:
        return None  # reported as a syntax error elsewhere
    free = tuple(sorted(meta.find_undeclared_variables(ast)))
    keys: dict[str, list[Any]] = {"nodes": [], "inputs": []}
    for node in ast.find_all((jinja_nodes.Getattr, jinja_nodes.Getitem)):
        if not isinstance(node.node, jinja_nodes.Name) or node.node.name not in keys:
            continue
        if isinstance(node, jinja_nodes.Getattr):
            keys[node.node.name].append(node.attr)
        elif isinstance(node.arg, jinja_nodes.Const):
            keys[node.node.name].append(node.arg.value)
    return free, tuple(keys["nodes"]), tuple(keys["inputs"])


def _name_warnings(flow: Flow, text: str, template: bool) -> list[str]:
    """Names that will be undefined when the expression runs: a typo, a node that does not
    exist, an input that is not declared. Warnings, since only a run can be sure."""
    if template and "{" not in text:
        return []
    refs = _references(text, template)
    if refs is None:
        return []
    free, node_keys, input_keys = refs
    found: list[str] = []
    for name in free:
        if name not in SCOPE_NAMES and name not in _env.globals:
            found.append(f"'{name}' is not a name in scope (use inputs, vars, nodes, run or "
                         f"the functions {', '.join(_env.globals)})")
    for key in node_keys:
        if not (isinstance(key, str) and flow.has_node(key)):
            found.append(f"there is no node '{key}'")
    declared = flow.inputs if isinstance(flow.inputs, dict) else {}
    for key in input_keys:
        if not (isinstance(key, str) and key in declared):
            found.append(f"the flow declares no input '{key}'")
    return list(dict.fromkeys(found))


def _check_names(flow: Flow, out: list[Problem]) -> None:
    for i, e in enumerate(flow.edges):
        if isinstance(e.when, str):
            for msg in _name_warnings(flow, e.when, template=False):
                out.append(Problem("warning", f"{msg} in {e.when!r}", edge=i, field="when"))
    for node in flow.nodes:
        spec = KINDS.get(node.kind)
        if spec is None or not isinstance(node.config, dict):
            continue
        for key, value in node.config.items():
            f = spec.field_map.get(key)
            if f is None or f.type == "code":
                continue
            for text in _strings(value):
                for msg in _name_warnings(flow, text, template=True):
                    out.append(Problem("warning", f"{msg} in {text!r}", node=node.id,
                                       field=f"config.{key}"))


def _check_structure(flow: Flow, out: list[Problem]) -> None:
    """The loader's shape checks, for a model edited in memory (designer, API).

    A file that loaded has passed them already; a model changed through the mutators
    may not (a join of {"min": 0}, an empty name…), and would then save a file that
    cannot be loaded again. Config and kinds are checked in :func:`_check_config`.
    """
    reader = _Reader(None)

    def message(exc: FlowFileError) -> str:  # a Problem's line shows no field: say it
        return f"{exc.field}: {exc.detail}" if exc.field else exc.detail
    top = {"format": FORMAT, "name": flow.name, "description": flow.description,
           "inputs": flow.inputs, "concurrency": flow.concurrency, "nodes": []}
    try:
        reader.flow({k: v for k, v in top.items() if v is not None or k == "name"})
    except FlowFileError as exc:
        out.append(Problem("error", message(exc), field=exc.field))
    for i, node in enumerate(flow.nodes):
        data = {k: getattr(node, k) for k in NODE_FIELDS if getattr(node, k) is not None}
        data.pop("config", None)
        if data.get("kind") not in KINDS:
            data["kind"] = "start"  # an unknown kind is reported with the config checks
        try:
            reader.node(data, i)
        except FlowFileError as exc:
            out.append(Problem("error", message(exc), node=node.id, field=exc.field))
    for i, edge in enumerate(flow.edges):
        try:
            reader.edge(edge.to_dict(), i)
        except FlowFileError as exc:
            out.append(Problem("error", message(exc), edge=i, field=exc.field))


def _check_subflow_files(flow: Flow, base_dir: Path, out: list[Problem]) -> None:
    """A subflow ``flow`` that looks like a path must exist next to the file (else it can
    only be a deployed flow's name, which a server may still know: hence a warning)."""
    for node in flow.nodes:
        target = node.config.get("flow") if isinstance(node.config, dict) else None
        if node.kind != "subflow" or not isinstance(target, str) or "{" in target:
            continue
        if (target.endswith(".json") or "/" in target) and not (base_dir / target).is_file():
            out.append(Problem("warning", f"the subflow file '{target}' does not exist next to "
                               "this flow", node=node.id, field="config.flow"))


def validate(flow: Flow, *, base_dir: str | os.PathLike[str] | None = None) -> list[Problem]:
    """Every error and warning of ``flow``, flow-level first, then by node and edge.

    ``base_dir`` is the folder of the flow's file, when it has one: subflow paths are
    then checked to exist.
    """
    out: list[Problem] = []
    _check_structure(flow, out)
    good = _check_edges(flow, out)
    _check_graph(flow, good, out)
    _check_nodes(flow, out)
    _check_config(flow, out)
    _check_names(flow, out)
    if base_dir is not None:
        _check_subflow_files(flow, Path(base_dir), out)
    return out


def problems_json(problems: list[Problem]) -> str:
    return json.dumps([p.to_dict() for p in problems], indent=2)
