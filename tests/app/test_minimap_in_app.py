"""The minimap in the main window shows the opened flow, even while a run keeps the canvas busy.

A run repaints node badges on every status event. The minimap used to wait for
150 ms without any scene change before drawing, so with a run going it stayed
a blank frame (docs/images/app-main.png showed exactly that).
"""

from __future__ import annotations

from itertools import cycle

from PySide6.QtCore import QPointF, Qt, QTimer
from PySide6.QtTest import QTest

from app.mainwindow import MainWindow
from designer.icons import kind_color
from tests.app.conftest import EXAMPLES

STATES = cycle(["running", "succeeded", "pending", "running", "failed"])


def _nodes_missing(window: MainWindow) -> list[str]:
    """Nodes with no rectangle of their kind's colour at their place on the minimap."""
    mini = window.editor.minimap
    scale, off = mini._transform()
    image = mini.grab().toImage()
    missing = []
    for item in window.editor.scene.node_items():
        p = (item.pos() * scale + off).toPoint()
        if not image.rect().contains(p):
            missing.append(item.node_id)
            continue
        shown, kind = image.pixelColor(p), kind_color(item.kind)
        # the visible-area frame tints everything a little; the hue stays the kind's
        turn = abs(shown.hslHue() - kind.hslHue()) % 360
        if shown.saturation() < 80 or min(turn, 360 - turn) > 25:
            missing.append(item.node_id)
    return missing


def _keep_busy(window: MainWindow) -> QTimer:
    """Repaint node badges every 40 ms, as a run's status events do."""
    timer = QTimer(window)

    def tick() -> None:
        for item in window.editor.scene.node_items():
            item.set_run_state(next(STATES), 1, 0.1)

    timer.timeout.connect(tick)
    timer.start(40)
    return timer


def test_the_minimap_draws_an_opened_example_while_the_canvas_keeps_changing(
        window: MainWindow, qtbot) -> None:  # noqa: ANN001
    mini = window.editor.minimap
    assert mini.isVisible() and mini.parent() is window.editor.view
    busy = _keep_busy(window)
    try:
        assert window.open_file(str(EXAMPLES / "branch-and-join.flow.json"))
        assert len(window.editor.scene.node_items()) == 8
        qtbot.waitUntil(lambda: _nodes_missing(window) == [], timeout=5000)

        # an edit during the run shows up too, although the canvas never goes quiet
        window.editor.flow.move_node("end", 1600, 600)
        qtbot.waitUntil(lambda: mini._world.contains(QPointF(1600, 600)), timeout=5000)
        qtbot.waitUntil(lambda: _nodes_missing(window) == [], timeout=5000)
    finally:
        busy.stop()

    # and a click on the minimap (a real mouse event) centres the canvas there
    scale, off = mini._transform()
    QTest.mouseClick(mini, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                     (QPointF(1600, 600) * scale + off).toPoint())
    view = window.editor.view
    centre = view.mapToScene(view.viewport().rect().center())
    assert abs(centre.x() - 1600) < 20 and abs(centre.y() - 600) < 20
