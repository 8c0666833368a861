"""The run dock: the state of the run last started from the editor, node by node."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.monitor.model import STATUS_COLOURS


class RunPanel(QWidget):
    """Shows the current run's status and each node's; a button opens it in the monitor."""

    showInMonitor = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("runPanel")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        self.status = QLabel("No run yet: press F5 to run the open flow.")
        self.status.setObjectName("runPanelStatus")
        self.status.setWordWrap(True)
        layout.addWidget(self.status)
        self.nodes = QListWidget()
        self.nodes.setObjectName("runPanelNodes")
        layout.addWidget(self.nodes, 1)
        self.open_button = QPushButton("Show in monitor")
        self.open_button.setEnabled(False)
        self.open_button.clicked.connect(lambda: self.showInMonitor.emit(self.run_id or ""))
        layout.addWidget(self.open_button)
        self.run_id: str | None = None
        self.run_status = ""
        self._rows: dict[str, QListWidgetItem] = {}

    def start(self, run_id: str, node_ids: list[str]) -> None:
        self.run_id = run_id
        self.run_status = "pending"
        self.nodes.clear()
        self._rows = {}
        for node_id in node_ids:
            item = QListWidgetItem(f"{node_id}: pending")
            self.nodes.addItem(item)
            self._rows[node_id] = item
        self.open_button.setEnabled(True)
        self._show()

    def _show(self, error: str | None = None) -> None:
        text = f"Run {self.run_id[:12] if self.run_id else ''}: {self.run_status}"
        if error:
            text += f" — {error}"
        self.status.setText(text)

    def on_events(self, batch: list[dict[str, Any]]) -> None:
        for ev in batch:
            if ev["run_id"] != self.run_id:
                continue
            data = ev.get("data") or {}
            if ev["type"] == "run_status":
                self.run_status = str(data.get("status", ""))
                self._show(data.get("error"))
            elif ev["type"] == "node_status" and ev.get("node_id") in self._rows:
                status = str(data.get("status", ""))
                item = self._rows[ev["node_id"]]
                extra = f" (attempt {data['attempt']})" if data.get("attempt", 0) > 1 else ""
                item.setText(f"{ev['node_id']}: {status}{extra}")
                item.setForeground(QColor(STATUS_COLOURS.get(status, "#808080")))
                if data.get("error"):
                    item.setToolTip(str(data["error"]))
