"""Engine speed: chains and fan-outs of no-op ``set`` nodes on the durable SQLite store.

    .venv/bin/python benchmarks/engine.py [--quick] [--store URL]

Prints, for each shape: wall time of the run (create + execute), time per node,
the ratio to a plain Python loop doing the same bookkeeping (render each node's
template, keep outputs and edge states in dicts), the growth from the small to
the large size, and peak memory. Then a short ``python`` node end to end.
"""

from __future__ import annotations

import argparse
import gc
import resource
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from engine.executor import execute_run  # noqa: E402
from engine.expressions import render  # noqa: E402
from engine.flowfile import flow_from_dict  # noqa: E402
from engine.model import Flow  # noqa: E402
from engine.runs import RunStore  # noqa: E402


def chain(n: int) -> Flow:
    nodes: list[dict[str, Any]] = [{"id": "start", "kind": "start"}]
    edges = []
    prev = "start"
    for i in range(n):
        nid = f"s{i}"
        nodes.append({"id": nid, "kind": "set", "config": {"vars": {"i": "{{ 1 }}"}}})
        edges.append({"from": prev, "to": nid})
        prev = nid
    nodes.append({"id": "end", "kind": "end"})
    edges.append({"from": prev, "to": "end"})
    return flow_from_dict({"format": "flowdesk/1", "name": f"chain-{n}", "nodes": nodes,
                           "edges": edges})


def fanout(n: int) -> Flow:
    nodes: list[dict[str, Any]] = [{"id": "start", "kind": "start"}]
    edges = []
    for i in range(n):
        nid = f"s{i}"
        nodes.append({"id": nid, "kind": "set", "config": {"vars": {"i": "{{ 1 }}"}}})
        edges.append({"from": "start", "to": nid})
        edges.append({"from": nid, "to": "join"})
    nodes.append({"id": "join", "kind": "set", "config": {"vars": {"done": "{{ true }}"}}})
    nodes.append({"id": "end", "kind": "end"})
    edges.append({"from": "join", "to": "end"})
    return flow_from_dict({"format": "flowdesk/1", "name": f"fanout-{n}", "nodes": nodes,
                           "edges": edges})


def plain_loop(flow: Flow) -> float:
    """The same bookkeeping without durability: topological walk, render, dicts."""
    t0 = time.perf_counter()
    scope: dict[str, Any] = {"inputs": {}, "vars": {}, "nodes": {}, "run": {"id": "x"}}
    incoming: dict[str, int] = {n.id: 0 for n in flow.nodes}
    for e in flow.edges:
        incoming[e.target] += 1
    out: dict[str, list[str]] = {n.id: [] for n in flow.nodes}
    for e in flow.edges:
        out[e.source].append(e.target)
    ready = [n.id for n in flow.nodes if incoming[n.id] == 0]
    edge_state = {}
    while ready:
        nid = ready.pop()
        node = flow.node(nid)
        value = render(node.cfg.get("vars", {}), scope)
        scope["vars"].update(value)
        scope["nodes"][nid] = {"output": value, "status": "succeeded"}
        for t in out[nid]:
            edge_state[(nid, t)] = "taken"
            incoming[t] -= 1
            if incoming[t] == 0:
                ready.append(t)
    return time.perf_counter() - t0


def measure(store: RunStore, flow: Flow) -> dict[str, float]:
    gc.collect()
    t0 = time.perf_counter()
    run_id = store.create_run(flow, {})
    t1 = time.perf_counter()
    c1 = time.process_time()
    status = execute_run(store, run_id)
    c2 = time.process_time()
    t2 = time.perf_counter()
    assert status == "succeeded", store.get_run(run_id)["error"]
    return {"create": t1 - t0, "execute": t2 - t1, "total": t2 - t0, "cpu": c2 - c1,
            "nodes": len(flow.nodes)}


def peak_memory(store: RunStore, flow: Flow) -> float:
    tracemalloc.start()
    run_id = store.create_run(flow, {})
    execute_run(store, run_id)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak / 1e6


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--store", help="store URL (default: SQLite in a temp folder)")
    ap.add_argument("--quick", action="store_true", help="small sizes only")
    args = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="flowdesk-bench-")
    url = args.store or f"sqlite:///{tmp}/bench.db"
    store = RunStore.open(url)
    print(f"store: {url.split('@')[-1]}")
    measure(store, chain(20))  # warm up: imports, compiled templates, connections
    sizes = {"chain": (200, 2000), "fan-out": (100, 1000)}
    if args.quick:
        sizes = {"chain": (50, 500), "fan-out": (50, 500)}
    print("create = validate + insert the run; exec = execute_run (the engine's work)")
    print("cpu = CPU time of execute_run (less sensitive to other load than wall time)")
    print(f"{'shape':<14}{'nodes':>7}{'create ms':>11}{'exec ms':>10}{'ms/node':>9}"
          f"{'cpu ms':>9}{'loop ms':>9}{'ratio':>7}")
    for shape, (small, large) in sizes.items():
        make = chain if shape == "chain" else fanout
        results = []
        for n in (small, large):
            f = make(n)
            best = min((measure(store, f) for _ in range(5)), key=lambda r: r["execute"])
            loop = min(plain_loop(f) for _ in range(5))
            per = best["execute"] / best["nodes"] * 1000
            print(f"{shape + ' ' + str(n):<14}{best['nodes']:>7}{best['create'] * 1000:>11.1f}"
                  f"{best['execute'] * 1000:>10.1f}{per:>9.3f}{best['cpu'] * 1000:>9.1f}"
                  f"{loop * 1000:>9.2f}"
                  f"{best['execute'] / loop:>7.1f}")
            results.append(best)
        grow_exec = results[1]["execute"] / results[0]["execute"]
        grow_all = results[1]["total"] / results[0]["total"]
        print(f"  growth {large} vs {small} ({large // small}x nodes): exec {grow_exec:.1f}x, "
              f"create+exec {grow_all:.1f}x")
    big = chain(sizes["chain"][1])
    print(f"peak traced memory, chain {sizes['chain'][1]}: {peak_memory(store, big):.1f} MB; "
          f"max RSS of this process: "
          f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
    py = flow_from_dict({"format": "flowdesk/1", "name": "py", "nodes": [
        {"id": "start", "kind": "start"},
        {"id": "p", "kind": "python", "config": {"code": "result = 1 + 1"}},
        {"id": "end", "kind": "end", "config": {"outputs": {"r": "{{ nodes.p.output }}"}}}],
        "edges": [{"from": "start", "to": "p"}, {"from": "p", "to": "end"}]})
    times = [measure(store, py)["total"] * 1000 for _ in range(6)]
    print(f"python node end to end: first {times[0]:.0f} ms, then median "
          f"{sorted(times[1:])[2]:.1f} ms")
    store.close()


if __name__ == "__main__":
    main()
