"""The registry of node kinds: what each kind is called, looks like and accepts.

This module describes kinds; it does not run them. The loader checks config
keys against it, the validator checks config values, the designer builds its
palette and property forms from it, and ``docs/flow-schema.json`` is generated
from it. The code that executes a kind lives in ``engine/kinds/<kind>.py``
(see :func:`implementation`).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any

# Field types understood by the validator and the designer's property editor.
#   string   a plain string (templates allowed)
#   template any JSON value; strings inside it are templates
#   number   a number, or a string that is one {{ expr }}
#   integer  likewise
#   boolean  likewise
#   code     Python source, never rendered
#   args     a list of strings, or a string (see shell)
#   map      an object of name -> template
#   list     a list of values
#   choice   one string of ``choices``
FIELD_TYPES = ("string", "template", "number", "integer", "boolean", "code", "args", "map",
               "list", "choice")


@dataclass(frozen=True)
class ConfigField:
    name: str
    type: str
    description: str
    required: bool = False
    default: Any = None
    choices: tuple[str, ...] = ()


@dataclass(frozen=True)
class KindSpec:
    """Everything about a kind that does not need running it."""

    name: str
    title: str
    description: str
    color: str
    icon: str  # file name under resources/icons
    fields: tuple[ConfigField, ...] = ()
    has_input: bool = True
    has_output: bool = True
    field_map: dict[str, ConfigField] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "field_map", {f.name: f for f in self.fields})


KINDS: dict[str, KindSpec] = {
    spec.name: spec
    for spec in (
        KindSpec("start", "Start", "Where a run begins; its output is the run's inputs.",
                 "#2e7d32", "start.svg", has_input=False),
        KindSpec("end", "End", "Finishes a path and contributes named outputs to the run.",
                 "#c62828", "end.svg", has_output=False, fields=(
                     ConfigField("outputs", "map", "Run outputs: name -> template"),
                     ConfigField("terminate", "boolean",
                                 "Cancel all remaining work when reached", default=False),
                 )),
        KindSpec("set", "Set variables", "Computes values and stores them in vars.",
                 "#6a1b9a", "set.svg", fields=(
                     ConfigField("vars", "map", "Variables: name -> template", required=True),
                 )),
        KindSpec("branch", "Branch", "Takes exactly one outgoing edge: the first true "
                 "condition, else the default.", "#ef6c00", "branch.svg"),
        KindSpec("shell", "Shell command", "Runs a program; fails on a non-zero exit code.",
                 "#37474f", "shell.svg", fields=(
                     ConfigField("command", "args", "Program and arguments (a list), or a "
                                 "command line when shell is true", required=True),
                     ConfigField("shell", "boolean", "Run a string command through /bin/sh",
                                 default=False),
                     ConfigField("cwd", "string", "Working directory"),
                     ConfigField("env", "map", "Extra environment variables"),
                 )),
        KindSpec("python", "Python", "Runs Python code in a separate process; sets result.",
                 "#1565c0", "python.svg", fields=(
                     ConfigField("code", "code", "Python source; sees inputs, vars, nodes; "
                                 "sets result", required=True),
                 )),
        KindSpec("http", "HTTP request", "Sends an HTTP request; fails outside ok_status.",
                 "#00838f", "http.svg", fields=(
                     ConfigField("method", "choice", "HTTP method", default="GET",
                                 choices=("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD")),
                     ConfigField("url", "string", "URL", required=True),
                     ConfigField("headers", "map", "Request headers"),
                     ConfigField("json", "template", "JSON body"),
                     ConfigField("body", "string", "Raw text body"),
                     ConfigField("ok_status", "list", "Accepted status codes "
                                 "(default 200-399)"),
                 )),
        KindSpec("delay", "Delay", "Waits; a durable timer that survives a restart.",
                 "#5d4037", "delay.svg", fields=(
                     ConfigField("seconds", "number", "How long to wait", required=True),
                 )),
        KindSpec("approval", "Approval", "Waits until a person approves or rejects.",
                 "#ad1457", "approval.svg", fields=(
                     ConfigField("prompt", "string", "What to ask", required=True),
                     ConfigField("role", "string", "Only users of this role may decide"),
                 )),
        KindSpec("subflow", "Subflow", "Runs another flow and returns its outputs.",
                 "#283593", "subflow.svg", fields=(
                     ConfigField("flow", "string", "Path relative to this file, or a "
                                 "deployed flow's name", required=True),
                     ConfigField("inputs", "map", "Child inputs: name -> template"),
                     ConfigField("max_depth", "integer", "Deepest nesting allowed",
                                 default=20),
                 )),
    )
}


def kind_names() -> list[str]:
    return list(KINDS)


def spec(kind: str) -> KindSpec:
    return KINDS[kind]


def implementation(kind: str) -> Any:
    """The module that runs ``kind`` (``engine.kinds.<kind>``), imported on first use."""
    return importlib.import_module(f"engine.kinds.{kind}_kind")
