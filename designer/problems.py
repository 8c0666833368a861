"""The problems panel: live validation of the open flow, listed and marked on the canvas.

Every model change restarts a short timer (about 300 ms); when it fires, the
flow goes through :func:`engine.validate.validate`, the same check that
``flowdesk validate`` and ``flowdesk run`` make. Errors and warnings are
listed here and marked on their nodes and edges (``set_problem``); clicking a
problem selects its node or edge on the canvas and centres the view on it.

On a big flow the check takes a good part of a second, so it runs in a worker
thread: the GUI thread only takes a snapshot (``Flow.to_dict``), the worker
rebuilds and validates it, and the result comes back through one queued signal.
Each request carries a generation number; a result older than the newest edit
is dropped, and the newest request is then the one being checked.
"""

from __future__ import annotations

import threading
from typing import Any

import shiboken6
from PySide6.QtCore import QCoreApplication, QEvent, QObject, Qt, QTimer, Signal
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
from engine.flowfile import FlowFileError, flow_from_dict
from engine.model import Change, Flow
from engine.validate import Problem, validate

__all__ = ["DEBOUNCE_MS", "ProblemsPanel"]


def _alive(item: Any) -> Any:
    """The item, or ``None`` once Qt has deleted it (a scene torn down under a late timer)."""
    return item if item is not None and shiboken6.isValid(item) else None

DEBOUNCE_MS = 300
PROBLEM_ROLE = Qt.ItemDataRole.UserRole


def check_snapshot(snapshot: dict[str, Any]) -> list[Problem]:
    """Validate a ``Flow.to_dict()`` snapshot; runs in the worker thread."""
    try:
        return validate(flow_from_dict(snapshot))
    except FlowFileError as exc:  # the model holds something the file format refuses
        return [Problem("error", str(exc))]


class _Relay(QObject):
    """Carries a finished check from the worker thread to the GUI thread (queued)."""

    done = Signal(int, object)  # generation, list[Problem]


class ValidationWorker:
    """One background thread that checks the newest snapshot it was given.

    A request that arrives while an older one waits replaces it: only the newest
    flow is worth checking. :meth:`stop` joins the thread, so none outlives the panel.
    """

    def __init__(self, relay: _Relay) -> None:
        self._relay = relay
        self._wake = threading.Condition()
        self._job: tuple[int, dict[str, Any]] | None = None
        self._stopped = False
        self._thread: threading.Thread | None = None
        self.busy = False  # a request is waiting or being checked

    def submit(self, generation: int, snapshot: dict[str, Any]) -> None:
        with self._wake:
            if self._stopped:
                return
            self._job = (generation, snapshot)
            self.busy = True
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="flowdesk-validate",
                                                daemon=True)
                self._thread.start()
            self._wake.notify()

    def _run(self) -> None:
        while True:
            with self._wake:
                while self._job is None and not self._stopped:
                    self._wake.wait()
                if self._stopped:
                    return
                generation, snapshot = self._job  # type: ignore[misc]
                self._job = None
            problems = check_snapshot(snapshot)
            with self._wake:
                if self._stopped:
                    return
                self.busy = self._job is not None
            self._relay.done.emit(generation, problems)

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def stop(self) -> None:
        with self._wake:
            self._stopped = True
            self._job = None
            self._wake.notify()
        if self._thread is not None:
            self._thread.join()


