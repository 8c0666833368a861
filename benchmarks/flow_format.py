"""Figures for the flow format: load, validate (first and repeated), dumps.

The designer validates after every edit (debounced), so "validate again" — the same
flow with its parse caches warm — is the figure that matters for editing feel.

    .venv/bin/python benchmarks/flow_format.py
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from engine.flowfile import dumps, loads  # noqa: E402
from engine.validate import validate  # noqa: E402


def chain(n: int) -> dict[str, Any]:
    """start -> n set nodes, each with its own template -> end."""
    nodes = [{"id": "start", "kind": "start"}]
    nodes += [{"id": f"n{i}", "kind": "set",
               "config": {"vars": {"v": f"{{{{ inputs.x }}}}-{{{{ vars.v }}}}-{i}"}}}
              for i in range(n)]
    nodes.append({"id": "end", "kind": "end"})
    ids = [x["id"] for x in nodes]
    return {"format": "flowdesk/1", "name": "chain",
            "inputs": {"x": {"type": "string", "default": "a"}}, "nodes": nodes,
            "edges": [{"from": a, "to": b} for a, b in zip(ids, ids[1:], strict=False)]}


def fan(n: int) -> dict[str, Any]:
    """start -> n parallel shell nodes -> one join -> end."""
    nodes = [{"id": "start", "kind": "start"}]
    nodes += [{"id": f"w{i}", "kind": "shell", "config": {"command": ["echo", str(i)]}}
              for i in range(n)]
    nodes += [{"id": "join", "kind": "set", "join": "all", "config": {"vars": {"ok": True}}},
              {"id": "end", "kind": "end"}]
    edges = [{"from": "start", "to": f"w{i}"} for i in range(n)]
    edges += [{"from": f"w{i}", "to": "join"} for i in range(n)]
    edges.append({"from": "join", "to": "end"})
    return {"format": "flowdesk/1", "name": "fan", "nodes": nodes, "edges": edges}


def ms(fn: Any) -> tuple[float, Any]:
    t = time.perf_counter()
    result = fn()
    return (time.perf_counter() - t) * 1000, result


def main() -> None:
    print(f"{'flow':<12}{'nodes':>7}{'load ms':>10}{'validate ms':>13}{'again ms':>10}"
          f"{'dumps ms':>10}")
    for shape in (chain, fan):
        for n in (100, 1000, 3000):
            text = json.dumps(shape(n))
            t_load, flow = ms(lambda text=text: loads(text))
            t_val, problems = ms(lambda flow=flow: validate(flow))
            t_again, _ = ms(lambda flow=flow: validate(flow))
            t_dump, _ = ms(lambda flow=flow: dumps(flow))
            assert not problems, problems[:3]
            print(f"{shape.__name__:<12}{len(flow.nodes):>7}{t_load:>10.1f}{t_val:>13.1f}"
                  f"{t_again:>10.1f}{t_dump:>10.1f}")


if __name__ == "__main__":
    main()
