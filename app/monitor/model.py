"""The run list as a Qt table model that fetches pages lazily.

Only the rows scrolled into view are ever fetched (``canFetchMore`` /
``fetchMore``, pages of :data:`PAGE`), so a store with tens of thousands of
runs opens at once and scrolls smoothly. Events from the bridge update rows in
place and bring in new runs at the top without a reset.

A refresh (another store, other filters) reads the first page and the count in a
thread: a far PostgreSQL server or a Flowdesk server must not freeze the window.
The list is empty and :attr:`RunListModel.loading` is true meanwhile;
``refreshed`` says when the rows are in (``refreshFailed`` says why not).
"""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QPersistentModelIndex,
    Qt,
    Signal,
    Slot,
)
from PySide6.QtGui import QColor

from app.monitor.timefmt import duration, local_time, span
from engine.errors import describe_exception

if TYPE_CHECKING:
    from engine.runs import RunStore

PAGE = 500
COLUMNS = ("Flow", "Status", "Started", "Duration", "Who", "Run")
STATUSES = ("pending", "running", "waiting", "succeeded", "failed", "cancelled")
FINAL = ("succeeded", "failed", "cancelled")
STATUS_COLOURS = {
    "pending": "#808080", "running": "#1e88e5", "waiting": "#f9a825",
    "succeeded": "#2e7d32", "failed": "#c62828", "cancelled": "#6d4c41",
    "skipped": "#9e9e9e",
}

Index = QModelIndex | QPersistentModelIndex


