"""RunMonitor: every run of the current store, live, with what each node did.

The list is a lazily-fetched table model; selecting a run draws its snapshot
read-only with node states, fills the node inspector and the timeline. All
updates come from the bridge's batched event signal, so runs started by the
command line or by another process on the same store show up here too.
"""

from __future__ import annotations

import getpass
import time
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QItemSelection, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMainWindow,
    QSplitter,
    QTableView,
    QTabWidget,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from app.background import Background
from app.monitor.delegate import RunCellDelegate
from app.monitor.inspector import NodeInspector
from app.monitor.loader import DetailLoader
from app.monitor.model import STATUSES, RunListModel
from app.monitor.timeline import TimelineWidget
from engine.errors import describe_exception
from engine.flowfile import flow_from_dict
from engine.model import Flow

if TYPE_CHECKING:
    from app.bridge import EngineBridge
    from app.monitor.graph import SnapshotGraph
    from app.settings import AppSettings


class RunMonitor(QMainWindow):
    """The run/monitor window of one connection (follow :meth:`set_bridge` on a switch)."""

    runSelected = Signal(str)
    detailShown = Signal(str)       # the selected run's details are on screen (fresh)
    message = Signal(str)

    def __init__(self, bridge: EngineBridge, settings: AppSettings | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Flowdesk — Runs")
        self.setObjectName("runMonitor")
        self.bridge = bridge
        self.settings = settings
        self.run_id: str | None = None
        self.run: dict[str, Any] | None = None
        self.flow: Flow | None = None
        self.last_message = ""
        self._generation = 0
        self.loader = DetailLoader(self)
        self.background = Background(self)
        self.loader.loaded.connect(self._loaded)
        self.model = RunListModel(bridge.store, self)
        self._want: str | None = None  # the run to select once the list is read
        self._full_refresh = False
        self.model.refreshed.connect(self._list_ready)
        self.model.refreshFailed.connect(lambda why: self.say(f"Cannot list the runs: {why}"))
        self._build_filters()
        self._build_actions()
        self.table = QTableView()
        self.table.setObjectName("runTable")
        self.table.setModel(self.model)
        self.table.setItemDelegate(RunCellDelegate(self.model))
        self.table.setWordWrap(False)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        self.table.verticalHeader().setDefaultSectionSize(22)
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setStretchLastSection(True)
        for col, width in enumerate((160, 80, 140, 80, 90)):
            self.table.setColumnWidth(col, width)
        self.table.selectionModel().selectionChanged.connect(self._selection_changed)
        self.graph: SnapshotGraph | None = None
        self.graph_holder = QWidget()
        QVBoxLayout(self.graph_holder).setContentsMargins(0, 0, 0, 0)
        self.inspector = NodeInspector()
        self.inspector.nodeChosen.connect(self.select_node)
        self.timeline = TimelineWidget()
        self.timeline.setObjectName("timeline")
        self.timeline.nodeClicked.connect(self.select_node)
        self.run_info = QLabel("")
        self.run_info.setObjectName("runInfo")
        self.run_info.setWordWrap(True)
        self.run_info.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.tabs = QTabWidget()
        self.tabs.addTab(self.inspector, "Node")
        self.tabs.addTab(self.timeline, "Timeline")
        right = QSplitter(Qt.Orientation.Vertical)
        top = QWidget()
        top_layout = QVBoxLayout(top)
        top_layout.setContentsMargins(0, 0, 0, 0)
        top_layout.addWidget(self.run_info)
        top_layout.addWidget(self.graph_holder, 1)
        right.addWidget(top)
        right.addWidget(self.tabs)
        right.setSizes([320, 320])
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(self.table)
        split.addWidget(right)
        split.setSizes([520, 640])
        self.setCentralWidget(split)
        self.count_label = QLabel("")
        self.statusBar().addPermanentWidget(self.count_label)
        self._detail_timer = QTimer(self, singleShot=True, interval=120)
        self._detail_timer.timeout.connect(self.refresh_detail)
        self._search_timer = QTimer(self, singleShot=True, interval=250)
        self._search_timer.timeout.connect(self.apply_filters)
        self._tick = QTimer(self, interval=1000)
        self._tick.timeout.connect(self.model.tick)
        self._tick.start()
        self.resize(1200, 760)
        bridge.events.connect(self.on_events)
        self.refresh()
        if settings is not None:
            geometry = settings.window_geometry("monitor")
            if geometry is not None:
                self.restoreGeometry(geometry)

    # -- building ------------------------------------------------------------------
    def _build_filters(self) -> None:
        bar = QToolBar("Filters")
        bar.setObjectName("filtersToolbar")
        self.addToolBar(bar)
        bar.addWidget(QLabel(" Status "))
        self.status_filter = QComboBox()
        self.status_filter.setObjectName("statusFilter")
        self.status_filter.addItem("any", "")
        for status in STATUSES:
            self.status_filter.addItem(status, status)
        self.status_filter.currentIndexChanged.connect(self.apply_filters)
        bar.addWidget(self.status_filter)
        bar.addWidget(QLabel(" Flow "))
        self.flow_filter = QComboBox()
        self.flow_filter.setObjectName("flowFilter")
        self.flow_filter.setEditable(True)
        self.flow_filter.setMinimumContentsLength(14)
        self.flow_filter.lineEdit().setPlaceholderText("any flow")
        self.flow_filter.currentTextChanged.connect(lambda _t: self._search_timer.start())
        bar.addWidget(self.flow_filter)
        bar.addWidget(QLabel(" Search "))
        self.search = QLineEdit()
        self.search.setObjectName("runSearch")
        self.search.setPlaceholderText("flow name or run id")
        self.search.setClearButtonEnabled(True)
        self.search.textChanged.connect(lambda _t: self._search_timer.start())
        bar.addWidget(self.search)
        refresh = QAction("Refresh", self)
        refresh.setShortcut(QKeySequence.StandardKey.Refresh)
        refresh.triggered.connect(self.refresh)
        bar.addAction(refresh)

    def _build_actions(self) -> None:
        bar = QToolBar("Run actions")
        bar.setObjectName("runActionsToolbar")
        self.addToolBarBreak()
        self.addToolBar(bar)
        self.cancel_action = QAction("Cancel run", self)
        self.cancel_action.triggered.connect(self.cancel_run)
        self.cancel_node_action = QAction("Cancel node", self)
        self.cancel_node_action.triggered.connect(self.cancel_node)
        self.retry_action = QAction("Retry failed", self)
        self.retry_action.setToolTip("Run the failed and cancelled nodes again; succeeded "
                                     "nodes keep their results")
        self.retry_action.triggered.connect(self.retry_failed)
        self.again_action = QAction("Run again", self)
        self.again_action.setToolTip("A new run of the same snapshot with the same inputs")
        self.again_action.triggered.connect(self.run_again)
        self.approve_action = QAction("Approve", self)
        self.approve_action.triggered.connect(lambda: self.decide(True))
        self.reject_action = QAction("Reject", self)
        self.reject_action.triggered.connect(lambda: self.decide(False))
        for action in (self.cancel_action, self.cancel_node_action, self.retry_action,
                       self.again_action):
            bar.addAction(action)
        bar.addSeparator()
        self.comment = QLineEdit()
        self.comment.setObjectName("approvalComment")
        self.comment.setPlaceholderText("comment for approve / reject")
        self.comment.setMaximumWidth(260)
        bar.addWidget(self.comment)
        bar.addAction(self.approve_action)
        bar.addAction(self.reject_action)

    # -- the store ----------------------------------------------------------------------
    @property
    def store(self) -> Any:
        return self.bridge.store

    def set_bridge(self, bridge: EngineBridge) -> None:
        """Show another connection's runs (after a profile switch or a restore)."""
        try:
            self.bridge.events.disconnect(self.on_events)
        except (RuntimeError, TypeError):
            pass
        self.bridge = bridge
        bridge.events.connect(self.on_events)
        self.refresh()

    def refresh(self) -> None:
        """Show the store's runs again (read in a thread; :meth:`_list_ready` follows)."""
        if not self.model.loading:
            self._want = self.run_id
        self._full_refresh = True
        self.model.set_store(self.store)
        if self.model.loading:
            self.count_label.setText("loading…")

    def _list_ready(self) -> None:
        """The list's first page is in: count, flow names, and the run that was selected."""
        full, self._full_refresh = self._full_refresh, False
        want, self._want = self._want, None
        self._update_count()
        if full:
            self._fill_flow_names()
        if want is not None and want in self.model.row_of:
            if full:
                self.run_id = None  # the store may have changed under it: read it again
            self.select_run(want)
        elif full:
            self._clear_detail()

    def _fill_flow_names(self) -> None:
        names = sorted({r.get("flow_name", "") for r in self.model.rows})
        current = self.flow_filter.currentText()
        self.flow_filter.blockSignals(True)
        self.flow_filter.clear()
        self.flow_filter.addItem("")
        self.flow_filter.addItems(names)
        self.flow_filter.setEditText(current)
        self.flow_filter.blockSignals(False)

    def apply_filters(self) -> None:
        """Filter the list (read in a thread; the selected run stays selected if it matches)."""
        if not self.model.loading:
            self._want = self.run_id
        self.model.set_filters(status=self.status_filter.currentData() or None,
                               flow=self.flow_filter.currentText().strip() or None,
                               search=self.search.text().strip() or None)
        if self.model.loading:
            self.count_label.setText("loading…")

    def _update_count(self) -> None:
        self.count_label.setText(f"{self.model.total} runs")

    def say(self, text: str) -> None:
        self.last_message = text
        self.statusBar().showMessage(text, 10000)
        self.message.emit(text)

    # -- events ---------------------------------------------------------------------------
    def on_events(self, batch: list[dict[str, Any]]) -> None:
        before = len(self.model.rows)
        self.model.apply_events(batch)
        if len(self.model.rows) != before:
            self._update_count()
        if self.run_id and any(ev["run_id"] == self.run_id for ev in batch):
            self._detail_timer.start()

    # -- selection ---------------------------------------------------------------------------
    def select_run(self, run_id: str) -> None:
        """Select ``run_id`` in the list (fetching pages until it is there)."""
        if self.model.loading:  # selected when the list is in
            self._want = run_id
            return
        while run_id not in self.model.row_of and self.model.canFetchMore():
            self.model.fetchMore()
        row = self.model.row_of.get(run_id)
        if row is None:
            self.model.load_new()
            row = self.model.row_of.get(run_id)
        if row is None:
            self.say(f"Run {run_id} is not in this list (check the filters).")
            return
        index = self.model.index(row, 0)
        self.table.selectRow(row)
        self.table.scrollTo(index)
        if self.run_id != run_id:
            self._show_run(run_id)

    def _selection_changed(self, _sel: QItemSelection, _desel: QItemSelection) -> None:
        rows = self.table.selectionModel().selectedRows()
        if not rows:
            return
        run_id = self.model.run_id_at(rows[0].row())
        if run_id != self.run_id:
            self._show_run(run_id)

    def _ensure_graph(self) -> SnapshotGraph:
        if self.graph is None:
            from app.monitor.graph import SnapshotGraph

            self.graph = SnapshotGraph()
            self.graph.scene.selectionChanged.connect(self._graph_selection)
            layout = self.graph_holder.layout()
            assert layout is not None
            layout.addWidget(self.graph)
        return self.graph

    def _graph_selection(self) -> None:
        if self.graph is None:
            return
        ids = self.graph.scene.selected_node_ids()
        if ids and ids[0] != self.inspector.node_id:
            self.select_node(ids[0])

    def _show_run(self, run_id: str) -> None:
        """Select another run: its snapshot and states are read in the background."""
        self.run_id = run_id
        self.run, self.flow = None, None
        self._generation += 1
        self.inspector.clear()
        self.runSelected.emit(run_id)
        self.loader.request(self.store, run_id, None, True, self._generation)
        self._update_actions()

    def refresh_detail(self) -> None:
        """Read the selected run again: states, inspector, timeline, actions."""
        if self.run_id is None:
            return
        self.loader.request(self.store, self.run_id, self.inspector.node_id,
                            self.flow is None, self._generation)

    def _loaded(self, generation: int, payload: dict[str, Any]) -> None:
        if generation != self._generation or payload.get("run_id") != self.run_id:
            return  # an answer about a run no longer shown
        if "error" in payload:
            self.say(f"Cannot read run {self.run_id}: {payload['error']}")
            return
        if "definition" in payload and self.flow is None:
            try:
                self.flow = flow_from_dict(payload["definition"])
            except Exception as exc:  # noqa: BLE001
                self.say(f"Cannot show run {self.run_id}: {describe_exception(exc)}")
                return
            self._ensure_graph().show_flow(self.flow)
        if self.flow is None:
            return
        self.run = payload["run"]
        attempts = payload["attempts"]
        now = time.time()
        nodes = self.run.get("nodes") or {}
        if self.graph is not None:
            self.graph.set_states(nodes, now)
        self.inspector.set_nodes(self.flow, nodes)
        node_id = payload.get("node_id")
        if self.inspector.node_id in (None, node_id) and node_id:
            mine = [a for a in attempts if a.get("node_id") == node_id]
            self.inspector.show_node(self.flow, self.run, node_id, mine, payload["logs"])
        elif self.inspector.node_id:
            self.refresh_detail()  # the user picked another node meanwhile
        self.timeline.set_data([n.id for n in self.flow.nodes], attempts)
        self.run_info.setText(self._run_text(self.run))
        self._update_actions()
        self.detailShown.emit(self.run_id)

    @staticmethod
    def _run_text(run: dict[str, Any]) -> str:
        parts = [f"<b>{run.get('flow_name', '')}</b> run {run['run_id']}: "
                 f"<b>{run.get('status')}</b>"]
        if run.get("created_by"):
            parts.append(f"by {run['created_by']}")
        if run.get("error"):
            parts.append(f"— {run['error']}")
        if run.get("outputs"):
            import json

            parts.append(f"— outputs {json.dumps(run['outputs'], ensure_ascii=False)[:200]}")
        return " ".join(parts)

    def select_node(self, node_id: str) -> None:
        """Inspect ``node_id`` of the selected run (read in the background)."""
        if not node_id or self.run_id is None:
            return
        self.inspector.node_id = node_id
        self.tabs.setCurrentWidget(self.inspector)
        self.refresh_detail()
        self._update_actions()

    def _clear_detail(self) -> None:
        self._generation += 1
        self.run_id, self.run, self.flow = None, None, None
        self.inspector.clear()
        self.inspector.set_nodes(None, {})
        self.timeline.set_data([], [])
        self.run_info.setText("")
        if self.graph is not None:
            self.graph.show_flow(Flow("run"))
        self._update_actions()

    # -- actions ------------------------------------------------------------------------------
    def _node_status(self) -> str | None:
        node = self.inspector.node_id
        if not node or not self.run:
            return None
        return ((self.run.get("nodes") or {}).get(node) or {}).get("status")

    def _update_actions(self) -> None:
        status = (self.run or {}).get("status")
        active = status in ("pending", "running", "waiting")
        node_status = self._node_status()
        self.cancel_action.setEnabled(active)
        self.cancel_node_action.setEnabled(active and node_status in ("pending", "running",
                                                                      "waiting"))
        self.retry_action.setEnabled(status in ("failed", "cancelled"))
        self.again_action.setEnabled(self.run is not None)
        waiting_here = node_status == "waiting" and self.inspector.node_id is not None
        self.approve_action.setEnabled(waiting_here)
        self.reject_action.setEnabled(waiting_here)
        refusal = getattr(self.store, "refusal", None)
        if callable(refusal):  # a server's store: the user's role limits the actions
            from app.remote import restrict_monitor

            decide = getattr(self.store, "approval_refusal", None)
            restrict_monitor(self, refusal, (lambda: decide(self._approval_role()))
                             if callable(decide) else None)

    def _approval_role(self) -> str | None:
        """The ``role`` the selected approval node names in the run's snapshot, if any."""
        node_id = self.inspector.node_id
        if self.flow is None or not node_id or not self.flow.has_node(node_id):
            return None
        role = (self.flow.node(node_id).config or {}).get("role")
        return str(role) if role else None

    def _do(self, what: str, fn: Any, then: Any = None) -> None:
        """Run one store call off the GUI thread; a failure is one sentence, nothing lost."""
        def done(result: Any, error: str) -> None:
            if error:
                self.say(f"Cannot {what}: {error}")
            elif then is not None:
                then(result)

        self.background.call(fn, done)

    def _unowned(self, run_id: str) -> bool:
        """Whether no live executor owns the run (read in the worker thread)."""
        try:
            return not self.store.owner_is_alive(run_id)
        except Exception:  # noqa: BLE001 - when unsure, leave it to its owner
            return False

    def _continue(self, run_id: str, unowned: bool) -> None:
        """A waiting run whose executor has returned goes on here, in this app."""
        if unowned and run_id not in self.bridge.active_runs():
            self.bridge.execute(run_id)

    def cancel_run(self) -> None:
        run_id = self.run_id
        if not run_id:
            return
        store = self.store

        def cancelled(_r: Any) -> None:
            self.say(f"Cancel requested for run {run_id}.")
            self._detail_timer.start()

        self._do("cancel the run", lambda: store.request_cancel(run_id), cancelled)

    def cancel_node(self) -> None:
        node, run_id, store = self.inspector.node_id, self.run_id, self.store
        if not run_id or not node:
            return

        def work() -> bool:
            store.request_cancel(run_id, node)
            return self._unowned(run_id)

        def cancelled(unowned: bool) -> None:
            self.say(f"Cancel requested for node {node}.")
            self._continue(run_id, unowned)

        self._do(f"cancel node {node}", work, cancelled)

    def retry_failed(self) -> None:
        run_id, store = self.run_id, self.store
        if not run_id:
            return

        def retried(_r: Any) -> None:
            self.bridge.execute(run_id)
            self.say(f"Retrying the failed nodes of run {run_id}.")

        self._do("retry the run", lambda: store.retry_failed(run_id), retried)

    def run_again(self) -> None:
        if self.run_id is None or self.flow is None or self.run is None:
            return
        run_id, store = self.run_id, self.store
        flow, inputs = self.flow.copy(), dict(self.run.get("inputs") or {})

        def create() -> str:
            source = store.run_row(run_id).get("source")
            return str(store.create_run(flow, inputs, source=source,
                                        created_by=getpass.getuser()))

        def started(new_id: str) -> None:
            self.bridge.execute(new_id)
            self.model.load_new()
            self.select_run(new_id)
            self.say(f"Started run {new_id}.")

        self._do("start the run", create, started)

    def decide(self, approved: bool) -> None:
        node, run_id, store = self.inspector.node_id, self.run_id, self.store
        if not run_id or not node:
            return
        comment = self.comment.text().strip() or None
        verb = "approve" if approved else "reject"

        def work() -> bool:
            store.decide_approval(run_id, node, approved, getpass.getuser(), comment)
            return self._unowned(run_id)

        def decided(unowned: bool) -> None:
            self.comment.clear()
            self.say(f"{'Approved' if approved else 'Rejected'} {node}.")
            self._continue(run_id, unowned)
            self._detail_timer.start()

        self._do(f"{verb} {node}", work, decided)

    def closeEvent(self, event: QCloseEvent) -> None:
        self.model.wait_prefetch()
        self.loader.wait()
        self.background.wait()
        if self.settings is not None:
            self.settings.save_window("monitor", self.saveGeometry(), None)
        super().closeEvent(event)
