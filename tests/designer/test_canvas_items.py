"""What the items show: edge kinds, problem markers, run-state badges, and heavy painting."""

from __future__ import annotations

from canvas_support import Canvas
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QImage, QPainter

from designer.document import FlowDocument
from designer.items import STATUS_COLORS, EdgeItem, NodeItem
from designer.scene import FlowScene
from engine.model import Flow, Node


def _pixel(c: Canvas, scene_xy: tuple[float, float]) -> QColor:
    image = c.view.grab().toImage()
    p = c.at(scene_xy)
    return image.pixelColor(p.x(), p.y())


def test_edge_kinds_are_drawn_distinctly(qtbot) -> None:
    c = Canvas(qtbot)
    _, error, when, default, plain = (c.scene.edge_item(e.key) for e in c.flow.edges)
    c.flow.set_edge_field(error.key, "on", "error")  # fetch -> check
    styles = {(i.color.name(), i.dash, i.text) for i in (plain, when, default, error)}
    assert len(styles) == 4
    assert when.text == "when nodes.fetch.output.status == 200"
    assert default.text == "default" and default.dash == Qt.PenStyle.DashDotLine
    assert error.text == "on error" and error.dash == Qt.PenStyle.DashLine
    # the error edge leaves from the node's error port, not its ordinary output
    assert error.start_point() == c.scene.node_item("fetch").ports["error"].scenePos()


def test_problem_markers_show_colour_and_tooltip(qtbot) -> None:
    c = Canvas(qtbot)
    item = c.scene.node_item("notify")
    def reddish_pixels() -> int:  # along the line just above the box
        image = c.view.grab().toImage()
        row = c.at((0, -120 - 24 - 5)).y()
        xs = range(c.at((560, 0)).x(), c.at((640, 0)).x())
        return sum(1 for x in xs for y in (row - 1, row, row + 1)
                   if (col := image.pixelColor(x, y)).red() > 150 and col.green() < 120)

    assert reddish_pixels() == 0
    item.set_problem("error", "config 'command' is required")
    assert "config 'command' is required" in item.toolTip()
    assert reddish_pixels() > 20
    item.set_problem(None)
    assert "required" not in item.toolTip()
    edge = c.scene.edge_item(c.flow.edges[2].key)
    edge.set_problem("warning", "suspicious")
    assert "warning: suspicious" in edge.toolTip()
    c.scene.clear_problems()
    assert edge.problem is None


def test_bad_severity_is_refused(qtbot) -> None:
    c = Canvas(qtbot)
    try:
        c.scene.node_item("end").set_problem("fatal", "x")
    except ValueError as exc:
        assert "severity must be" in str(exc)
    else:
        raise AssertionError("a bad severity was accepted")


def test_run_state_badges_in_a_read_only_view(qtbot) -> None:
    c = Canvas(qtbot)
    c.view.set_read_only(True)
    item = c.scene.node_item("fetch")
    before = _pixel(c, (200, 10))
    item.set_run_state("failed", attempts=3, duration_s=1.25)
    assert "failed, 3 attempt(s), 1.25 s" in item.toolTip()
    tinted = _pixel(c, (200, 10))
    assert tinted != before and tinted.red() > tinted.green()  # a reddish tint for failed
    item.set_run_state("succeeded", attempts=1, duration_s=0.2)
    green = _pixel(c, (200, 10))
    assert green.green() > green.red()
    c.scene.clear_run_states()
    assert item.run_state is None
    assert set(STATUS_COLORS) >= {"pending", "running", "waiting", "succeeded", "failed",
                                  "skipped", "cancelled"}


def test_painting_tens_of_thousands_of_items_keeps_the_interpreter_alive(qtbot,
                                                                       monkeypatch) -> None:
    """PySide6 6.12.0 corrupts CPython 3.11 after ~20,000 QPainter calls (TESTING.md).

    This paints 2,000 nodes, their edges and ports, uncached, four times: about 40,000
    item paints and well over 100,000 painter calls. Keep it: it says whether the pin
    (PySide6-Essentials<6.12) may be lifted.
    """
    flow = Flow("big")
    for i in range(2000):
        flow.nodes.append(Node(f"n{i}", "shell" if i else "start", x=(i % 80) * 200,
                               y=(i // 80) * 90))
    for n in flow.nodes:
        flow._by_id[n.id] = n
    for i in range(1, 2000):
        flow.connect(f"n{i - 1}", f"n{i}")
    scene = FlowScene(FlowDocument(flow))
    counts = {"node": 0, "edge": 0}
    node_paint, edge_paint = NodeItem.paint, EdgeItem.paint

    def count_node(self, *a):  # noqa: ANN001, ANN002
        counts["node"] += 1
        return node_paint(self, *a)

    def count_edge(self, *a):  # noqa: ANN001, ANN002
        counts["edge"] += 1
        return edge_paint(self, *a)

    monkeypatch.setattr(NodeItem, "paint", count_node)
    monkeypatch.setattr(EdgeItem, "paint", count_edge)
    for item in scene.items():
        item.setCacheMode(item.CacheMode.NoCache)
    rect = scene.nodes_bounding_rect()
    image = QImage(1600, 900, QImage.Format.Format_ARGB32_Premultiplied)
    for _ in range(4):
        image.fill(Qt.GlobalColor.white)
        painter = QPainter(image)
        scene.render(painter, QRectF(0, 0, 1600, 900), rect)
        painter.end()
    assert counts["node"] == 4 * 2000 and counts["edge"] == 4 * 1999
    assert image.pixelColor(800, 450) != QColor("white") or image.pixelColor(10, 10) != QColor(
        "white")