class RunListModel(QAbstractTableModel):
    """Runs of one store, newest first, filtered by status, flow and a search text."""

    refreshed = Signal()
    refreshFailed = Signal(str)
    _firstPage = Signal(int, object, str)

    def __init__(self, store: RunStore | None = None, parent: Any = None) -> None:
        super().__init__(parent)
        self.loading = False  # a refresh's first page is being read in a thread
        self._refresh_id = 0
        self._loader: threading.Thread | None = None
        self._held: list[list[dict[str, Any]]] = []  # events seen while loading
        self._firstPage.connect(self._first_page, Qt.ConnectionType.QueuedConnection)
        self.store = store
        self.rows: list[dict[str, Any]] = []
        self.row_of: dict[str, int] = {}
        self.filters: dict[str, str | None] = {"status": None, "flow": None, "search": None}
        self._exhausted = True
        self.total = 0
        # The next page, read ahead in a thread so scrolling never waits for the store.
        self._lock = threading.Lock()
        self._generation = 0
        self._prefetched: tuple[tuple[Any, ...], list[dict[str, Any]]] | None = None
        self._prefetcher: threading.Thread | None = None

    # -- loading ------------------------------------------------------------
    def set_store(self, store: RunStore | None) -> None:
        self.wait_prefetch()
        self.store = store
        self.refresh()

    def wait_prefetch(self, timeout: float = 10.0) -> None:
        """Let a read-ahead and a refresh's read finish (before the store is closed)."""
        if self._prefetcher is not None:
            self._prefetcher.join(timeout)
            self._prefetcher = None
        if self._loader is not None:
            self._loader.join(timeout)

    def set_filters(self, *, status: str | None = None, flow: str | None = None,
                    search: str | None = None) -> None:
        self.filters = {"status": status or None, "flow": flow or None,
                        "search": search or None}
        self.refresh()

    def _query(self, limit: int, offset: int) -> list[dict[str, Any]]:
        assert self.store is not None
        return self.store.list_runs(limit=limit, offset=offset, **self.filters)

    def _page_key(self) -> tuple[Any, ...]:
        return (self._generation, len(self.rows), tuple(self.filters.values()))

    def _prefetch(self) -> None:
        """Read the page after the loaded rows in a background thread."""
        if self._exhausted or self.store is None:
            return
        if self._prefetcher is not None and self._prefetcher.is_alive():
            return
        key = self._page_key()
        store, filters = self.store, dict(self.filters)

        def work() -> None:
            try:
                page = store.list_runs(limit=PAGE, offset=key[1], **filters)
            except Exception:  # noqa: BLE001 - fetchMore reads it again and reports
                return
            with self._lock:
                self._prefetched = (key, page)

        self._prefetcher = threading.Thread(target=work, name="flowdesk-prefetch",
                                            daemon=True)
        self._prefetcher.start()

    def _next_page(self) -> list[dict[str, Any]]:
        with self._lock:
            ready, self._prefetched = self._prefetched, None
        if ready is not None and ready[0] == self._page_key():
            return ready[1]
        return self._query(PAGE, len(self.rows))

    def refresh(self) -> None:
        """Drop every row and read the first page and the count again, in a thread."""
        self._generation += 1
        self._refresh_id += 1
        with self._lock:
            self._prefetched = None
        self.beginResetModel()
        self.rows, self.row_of = [], {}
        self._exhausted = True
        self.total = 0
        self.endResetModel()
        self._held = []
        if self.store is None:
            self.loading = False
            self.refreshed.emit()
            return
        self.loading = True
        refresh_id, store, filters = self._refresh_id, self.store, dict(self.filters)

        def work() -> None:
            try:
                page = store.list_runs(limit=PAGE, offset=0, **filters)
                result, error = (page, store.count_runs(**filters)), ""
            except Exception as exc:  # noqa: BLE001 - one sentence in the monitor
                result, error = None, describe_exception(exc)
            self._firstPage.emit(refresh_id, result, error)

        self._loader = threading.Thread(target=work, name="flowdesk-list", daemon=True)
        self._loader.start()

    @Slot(int, object, str)
    def _first_page(self, refresh_id: int, result: object, error: str) -> None:
        if refresh_id != self._refresh_id:
            return  # a newer refresh is under way
        self._loader = None
        self.loading = False
        held, self._held = self._held, []
        if result is None:
            self.refreshFailed.emit(error)
            self.refreshed.emit()
            return
        page, total = result  # type: ignore[misc]
        self.beginResetModel()
        self._append(page)
        self._exhausted = len(page) < PAGE
        self.total = int(total)
        self.endResetModel()
        for batch in held:  # what changed while the page was being read
            self.apply_events(batch)
        self._prefetch()
        self.refreshed.emit()

    def _append(self, page: list[dict[str, Any]]) -> None:
        for run in page:
            if run["run_id"] in self.row_of:
                continue
            self.row_of[run["run_id"]] = len(self.rows)
            self.rows.append(dict(run))

    def canFetchMore(self, parent: Index = QModelIndex()) -> bool:  # noqa: B008
        return not parent.isValid() and not self._exhausted

    def fetchMore(self, parent: Index = QModelIndex()) -> None:  # noqa: B008
        if parent.isValid() or self._exhausted or self.store is None:
            return
        fetched = self._next_page()
        page = [r for r in fetched if r["run_id"] not in self.row_of]
        if not page:
            self._exhausted = True
            return
        first = len(self.rows)
        self.beginInsertRows(QModelIndex(), first, first + len(page) - 1)
        self._append(page)
        self.endInsertRows()
        self._exhausted = len(fetched) < PAGE
        self._prefetch()

    # -- live updates ------------------------------------------------------------
    def apply_events(self, batch: list[dict[str, Any]]) -> None:
        """Update rows from store events; runs not listed yet are fetched and put on top."""
        if self.loading:  # applied once the first page is in
            self._held.append(batch)
            return
        unknown = False
        changed: set[int] = set()
        for ev in batch:
            if ev["type"] != "run_status":
                continue
            row = self.row_of.get(ev["run_id"])
            if row is None:
                # a new run, or one that now matches the filters: look at the newest
                unknown = True
                continue
            run = self.rows[row]
            data = ev.get("data") or {}
            status = data.get("status")
            if status:
                run.pop("_display", None)
                run["status"] = status
                if status == "running" and not run.get("started_at"):
                    run["started_at"] = ev["ts"]
                if status in FINAL:
                    run["finished_at"] = ev["ts"]
                elif status in ("running", "pending"):
                    run["finished_at"] = None
            changed.add(row)
        for row in changed:
            self.dataChanged.emit(self.index(row, 0), self.index(row, len(COLUMNS) - 1))
        if unknown:
            self.load_new()

    def load_new(self) -> None:
        """Insert runs newer than what is listed (started elsewhere or just now)."""
        if self.store is None:
            return
        fresh = [r for r in self._query(100, 0) if r["run_id"] not in self.row_of]
        if not fresh:
            return
        self.beginInsertRows(QModelIndex(), 0, len(fresh) - 1)
        self._generation += 1  # offsets moved: a read-ahead page would be off
        self.rows[0:0] = [dict(r) for r in fresh]
        self.row_of = {r["run_id"]: i for i, r in enumerate(self.rows)}
        self.total += len(fresh)
        self.endInsertRows()

    def tick(self) -> None:
        """Repaint the duration of unfinished runs (called about once a second)."""
        for row, run in enumerate(self.rows):
            if run.get("status") in ("running", "waiting"):
                idx = self.index(row, 3)
                self.dataChanged.emit(idx, idx)

    # -- the table -----------------------------------------------------------------
    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section]
        return None

    def run_at(self, row: int) -> dict[str, Any]:
        return self.rows[row]

    def run_id_at(self, row: int) -> str:
        return str(self.rows[row]["run_id"])

    def _display(self, run: dict[str, Any]) -> tuple[str, ...]:
        """The row's texts, computed once per change (scrolling asks for them a lot)."""
        cached = run.get("_display")
        if cached is not None:
            return cached  # type: ignore[no-any-return]
        finished = run.get("finished_at") is not None or run.get("status") in FINAL
        texts = (str(run.get("flow_name", "")), str(run.get("status", "")),
                 local_time(run.get("started_at") or run.get("created_at")),
                 duration(span(run.get("started_at"), run.get("finished_at"), time.time())),
                 str(run.get("created_by") or ""), str(run["run_id"])[:12])
        if finished or not run.get("started_at"):
            run["_display"] = texts
        return texts

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if role == _DISPLAY:
            row = index.row()
            if 0 <= row < len(self.rows):
                return self._display(self.rows[row])[index.column()]
            return None
        if not index.isValid() or index.row() >= len(self.rows):
            return None
        run = self.rows[index.row()]
        col = index.column()
        if role == _FOREGROUND and col == 1:
            return _colour(run.get("status", ""))
        if (role == _TOOLTIP and col == 5) or role == _USER:
            return str(run["run_id"])
        return None


_DISPLAY = Qt.ItemDataRole.DisplayRole
_FOREGROUND = Qt.ItemDataRole.ForegroundRole
_TOOLTIP = Qt.ItemDataRole.ToolTipRole
_USER = Qt.ItemDataRole.UserRole
_COLOURS: dict[str, QColor] = {}


def _colour(status: str) -> QColor:
    colour = _COLOURS.get(status)
    if colour is None:
        colour = _COLOURS[status] = QColor(STATUS_COLOURS.get(status, "#808080"))
    return colour
