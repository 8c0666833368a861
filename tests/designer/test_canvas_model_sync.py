"""The scene follows the model: programmatic edits, file loads and undo repaint alike."""

from __future__ import annotations

import json

from canvas_support import EXAMPLE, Canvas, write_flow

from designer.commands import RenameNodeCommand, SetEdgeFieldCommand, SetNodeFieldCommand
from engine.model import Flow, Node


def test_model_edits_add_and_remove_items(qtbot) -> None:
    c = Canvas(qtbot, Flow("empty"))
    assert c.scene.node_items() == []
    c.flow.add_node(Node("a", "start", x=10, y=20))
    c.flow.add_node(Node("b", "end", x=300, y=20))
    edge = c.flow.connect("a", "b")
    assert c.scene.node_item("a").pos().toTuple() == (10, 20)
    assert c.scene.edge_item(edge.key).source is c.scene.node_item("a")
    c.flow.move_node("b", 400, 60)
    assert c.scene.node_item("b").pos().toTuple() == (400, 60)
    assert c.scene.edge_item(edge.key).end_point().toTuple() == (400 - 70, 60)
    c.flow.remove_node("a")
    assert c.scene.node_item("a") is None and c.scene.edge_item(edge.key) is None
    assert len(c.scene.items()) == 1 + len(c.scene.node_item("b").ports)


def test_rename_keeps_the_item_and_its_edges(qtbot) -> None:
    c = Canvas(qtbot)
    item = c.scene.node_item("fetch")
    c.document.push(RenameNodeCommand(c.flow, "fetch", "download"))
    assert c.scene.node_item("download") is item and c.scene.node_item("fetch") is None
    assert item.node_id == "download"
    assert {e.edge.source for e in item.edges} | {e.edge.target for e in item.edges} >= {
        "download"}
    c.document.undo_stack.undo()
    assert c.scene.node_item("fetch") is item and item.node_id == "fetch"


def test_name_and_edge_field_changes_restyle_items(qtbot) -> None:
    c = Canvas(qtbot)
    c.document.push(SetNodeFieldCommand(c.flow, "check", "name", "Status OK?"))
    assert c.scene.node_item("check").name == "Status OK?"
    key = c.flow.edges[0].key
    c.document.push(SetEdgeFieldCommand(c.flow, key, "on", "error"))
    item = c.scene.edge_item(key)
    assert item.text == "on error"
    assert item.start_point() == c.scene.node_item("start").port_scene_pos("out")  # no error port
    c.document.undo_stack.undo()
    assert item.text == ""
    c.document.undo_stack.undo()
    assert c.scene.node_item("check").name == "check"


def test_loading_a_file_rebuilds_the_scene_and_nodes_without_positions_are_laid_out(
        qtbot, tmp_path) -> None:
    c = Canvas(qtbot, Flow("empty"))
    data = json.loads(json.dumps(EXAMPLE))
    for node in data["nodes"]:
        node.pop("x")
        node.pop("y")
    path = write_flow(tmp_path / "nopos.flow.json", data)
    with qtbot.waitSignal(c.scene.rebuilt):
        c.document.load(path)
    positions = {i.node_id: i.pos().toTuple() for i in c.scene.node_items()}
    assert len(positions) == 5 and len(set(positions.values())) == 5  # not piled up at 0,0
    assert positions["start"][0] < positions["fetch"][0] < positions["end"][0]
    assert len(c.scene.edge_items()) == 5
    # The model is not changed by drawing it.
    assert all(n.x is None for n in c.flow.nodes)
    assert not c.document.modified


def test_an_edge_naming_a_missing_node_is_not_drawn_but_does_not_break(qtbot) -> None:
    c = Canvas(qtbot)
    from engine.model import Edge

    c.flow.add_edge(Edge("fetch", "ghost"))
    assert len(c.scene.edge_items()) == 5
    c.flow.add_node(Node("ghost", "shell", x=0, y=300))
    assert len(c.scene.edge_items()) == 6


def test_changing_a_kind_redraws_the_node_with_its_ports(qtbot) -> None:
    c = Canvas(qtbot)
    c.scene.select_node("notify", centre=False)
    c.document.push(SetNodeFieldCommand(c.flow, "notify", "kind", "end"))
    item = c.scene.node_item("notify")
    assert item.kind == "end" and "out" not in item.ports and item.isSelected()
    assert len(item.edges) == 2  # check -> notify, notify -> end still drawn
    c.document.undo_stack.undo()
    assert set(c.scene.node_item("notify").ports) == {"in", "out", "error"}
