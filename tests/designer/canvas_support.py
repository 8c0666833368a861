"""Helpers for the canvas tests: a shown editor canvas and real mouse gestures.

Gestures go through QTest on the view's viewport, the way a user's mouse does.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtTest import QTest

from designer.document import FlowDocument
from designer.scene import FlowScene
from designer.view import FlowView
from engine.flowfile import flow_from_dict
from engine.model import Flow

EXAMPLE = {
    "format": "flowdesk/1",
    "name": "nightly-report",
    "description": "Fetch, check, notify",
    "inputs": {"day": {"type": "string", "default": "today"}},
    "concurrency": 8,
    "nodes": [
        {"id": "start", "kind": "start", "x": 0, "y": 0},
        {"id": "fetch", "kind": "http", "name": "Fetch data",
         "config": {"method": "GET", "url": "http://127.0.0.1:8080/data?day={{ inputs.day }}"},
         "retry": {"max_attempts": 3, "backoff_s": 0.5, "backoff_factor": 2},
         "timeout_s": 30, "x": 200, "y": 0},
        {"id": "check", "kind": "branch", "x": 400, "y": 0},
        {"id": "notify", "kind": "shell",
         "config": {"command": ["echo", "{{ nodes.fetch.output.status }}"]}, "x": 600, "y": -120},
        {"id": "end", "kind": "end",
         "config": {"outputs": {"status": "{{ nodes.fetch.output.status }}"}}, "x": 800, "y": 0},
    ],
    "edges": [
        {"from": "start", "to": "fetch"},
        {"from": "fetch", "to": "check"},
        {"from": "check", "to": "notify", "when": "nodes.fetch.output.status == 200"},
        {"from": "check", "to": "end", "default": True},
        {"from": "notify", "to": "end"},
    ],
}


def example_flow() -> Flow:
    return flow_from_dict(json.loads(json.dumps(EXAMPLE)))


def model_json(flow: Flow) -> str:
    return json.dumps(flow.to_dict(), sort_keys=True)


class Canvas:
    """A document, scene and shown view, ready for gestures."""

    def __init__(self, qtbot, flow: Flow | None = None, size: tuple[int, int] = (1100, 600)):
        self.document = FlowDocument(flow if flow is not None else example_flow())
        self.scene = FlowScene(self.document)
        self.view = FlowView(self.scene)
        # The view owns the scene: a scene owned by the document could be deleted with
        # it while the view still paints (a crash seen when the test's objects were freed).
        self.scene.setParent(self.view)
        qtbot.addWidget(self.view)
        self.view.resize(*size)
        self.view.show()
        qtbot.waitExposed(self.view)
        self.view.zoom_reset()
        self.view.centerOn(400, 0)
        self.qtbot = qtbot
        # qtbot holds widgets only weakly. Keep this canvas alive until the test ends:
        # otherwise a garbage collection (e.g. of the cycle pytest.raises makes) can free
        # the view while it is painting, which crashes.
        if not hasattr(qtbot, "_flowdesk_canvases"):
            qtbot._flowdesk_canvases = []
        qtbot._flowdesk_canvases.append(self)

    def activate(self) -> None:
        """Make the view the active window with focus, so QAction shortcuts fire."""
        self.view.activateWindow()
        self.qtbot.waitUntil(self.view.isActiveWindow)
        self.view.setFocus()

    @property
    def flow(self) -> Flow:
        return self.document.flow

    @property
    def viewport(self):
        return self.view.viewport()

    def at(self, scene_point: QPointF | tuple[float, float]) -> QPoint:
        if isinstance(scene_point, tuple):
            scene_point = QPointF(*scene_point)
        return self.view.mapFromScene(scene_point)

    def port(self, node_id: str, role: str = "out") -> QPoint:
        item = self.scene.node_item(node_id)
        assert item is not None
        return self.at(item.ports[role].scenePos())

    def centre_of(self, node_id: str) -> QPoint:
        item = self.scene.node_item(node_id)
        assert item is not None
        return self.at(item.scenePos() + QPointF(10, 6))  # on the body, off the icon

    def drag(self, start: QPoint, end: QPoint, steps: int = 8,
             button: Qt.MouseButton = Qt.MouseButton.LeftButton,
             modifiers: Qt.KeyboardModifier = Qt.KeyboardModifier.NoModifier) -> None:
        """Press, move in steps, release: a real drag on the viewport."""
        vp = self.viewport
        QTest.mouseMove(vp, start)
        QTest.mousePress(vp, button, modifiers, start)
        for i in range(1, steps + 1):
            p = start + (end - start) * (i / steps)
            QTest.mouseMove(vp, p)
        QTest.mouseRelease(vp, button, modifiers, end)

    def click(self, point: QPoint,
              modifiers: Qt.KeyboardModifier = Qt.KeyboardModifier.NoModifier) -> None:
        QTest.mouseClick(self.viewport, Qt.MouseButton.LeftButton, modifiers, point)


def node_ids(flow: Flow) -> list[str]:
    return [n.id for n in flow.nodes]


def edge_pairs(flow: Flow) -> list[tuple[str, str]]:
    return [(e.source, e.target) for e in flow.edges]


def write_flow(path: Path, data: dict | None = None) -> Path:
    path.write_text(json.dumps(data or EXAMPLE, indent=2), encoding="utf-8")
    return path


def ids(items: Iterable) -> list[str]:
    return sorted(i.node_id for i in items)
