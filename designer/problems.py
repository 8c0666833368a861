"""The problems panel: live validation of the open flow, listed and marked on the canvas.

Every model change restarts a short timer (about 300 ms); when it fires, the
flow goes through :func:`engine.validate.validate`, the same check that
``flowdesk validate`` and ``flowdesk run`` make. Errors and warnings are
listed here and marked on their nodes and edges (``set_problem``); clicking a
problem selects its node or edge on the canvas and centres the view on it.
"""

from __future__ import annotations

from typing import Any

import shiboken6
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QHeaderView,
    QLabel,
    QStyle,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from designer.document import FlowDocument
from engine.model import Change
from engine.validate import Problem, validate

__all__ = ["DEBOUNCE_MS", "ProblemsPanel"]


def _alive(item: Any) -> Any:
    """The item, or ``None`` once Qt has deleted it (a scene torn down under a late timer)."""
    return item if item is not None and shiboken6.isValid(item) else None

DEBOUNCE_MS = 300
PROBLEM_ROLE = Qt.ItemDataRole.UserRole


class ProblemsPanel(QWidget):
    """Lists the flow's problems; ``problemsChanged(errors, warnings)`` after each check."""

    problemsChanged = Signal(int, int)
    problemActivated = Signal(object)  # the Problem the user clicked

    def __init__(self, document: FlowDocument, scene: Any = None,
                 parent: QWidget | None = None, delay_ms: int = DEBOUNCE_MS) -> None:
        super().__init__(parent)
        self.setObjectName("problems")
        self.document = document
        self.scene = scene
        self.problems: list[Problem] = []
        self._edge_keys: list[int | None] = []  # key of each problem's edge, at check time
        self._marked_nodes: set[str] = set()
        self._marked_edges: set[int] = set()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.summary = QLabel(self)
        self.summary.setObjectName("problemsSummary")
        self.summary.setStyleSheet("padding: 3px;")
        self.tree = QTreeWidget(self)
        self.tree.setHeaderLabels(["Where", "Problem"])
        self.tree.setRootIsDecorated(False)
        self.tree.setUniformRowHeights(True)
        self.tree.header().setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        self.tree.header().setStretchLastSection(True)
        layout.addWidget(self.summary)
        layout.addWidget(self.tree)
        self.timer = QTimer(self)
        self.timer.setSingleShot(True)
        self.timer.setInterval(delay_ms)
        self.timer.timeout.connect(self.validate_now)
        document.changed.connect(self._on_change)
        if scene is not None:
            scene.destroyed.connect(self._scene_gone)
        self.tree.itemClicked.connect(lambda item, _col: self._activate(item))
        self.tree.itemActivated.connect(lambda item, _col: self._activate(item))
        self.validate_now()

    def _scene_gone(self) -> None:
        self.scene = None
        self.timer.stop()

    # -- checking ------------------------------------------------------------------
    def _on_change(self, change: Change) -> None:
        if change.what == "node_changed" and change.field == "pos":
            return  # moving a node changes nothing that validation looks at
        self.timer.start()

    @property
    def error_count(self) -> int:
        return sum(p.is_error for p in self.problems)

    @property
    def warning_count(self) -> int:
        return sum(not p.is_error for p in self.problems)

    def validate_now(self) -> None:
        """Check the flow at once (the timer calls this after edits settle)."""
        self.timer.stop()
        flow = self.document.flow
        self.problems = validate(flow)
        self._edge_keys = [flow.edges[p.edge].key if p.edge is not None
                           and 0 <= p.edge < len(flow.edges) else None for p in self.problems]
        self._fill()
        self._mark()
        errors, warnings = self.error_count, self.warning_count
        if not self.problems:
            self.summary.setText("No problems: the flow can run.")
        else:
            self.summary.setText(f"{errors} error{'s' * (errors != 1)}, {warnings} "
                                 f"warning{'s' * (warnings != 1)}"
                                 + (" — the flow cannot run until the errors are fixed."
                                    if errors else "."))
        self.problemsChanged.emit(errors, warnings)

    def where(self, index: int) -> str:
        """Where problem ``index`` is, in the user's words."""
        p = self.problems[index]
        if p.node is not None:
            return f"node '{p.node}'"
        key = self._edge_keys[index]
        if key is not None:
            try:
                e = self.document.flow.edge(key)
            except ValueError:
                return f"edge {p.edge}"
            return f"edge {e.source} → {e.target}"
        return "flow"

    def _fill(self) -> None:
        self.tree.clear()
        style = self.style()
        icons = {True: style.standardIcon(QStyle.StandardPixmap.SP_MessageBoxCritical),
                 False: style.standardIcon(QStyle.StandardPixmap.SP_MessageBoxWarning)}
        for i, p in enumerate(self.problems):
            item = QTreeWidgetItem([self.where(i), p.message])
            item.setIcon(0, icons[p.is_error])
            item.setData(0, PROBLEM_ROLE, i)
            item.setToolTip(1, f"{p.severity}: {p.message}")
            self.tree.addTopLevelItem(item)

    def _mark(self) -> None:
        """Put each problem on its node or edge; clear the marks of fixed ones."""
        if self.scene is None:
            return
        nodes: dict[str, list[Problem]] = {}
        edges: dict[int, list[Problem]] = {}
        for p, key in zip(self.problems, self._edge_keys, strict=True):
            if p.node is not None:
                nodes.setdefault(p.node, []).append(p)
            elif key is not None:
                edges.setdefault(key, []).append(p)
        for nid in self._marked_nodes - set(nodes):
            if (item := self._node_item(nid)) is not None:
                item.set_problem(None)
        for key in self._marked_edges - set(edges):
            if (item := self._edge_item(key)) is not None:
                item.set_problem(None)
        for nid, found in nodes.items():
            if (item := self._node_item(nid)) is not None:
                item.set_problem(*_worst(found))
        for key, found in edges.items():
            if (item := self._edge_item(key)) is not None:
                item.set_problem(*_worst(found))
        self._marked_nodes, self._marked_edges = set(nodes), set(edges)

    def _node_item(self, node_id: str) -> Any:
        try:
            return _alive(self.scene.node_item(node_id))
        except (KeyError, ValueError):
            return None

    def _edge_item(self, key: int) -> Any:
        try:
            return _alive(self.scene.edge_item(key))
        except (KeyError, ValueError):
            return None

    # -- going to a problem ---------------------------------------------------------
    def _activate(self, item: QTreeWidgetItem) -> None:
        index = item.data(0, PROBLEM_ROLE)
        if index is None:
            return
        self.show_problem(int(index))

    def show_problem(self, index: int) -> None:
        """Select the problem's node or edge and centre the view on it."""
        p = self.problems[index]
        self.problemActivated.emit(p)
        if self.scene is None:
            return
        if p.node is not None and self.document.flow.has_node(p.node):
            self.scene.select_node(p.node)
            return
        key = self._edge_keys[index]
        if key is None or not self.scene.select_edge(key):
            self.scene.clearSelection()  # a flow-level problem: show the flow's settings


def _worst(found: list[Problem]) -> tuple[str, str]:
    severity = "error" if any(p.is_error for p in found) else "warning"
    return severity, "\n".join(p.message for p in found)
