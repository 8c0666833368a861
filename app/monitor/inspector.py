"""The node inspector: what one node of a run got, did and said.

Config and the run's inputs, the output as a JSON tree, stdout/stderr, and
every attempt with its status, timing and error. The node's last error is shown
at the top, where a person looks first.
"""

from __future__ import annotations

import json
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from app.monitor.jsontree import JsonTree
from app.monitor.timefmt import duration, local_time, to_epoch
from engine.model import Flow

ATTEMPT_COLUMNS = ("Attempt", "Status", "Started", "Took", "Error")


class NodeInspector(QWidget):
    """Shows one node of the selected run; ``nodeChosen`` when the user picks another."""

    nodeChosen = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        mono = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        top = QHBoxLayout()
        self.node_combo = QComboBox()
        self.node_combo.setObjectName("inspectorNode")
        self.node_combo.setMinimumContentsLength(16)
        self.node_combo.activated.connect(
            lambda i: self.nodeChosen.emit(self.node_combo.itemData(i) or ""))
        top.addWidget(QLabel("Node"))
        top.addWidget(self.node_combo, 1)
        self.status = QLabel("")
        self.status.setObjectName("inspectorStatus")
        top.addWidget(self.status)
        layout.addLayout(top)
        self.error = QLabel("")
        self.error.setObjectName("nodeError")
        self.error.setWordWrap(True)
        self.error.setForegroundRole(self.error.palette().ColorRole.BrightText)
        layout.addWidget(self.error)
        self.tabs = QTabWidget()
        self.config = QPlainTextEdit(readOnly=True)
        self.config.setFont(mono)
        self.output = JsonTree()
        self.logs = QPlainTextEdit(readOnly=True)
        self.logs.setObjectName("nodeLogs")
        self.logs.setFont(mono)
        self.attempts = QTableWidget(0, len(ATTEMPT_COLUMNS))
        self.attempts.setHorizontalHeaderLabels(ATTEMPT_COLUMNS)
        self.attempts.horizontalHeader().setStretchLastSection(True)
        self.attempts.verticalHeader().setVisible(False)
        self.tabs.addTab(self.output, "Output")
        self.tabs.addTab(self.attempts, "Attempts")
        self.tabs.addTab(self.logs, "Logs")
        self.tabs.addTab(self.config, "Inputs && config")
        layout.addWidget(self.tabs, 1)
        self.node_id: str | None = None

    def set_nodes(self, flow: Flow | None, states: dict[str, dict[str, Any]]) -> None:
        """Fill the node chooser: ``id — status`` for every node of the snapshot."""
        current = self.node_id
        self.node_combo.blockSignals(True)
        self.node_combo.clear()
        for node in (flow.nodes if flow else []):
            status = (states.get(node.id) or {}).get("status", "pending")
            self.node_combo.addItem(f"{node.label} — {status}", node.id)
        if current is not None:
            i = self.node_combo.findData(current)
            if i >= 0:
                self.node_combo.setCurrentIndex(i)
        self.node_combo.blockSignals(False)

    def clear(self) -> None:
        self.node_id = None
        self.status.setText("")
        self.error.setText("")
        self.config.setPlainText("")
        self.output.set_value(None)
        self.logs.setPlainText("")
        self.attempts.setRowCount(0)

    def show_node(self, flow: Flow, run: dict[str, Any], node_id: str,
                  attempts: list[dict[str, Any]], logs: list[dict[str, Any]]) -> None:
        self.node_id = node_id
        i = self.node_combo.findData(node_id)
        if i >= 0:
            self.node_combo.setCurrentIndex(i)
        state = (run.get("nodes") or {}).get(node_id) or {}
        status = state.get("status", "pending")
        took = ""
        start, end = to_epoch(state.get("started_at")), to_epoch(state.get("finished_at"))
        if start is not None and end is not None:
            took = f", {duration(end - start)}"
        self.status.setText(f"{status}, {state.get('attempts', 0)} attempt(s){took}")
        errors = [a.get("error") for a in attempts if a.get("error")]
        error = state.get("error") or (errors[-1] if errors else None)
        if error is None and isinstance(state.get("output"), dict) and status == "failed":
            error = state["output"].get("error")
        self.error.setText(f"Error: {error}" if error else "")
        node = flow.get_node(node_id)
        details = {"kind": node.kind if node else "?", "config": node.cfg if node else {},
                   "run inputs": run.get("inputs", {})}
        if node and node.retry:
            details["retry"] = node.retry
        if node and node.timeout_s:
            details["timeout_s"] = node.timeout_s
        self.config.setPlainText(json.dumps(details, indent=2, ensure_ascii=False))
        self.output.set_value(state.get("output"))
        lines = []
        for entry in logs:
            text = str(entry.get("text", ""))
            lines.append(f"[{entry.get('attempt', '')} {entry.get('stream', '')}] "
                         f"{text.rstrip(chr(10))}")
        self.logs.setPlainText("\n".join(lines))
        self.attempts.setRowCount(len(attempts))
        for r, a in enumerate(attempts):
            s, e = to_epoch(a.get("started_at")), to_epoch(a.get("finished_at"))
            cells = (str(a.get("attempt", "")), str(a.get("status", "")),
                     local_time(a.get("started_at")),
                     duration(e - s) if s is not None and e is not None else "",
                     str(a.get("error") or ""))
            for c, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if c == 4 and text:
                    item.setToolTip(text)
                self.attempts.setItem(r, c, item)
        self.attempts.resizeColumnsToContents()