class ProblemsPanel(QWidget):
    """Lists the flow's problems; ``problemsChanged(errors, warnings)`` after each check."""

    problemsChanged = Signal(int, int)
    problemActivated = Signal(object)  # the Problem the user clicked
    checked = Signal()  # after each result was shown (also when nothing changed)

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
        self.timer.timeout.connect(self.validate_soon)
        # Background checking: every edit bumps the generation; a result for an older
        # generation is stale and dropped.
        self.generation = 0
        self._shown_generation = -1
        self._relay = _Relay()
        self._relay.done.connect(self._on_result, Qt.ConnectionType.QueuedConnection)
        self._worker = ValidationWorker(self._relay)
        self._after_paint: QObject | None = None
        self._paint_fallback = QTimer(self)
        self._paint_fallback.setSingleShot(True)
        self._paint_fallback.setInterval(1000)
        self._paint_fallback.timeout.connect(self._painted)
        # No thread may outlive the panel (nor the application).
        worker = self._worker
        self.destroyed.connect(lambda _obj=None: worker.stop())
        app = QCoreApplication.instance()
        if app is not None:
            app.aboutToQuit.connect(self.shutdown)
        document.changed.connect(self._on_change)
        if scene is not None:
            scene.destroyed.connect(self._scene_gone)
        self.tree.itemClicked.connect(lambda item, _col: self._activate(item))
        self.tree.itemActivated.connect(lambda item, _col: self._activate(item))
        self.validate_now()

    def _scene_gone(self) -> None:
        self.scene = None
        self.timer.stop()

    def shutdown(self) -> None:
        """Stop checking and join the worker thread (also done when the panel is destroyed)."""
        self.timer.stop()
        self._worker.stop()

    @property
    def pending(self) -> bool:
        """True while an edit has not been checked yet (waiting, or in the worker)."""
        return self.timer.isActive() or self._shown_generation != self.generation

    # -- checking ------------------------------------------------------------------
    def _on_change(self, change: Change) -> None:
        if change.what == "node_changed" and change.field == "pos":
            return  # moving a node changes nothing that validation looks at
        self.generation += 1
        self.timer.start()

    def validate_soon(self) -> None:
        """Check the flow in the worker thread; the result arrives through ``checked``."""
        self.timer.stop()
        self.generation += 1
        self._worker.submit(self.generation, self.document.flow.to_dict())

    def validate_after_paint(self, widget: QWidget) -> None:
        """Check in the background once ``widget`` has painted (the opened flow shows first).

        If no paint comes (a hidden editor), the check starts after a second anyway.
        """
        self.generation += 1  # results of checks already running are stale now
        self.timer.stop()
        if self._after_paint is not None:
            self._after_paint.removeEventFilter(self)
        self._after_paint = widget
        widget.installEventFilter(self)
        self._paint_fallback.start()

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802
        if obj is self._after_paint and event.type() == QEvent.Type.Paint:
            obj.removeEventFilter(self)
            self._after_paint = None
            QTimer.singleShot(0, self, self._painted)  # after this paint is done
        return False

    def _painted(self) -> None:
        self._paint_fallback.stop()
        if self._after_paint is not None:
            self._after_paint.removeEventFilter(self)
            self._after_paint = None
        self.validate_soon()

    def _on_result(self, generation: int, problems: list[Problem]) -> None:
        if generation != self.generation:
            return  # the flow changed since this snapshot: a newer check is coming
        self._show(problems)

    @property
    def error_count(self) -> int:
        return sum(p.is_error for p in self.problems)

    @property
    def warning_count(self) -> int:
        return sum(not p.is_error for p in self.problems)

    def validate_now(self) -> None:
        """Check the flow at once, on this thread (the timer checks in the background)."""
        self.timer.stop()
        self.generation += 1  # a background result still on its way is older than this
        self._show(validate(self.document.flow))

    def _show(self, problems: list[Problem]) -> None:
        self._shown_generation = self.generation
        flow: Flow = self.document.flow
        self.problems = problems
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
        self.checked.emit()

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
        items = []
        for i, p in enumerate(self.problems):
            item = QTreeWidgetItem([self.where(i), p.message])
            item.setIcon(0, icons[p.is_error])
            item.setData(0, PROBLEM_ROLE, i)
            item.setToolTip(1, f"{p.severity}: {p.message}")
            items.append(item)
        self.tree.addTopLevelItems(items)  # one insertion, not thousands

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
