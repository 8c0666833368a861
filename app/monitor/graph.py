"""A run's snapshot drawn read-only by the designer's own canvas, with live node states."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QVBoxLayout, QWidget

from app.monitor.timefmt import span
from engine.model import Flow


class SnapshotGraph(QWidget):
    """Holds a FlowDocument + FlowScene + read-only FlowView for one run's definition."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        from designer.document import FlowDocument
        from designer.scene import FlowScene
        from designer.view import FlowView

        self.document = FlowDocument(Flow("run"), self)
        self.scene = FlowScene(self.document)
        self.view = FlowView(self.scene)
        self.view.set_read_only(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.view)
        self.states: dict[str, dict[str, Any]] = {}

    def show_flow(self, flow: Flow) -> None:
        self.document.flow.replace_with(flow)
        self.states = {}
        self.fit()

    def fit(self) -> None:
        rect = self.scene.itemsBoundingRect().adjusted(-40, -40, 40, 40)
        if not rect.isEmpty():
            self.view.fitInView(rect, Qt.AspectRatioMode.KeepAspectRatio)

    def set_states(self, nodes: dict[str, dict[str, Any]], now: float) -> None:
        """Badges for every node: status, attempts and duration."""
        for node_id, state in nodes.items():
            self.set_state(node_id, state, now)

    def set_state(self, node_id: str, state: dict[str, Any], now: float) -> None:
        self.states[node_id] = dict(state)
        item = self.scene.node_item(node_id)
        if item is None:
            return
        took = span(state.get("started_at"), state.get("finished_at"), now)
        status = state.get("status")
        item.set_run_state(status if status != "pending" else None,
                           int(state.get("attempts") or 0), took)

