"""Node geometry and auto-layout, in plain Python (no Qt), so both are easy to test.

A node's ``x``/``y`` in the file is the centre of its box on the canvas. The
layout is layered left to right: each generation of
``networkx.topological_generations`` becomes one column; inside a column the
nodes are ordered by the mean row of their predecessors, which removes most
edge crossings in the flows people draw. Cycles (which validation reports
anyway) are folded into one column per strongly connected component.
"""

from __future__ import annotations

from engine.model import Flow

__all__ = ["COLUMN_GAP", "NODE_H", "NODE_W", "ROW_GAP", "auto_layout", "overlapping_pairs"]

NODE_W = 140.0
NODE_H = 48.0
COLUMN_GAP = 200.0  # centre to centre
ROW_GAP = 90.0


def _generations(flow: Flow) -> list[list[str]]:
    import networkx as nx  # lazily: it is half of the app's start time

    graph = nx.DiGraph()
    graph.add_nodes_from(n.id for n in flow.nodes)
    graph.add_edges_from((e.source, e.target) for e in flow.edges
                         if flow.has_node(e.source) and flow.has_node(e.target)
                         and e.source != e.target)
    if nx.is_directed_acyclic_graph(graph):
        return [list(g) for g in nx.topological_generations(graph)]
    dag = nx.condensation(graph)
    return [[m for c in gen for m in sorted(dag.nodes[c]["members"])]
            for gen in nx.topological_generations(dag)]


def auto_layout(flow: Flow) -> dict[str, tuple[float, float]]:
    """New centre positions for every node: columns by generation, rows without overlap."""
    order = {n.id: i for i, n in enumerate(flow.nodes)}
    preds: dict[str, list[str]] = {n.id: [] for n in flow.nodes}
    for e in flow.edges:
        if e.target in preds and e.source in preds:
            preds[e.target].append(e.source)
    row: dict[str, float] = {}
    out: dict[str, tuple[float, float]] = {}
    for col, generation in enumerate(_generations(flow)):
        def weight(nid: str) -> tuple[float, int]:
            rows = [row[p] for p in preds[nid] if p in row]
            return (sum(rows) / len(rows) if rows else float(order[nid]), order[nid])

        generation.sort(key=weight)
        top = -(len(generation) - 1) / 2
        for i, nid in enumerate(generation):
            row[nid] = top + i
            out[nid] = (col * COLUMN_GAP, (top + i) * ROW_GAP)
    return out


def overlapping_pairs(positions: dict[str, tuple[float, float]]) -> list[tuple[str, str]]:
    """Pairs of nodes whose boxes overlap (for tests and for a sanity check after layout)."""
    items = sorted(positions.items(), key=lambda p: p[1][0])
    found = []
    for i, (a, (ax, ay)) in enumerate(items):
        for b, (bx, by) in items[i + 1:]:
            if bx - ax >= NODE_W:
                break
            if abs(ay - by) < NODE_H:
                found.append((a, b))
    return found
