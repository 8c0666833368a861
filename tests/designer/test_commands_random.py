"""Random edit sessions: undoing everything restores the file, redoing replays it exactly."""

from __future__ import annotations

import json
import random

import pytest
from canvas_support import example_flow, model_json
from PySide6.QtGui import QUndoStack

from designer.clipboard import duplicate_command
from designer.commands import (
    AddNodeCommand,
    AlignCommand,
    AutoLayoutCommand,
    ConnectCommand,
    MoveNodesCommand,
    ReconnectEdgeCommand,
    RemoveItemsCommand,
    RenameNodeCommand,
    SetEdgeFieldCommand,
    SetNodeFieldCommand,
    connection_problem,
)
from engine.model import ModelError, Node


def _random_command(rng: random.Random, flow):  # noqa: ANN001, ANN202, C901
    ids = [n.id for n in flow.nodes]
    op = rng.choice(["add", "remove", "move", "connect", "reconnect", "name", "rename",
                     "edge", "align", "layout", "duplicate"])
    if op == "add" or not ids:
        kind = rng.choice(["shell", "python", "set", "branch", "delay"])
        return AddNodeCommand(flow, Node(flow.unique_id(kind), kind, x=rng.randint(-500, 500),
                                         y=rng.randint(-500, 500)))
    if op == "remove":
        keys = [e.key for e in flow.edges if rng.random() < 0.2]
        return RemoveItemsCommand(flow, rng.sample(ids, k=min(len(ids), 2)), keys)
    if op == "move":
        return MoveNodesCommand(flow, {i: (rng.randint(-900, 900), rng.randint(-900, 900))
                                       for i in rng.sample(ids, k=min(len(ids), 3))})
    if op == "connect":
        a, b = rng.choice(ids), rng.choice(ids)
        if connection_problem(flow, a, b):
            return None
        return ConnectCommand(flow, a, b)
    if op == "reconnect" and flow.edges:
        edge = rng.choice(flow.edges)
        return ReconnectEdgeCommand(flow, edge.key, rng.choice(["from", "to"]), rng.choice(ids))
    if op == "name":
        return SetNodeFieldCommand(flow, rng.choice(ids), "name", rng.choice(["A", "B", None]))
    if op == "rename":
        return RenameNodeCommand(flow, rng.choice(ids), f"r{rng.randint(0, 30)}")
    if op == "edge" and flow.edges:
        return SetEdgeFieldCommand(flow, rng.choice(flow.edges).key, "label",
                                   rng.choice(["x", "y", None]))
    if op == "align":
        return AlignCommand(flow, rng.sample(ids, k=min(len(ids), 3)),
                            rng.choice(AlignCommand.MODES))
    if op == "layout":
        return AutoLayoutCommand(flow)
    if op == "duplicate":
        return duplicate_command(flow, rng.sample(ids, k=min(len(ids), 2)))
    return None


@pytest.mark.parametrize("seed", range(12))
def test_undo_all_restores_and_redo_all_replays(seed: int) -> None:
    rng = random.Random(seed)
    flow = example_flow()
    stack = QUndoStack()
    original = model_json(flow)
    for _ in range(60):
        try:
            command = _random_command(rng, flow)
        except ModelError:
            continue  # refused up front (cycle, taken id…), nothing changed
        if command is not None:
            stack.push(command)
    final = model_json(flow)
    while stack.canUndo():
        stack.undo()
    assert model_json(flow) == original
    while stack.canRedo():
        stack.redo()
    assert model_json(flow) == final
    json.loads(final)  # still a well-formed document
