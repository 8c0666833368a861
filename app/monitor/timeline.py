"""A Gantt chart of node attempts, painted by hand in one small widget.

One row per node (in the flow's order), one bar per attempt from its start to
its end (or to now while running), coloured by the attempt's status.
"""

from __future__ import annotations

import time
from typing import Any

from PySide6.QtCore import QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QMouseEvent, QPainter, QPaintEvent, QPalette
from PySide6.QtWidgets import QSizePolicy, QWidget

from app.monitor.model import STATUS_COLOURS
from app.monitor.timefmt import duration, to_epoch

ROW_H = 20
LABEL_W = 120
ATTEMPT_COLOURS = dict(STATUS_COLOURS, interrupted="#8e24aa")


class TimelineWidget(QWidget):
    """Paints ``attempts`` (dicts with node_id, attempt, status, started_at, finished_at)."""

    nodeClicked = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.nodes: list[str] = []
        self.attempts: list[dict[str, Any]] = []
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self.setMouseTracking(True)

    def set_data(self, nodes: list[str], attempts: list[dict[str, Any]]) -> None:
        self.nodes = list(nodes)
        for a in attempts:
            if a.get("node_id") not in self.nodes:
                self.nodes.append(a["node_id"])
        self.attempts = list(attempts)
        self.updateGeometry()
        self.update()

    def sizeHint(self) -> QSize:
        return QSize(400, max(60, ROW_H * (len(self.nodes) + 1) + 8))

    def minimumSizeHint(self) -> QSize:
        return QSize(200, 60)

    def _range(self) -> tuple[float, float]:
        now = time.time()
        starts = [to_epoch(a.get("started_at")) for a in self.attempts]
        ends = [to_epoch(a.get("finished_at")) or now for a in self.attempts]
        known = [s for s in starts if s is not None]
        if not known:
            return now, now + 1
        t0, t1 = min(known), max(ends)
        return t0, max(t1, t0 + 0.001)

    def bars(self) -> list[tuple[str, int, QRectF, str]]:
        """(node_id, attempt, rectangle, status) of every bar, as painted."""
        t0, t1 = self._range()
        width = max(10.0, self.width() - LABEL_W - 10)
        now = time.time()
        out = []
        for a in self.attempts:
            start = to_epoch(a.get("started_at"))
            if start is None:
                continue
            end = to_epoch(a.get("finished_at")) or now
            row = self.nodes.index(a["node_id"])
            x = LABEL_W + (start - t0) / (t1 - t0) * width
            w = max(2.0, (end - start) / (t1 - t0) * width)
            rect = QRectF(x, 4 + row * ROW_H + 3, w, ROW_H - 6)
            out.append((a["node_id"], int(a.get("attempt") or 0), rect, str(a.get("status"))))
        return out

    def paintEvent(self, _event: QPaintEvent) -> None:
        painter = QPainter(self)
        palette = self.palette()
        painter.fillRect(self.rect(), palette.color(QPalette.ColorRole.Base))
        text = palette.color(QPalette.ColorRole.Text)
        painter.setPen(text)
        for row, node in enumerate(self.nodes):
            painter.drawText(QRectF(4, 4 + row * ROW_H, LABEL_W - 8, ROW_H),
                             Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft, node)
        for _node, _attempt, rect, status in self.bars():
            painter.fillRect(rect, QColor(ATTEMPT_COLOURS.get(status, "#808080")))
        if self.attempts:
            t0, t1 = self._range()
            painter.setPen(text)
            y = 4 + len(self.nodes) * ROW_H
            painter.drawText(QRectF(LABEL_W, y, self.width() - LABEL_W - 10, ROW_H),
                             Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
                             f"total {duration(t1 - t0)}")
        painter.end()

    def mousePressEvent(self, event: QMouseEvent) -> None:
        row = int((event.position().y() - 4) // ROW_H)
        if 0 <= row < len(self.nodes):
            self.nodeClicked.emit(self.nodes[row])
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        pos = event.position()
        for node, attempt, rect, status in self.bars():
            if rect.contains(pos):
                match = next((a for a in self.attempts if a["node_id"] == node
                              and int(a.get("attempt") or 0) == attempt), {})
                start, end = to_epoch(match.get("started_at")), to_epoch(match.get("finished_at"))
                took = duration(end - start) if start is not None and end is not None else "…"
                tip = f"{node} attempt {attempt}: {status}, {took}"
                if match.get("error"):
                    tip += f"\n{match['error']}"
                self.setToolTip(tip)
                break
        else:
            self.setToolTip("")
        super().mouseMoveEvent(event)
