"""Canvas items: nodes, their ports, and edges. Items draw the model; they never own it.

An item keeps only what it needs to paint (an id, a label, a kind) and is
refreshed by :class:`designer.scene.FlowScene` when the model announces a
change. Painting is kept cheap for flows of thousands of nodes: fixed-size
node boxes, a device-coordinate cache on nodes, edge paths computed once per
move rather than once per paint, and tight bounding rectangles.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import (
    QBrush,
    QColor,
    QFont,
    QFontMetricsF,
    QPainter,
    QPainterPath,
    QPainterPathStroker,
    QPen,
    QPolygonF,
)
from PySide6.QtWidgets import QGraphicsItem, QStyleOptionGraphicsItem, QWidget

from engine.kinds import KINDS
from engine.model import Edge, Node

from .icons import kind_color, paint_kind_icon
from .layout import NODE_H, NODE_W

if TYPE_CHECKING:
    from .scene import FlowScene

__all__ = ["EDGE_STYLES", "STATUS_COLORS", "EdgeItem", "NodeItem", "PortItem", "edge_style"]

STATUS_COLORS = {
    "pending": "#9e9e9e", "running": "#1e88e5", "waiting": "#f9a825",
    "succeeded": "#43a047", "failed": "#e53935", "skipped": "#bdbdbd",
    "cancelled": "#6d4c41", "interrupted": "#8e24aa",
}
PROBLEM_COLORS = {"error": "#d32f2f", "warning": "#f9a825"}
SELECTION_COLOR = QColor("#1976d2")
PORT_RADIUS = 5.0
LOW_DETAIL_ZOOM = 0.4  # below this scale nodes are plain boxes and edges plain curves
MARGIN = 14.0  # room around the box for ports, outlines and badges

_NAME_FONT = QFont()
_NAME_FONT.setPointSizeF(9.0)
_NAME_FONT.setBold(True)
_SMALL_FONT = QFont()
_SMALL_FONT.setPointSizeF(7.5)


def _elide(text: str, font: QFont, width: float) -> str:
    return QFontMetricsF(font).elidedText(text, Qt.TextElideMode.ElideRight, width)


def _draw_line(painter: QPainter, rect: QRectF, text: str, font: QFont,
               full_text: bool) -> None:
    """One line of text in ``rect``: shortened with … on the canvas; for an export
    (``full_text``) the whole text, clipped, so an SVG keeps every name in full."""
    painter.setFont(font)
    align = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter
    short = _elide(text, font, rect.width())
    if short == text or not full_text:
        painter.drawText(rect, align, short)
        return
    painter.save()
    painter.setClipRect(rect)
    painter.drawText(rect, align, text)
    painter.restore()


PORT_OFFSETS = {"in": QPointF(-NODE_W / 2, 0), "out": QPointF(NODE_W / 2, 0),
                "error": QPointF(NODE_W / 2 - 18, NODE_H / 2)}


class PortItem(QGraphicsItem):
    """A connection point on a node: ``in`` (left), ``out`` (right) or ``error`` (bottom).

    Dragging from ``out`` draws an ordinary edge, from ``error`` an ``on: error`` edge.
    """

    def __init__(self, node_item: NodeItem, role: str) -> None:
        super().__init__(node_item)
        self.node_item, self.role = node_item, role
        self.setPos(PORT_OFFSETS[role])
        # No tooltip, cursor or cache per port: thousands of nodes load faster without
        # them, the node's tooltip shows through, and a dot is cheap to draw.

    def boundingRect(self) -> QRectF:  # noqa: N802
        r = PORT_RADIUS + 3
        return QRectF(-r, -r, 2 * r, 2 * r)

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem,
              widget: QWidget | None = None) -> None:
        color = QColor(PROBLEM_COLORS["error"]) if self.role == "error" else QColor("#546e7a")
        painter.setPen(QPen(color, 1.5))
        painter.setBrush(QBrush(color if self.role == "out" else QColor("white")))
        radius = PORT_RADIUS - 1 if self.role == "error" else PORT_RADIUS
        if option.levelOfDetailFromTransform(painter.worldTransform()) < LOW_DETAIL_ZOOM:
            return  # too small to grab or see
        painter.drawEllipse(QPointF(0, 0), radius, radius)


class NodeItem(QGraphicsItem):
    """One node box: the kind's icon and colour, the name, ports, markers and run badges."""

    Type = QGraphicsItem.UserType + 1

    def __init__(self, node: Node) -> None:
        super().__init__()
        self.node_id = node.id
        self.kind = node.kind
        self.name = node.label
        self.edges: set[EdgeItem] = set()
        self.problem: tuple[str, str] | None = None
        self.run_state: tuple[str, int, float | None] | None = None
        self.drop_hint: bool | None = None  # while an edge is dragged over: allowed or not
        spec = KINDS.get(node.kind)
        self.ports: dict[str, PortItem] = {}
        if spec is None or spec.has_input:
            self.ports["in"] = PortItem(self, "in")
        if spec is None or spec.has_output:
            self.ports["out"] = PortItem(self, "out")
            if node.kind != "start":
                self.ports["error"] = PortItem(self, "error")
        self.setFlags(QGraphicsItem.GraphicsItemFlag.ItemIsSelectable
                      | QGraphicsItem.GraphicsItemFlag.ItemIsMovable)
        self.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
        self.setAcceptHoverEvents(False)
        self.setZValue(1)
        self._update_tooltip()

    def type(self) -> int:
        return self.Type

    # -- updates from the scene -----------------------------------------------
    def refresh(self, node: Node) -> None:
        """Take the node's id, kind and name again (after a rename or an edit)."""
        self.node_id, self.name = node.id, node.label
        self._update_tooltip()
        self.update()

    def _update_tooltip(self) -> None:
        spec = KINDS.get(self.kind)
        lines = [f"{self.name} ({self.node_id})", spec.title if spec else f"unknown kind "
                 f"'{self.kind}'"]
        if self.problem:
            lines.append(f"{self.problem[0]}: {self.problem[1]}")
        if self.run_state:
            status, attempts, duration = self.run_state
            lines.append(f"{status}, {attempts} attempt(s)"
                         + (f", {duration:.2f} s" if duration is not None else ""))
        self.setToolTip("\n".join(lines))

    def set_problem(self, severity: str | None, message: str = "") -> None:
        """Mark the node with an ``error`` or ``warning`` (``None`` clears it)."""
        if severity not in (None, "error", "warning"):
            raise ValueError(f"severity must be 'error', 'warning' or None, not {severity!r}")
        self.problem = (severity, message) if severity else None
        self._update_tooltip()
        self.update()

    def set_run_state(self, status: str | None, attempts: int = 0,
                      duration_s: float | None = None) -> None:
        """Show a run's state on the node (colour, attempts, duration); ``None`` clears it."""
        self.run_state = (status, attempts, duration_s) if status else None
        self._update_tooltip()
        self.update()

    def set_drop_hint(self, allowed: bool | None) -> None:
        """Outline the node green (an edge may end here) or red (it may not); None clears."""
        if allowed != self.drop_hint:
            self.drop_hint = allowed
            self.update()

    def port_scene_pos(self, role: str) -> QPointF:
        """Where an edge attaches (nodes are never rotated or scaled, so no mapping)."""
        if role == "error" and "error" not in self.ports:
            role = "out"
        return self.pos() + PORT_OFFSETS[role]

    # -- geometry and painting --------------------------------------------------
    def boundingRect(self) -> QRectF:  # noqa: N802
        return QRectF(-NODE_W / 2 - MARGIN, -NODE_H / 2 - MARGIN,
                      NODE_W + 2 * MARGIN, NODE_H + 2 * MARGIN)

    def body_rect(self) -> QRectF:
        return QRectF(-NODE_W / 2, -NODE_H / 2, NODE_W, NODE_H)

    def shape(self) -> QPainterPath:
        path = QPainterPath()
        path.addRoundedRect(self.body_rect(), 6, 6)
        return path

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem,
              widget: QWidget | None = None) -> None:
        body = self.body_rect()
        color = kind_color(self.kind)
        fill = QColor("white")
        if self.run_state:
            fill = QColor(STATUS_COLORS.get(self.run_state[0], "#9e9e9e")).lighter(185)
        if option.levelOfDetailFromTransform(painter.worldTransform()) < LOW_DETAIL_ZOOM:
            self._paint_low_detail(painter, body, color, fill)
            return
        border = QPen(color.darker(115), 1.4)
        if self.isSelected():
            border = QPen(SELECTION_COLOR, 2.6)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        if self.problem:
            painter.setPen(QPen(QColor(PROBLEM_COLORS[self.problem[0]]), 2.2,
                                Qt.PenStyle.DashLine))
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawRoundedRect(body.adjusted(-5, -5, 5, 5), 9, 9)
        if self.drop_hint is not None:
            painter.setPen(QPen(QColor("#43a047" if self.drop_hint else "#e53935"), 4))
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawRoundedRect(body.adjusted(-3, -3, 3, 3), 8, 8)
        painter.setPen(border)
        painter.setBrush(fill)
        painter.drawRoundedRect(body, 6, 6)
        stripe = QRectF(body.left(), body.top(), 5, body.height())
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(color)
        painter.drawRect(stripe.adjusted(1, 6, 0, -6))
        paint_kind_icon(painter, QRectF(body.left() + 10, -11, 22, 22), self.kind)
        text_left = body.left() + 38
        text_w = body.right() - text_left - 6
        painter.setPen(QColor("#212121"))
        painter.setFont(_NAME_FONT)
        full_text = bool(getattr(self.scene(), "full_text", False))
        _draw_line(painter, QRectF(text_left, body.top() + 6, text_w, 18), self.name,
                   _NAME_FONT, full_text)
        painter.setFont(_SMALL_FONT)
        painter.setPen(QColor("#757575"))
        spec = KINDS.get(self.kind)
        subtitle = spec.title if spec else f"unknown kind '{self.kind}'"
        if self.name != self.node_id:
            subtitle = f"{self.node_id} · {subtitle}"
        _draw_line(painter, QRectF(text_left, body.top() + 25, text_w, 15), subtitle,
                   _SMALL_FONT, full_text)
        if self.problem:
            self._paint_problem_badge(painter, body)
        if self.run_state:
            self._paint_run_badge(painter, body)

    def _paint_low_detail(self, painter: QPainter, body: QRectF, color: QColor,
                          fill: QColor) -> None:
        """Zoomed far out: a box in the kind's colour, framed by state, selection or problem."""
        frame = color
        if self.problem:
            frame = QColor(PROBLEM_COLORS[self.problem[0]])
        if self.isSelected():
            frame = SELECTION_COLOR
        painter.setPen(QPen(frame, 6 if self.isSelected() or self.problem else 2))
        painter.setBrush(fill if self.run_state else color.lighter(160))
        painter.drawRect(body)

    def _paint_problem_badge(self, painter: QPainter, body: QRectF) -> None:
        assert self.problem is not None
        centre = QPointF(body.left() + 2, body.top() + 2)
        painter.setPen(QPen(QColor("white"), 1))
        painter.setBrush(QColor(PROBLEM_COLORS[self.problem[0]]))
        painter.drawEllipse(centre, 7, 7)
        painter.setFont(_NAME_FONT)
        painter.drawText(QRectF(centre.x() - 7, centre.y() - 7, 14, 14),
                         Qt.AlignmentFlag.AlignCenter, "!")

    def _paint_run_badge(self, painter: QPainter, body: QRectF) -> None:
        assert self.run_state is not None
        status, attempts, duration = self.run_state
        parts = [status]
        if attempts > 1:
            parts.append(f"×{attempts}")
        if duration is not None:
            parts.append(f"{duration:.1f}s" if duration < 100 else f"{duration:.0f}s")
        text = " ".join(parts)
        width = QFontMetricsF(_SMALL_FONT).horizontalAdvance(text) + 10
        rect = QRectF(body.right() - width + 6, body.top() - 11, width, 15)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor(STATUS_COLORS.get(status, "#9e9e9e")))
        painter.drawRoundedRect(rect, 7, 7)
        painter.setPen(QColor("white"))
        painter.setFont(_SMALL_FONT)
        painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, text)

    # -- interaction --------------------------------------------------------------
    # No itemChange override: a Python call per item change made loading thousands of
    # nodes slow. The scene moves edges and snaps to the grid itself (see FlowScene).
    def move_edges(self) -> None:
        """Let the attached edges follow this node after it moved."""
        for edge in self.edges:
            edge.update_path()

    def flow_scene(self) -> FlowScene | None:
        return self.scene()  # type: ignore[return-value]


def edge_style(edge: Edge) -> tuple[QColor, Qt.PenStyle, str]:
    """Colour, dash pattern and label text that tell the edge kinds apart."""
    if edge.is_error:
        color, dash, text = QColor("#c62828"), Qt.PenStyle.DashLine, "on error"
    elif edge.is_default:
        color, dash, text = QColor("#5d4037"), Qt.PenStyle.DashDotLine, "default"
    elif edge.when is not None:
        color, dash, text = QColor("#ef6c00"), Qt.PenStyle.SolidLine, f"when {edge.when}"
    else:
        color, dash, text = QColor("#546e7a"), Qt.PenStyle.SolidLine, ""
    if edge.label:
        text = f"{edge.label} ({text})" if text else edge.label
    if len(text) > 48:
        text = text[:47] + "…"
    return color, dash, text


EDGE_STYLES = ("plain", "when", "default", "error")


class EdgeItem(QGraphicsItem):
    """A curved arrow from a node's output (or error) port to another node's input."""

    Type = QGraphicsItem.UserType + 2

    def __init__(self, edge: Edge, source: NodeItem, target: NodeItem) -> None:
        super().__init__()
        self.edge = edge
        self.key = edge.key
        self.source: NodeItem | None = None
        self.target: NodeItem | None = None
        self.problem: tuple[str, str] | None = None
        self._ends = (QPointF(), QPointF())
        self._path: QPainterPath | None = None
        self._shape: QPainterPath | None = None
        self._label_rect = QRectF()
        self._bounds = QRectF()
        self.setFlags(QGraphicsItem.GraphicsItemFlag.ItemIsSelectable)
        # Antialiased (dashed) curves are the costliest paint on the canvas; with a
        # cache a repaint is a blit unless this edge itself changed.
        self.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
        self.setZValue(0)
        self.restyle()
        self.attach(source, target)

    def type(self) -> int:
        return self.Type

    def attach(self, source: NodeItem, target: NodeItem) -> None:
        if self.source is not None:
            self.source.edges.discard(self)
        if self.target is not None:
            self.target.edges.discard(self)
        self.source, self.target = source, target
        source.edges.add(self)
        target.edges.add(self)
        self.update_path()

    def detach(self) -> None:
        for end in (self.source, self.target):
            if end is not None:
                end.edges.discard(self)

    def restyle(self) -> None:
        self.color, self.dash, self.text = edge_style(self.edge)
        tip = f"{self.edge.source} → {self.edge.target}"
        if self.text:
            tip += f"\n{self.text}"
        if self.problem:
            tip += f"\n{self.problem[0]}: {self.problem[1]}"
        self.setToolTip(tip)
        if self.source is not None:
            self.update_path()

    def set_problem(self, severity: str | None, message: str = "") -> None:
        if severity not in (None, "error", "warning"):
            raise ValueError(f"severity must be 'error', 'warning' or None, not {severity!r}")
        self.problem = (severity, message) if severity else None
        self.restyle()
        self.update()

    def start_point(self) -> QPointF:
        assert self.source is not None
        return self.source.port_scene_pos("error" if self.edge.is_error else "out")

    def end_point(self) -> QPointF:
        assert self.target is not None
        return self.target.port_scene_pos("in")

    def update_path(self) -> None:
        """Recompute the bounds and label box (called when an end moves).

        The curve's control points bound it (a Bezier stays in their hull), and its
        midpoint has a closed form, so no QPainterPath is built until the edge is
        painted or hit-tested: opening a big flow builds none for edges off screen.
        """
        self.prepareGeometryChange()
        p1, p2 = self.start_point(), self.end_point()
        self._ends = (p1, p2)
        self._path = None
        self._shape = None
        c1, c2 = control_points(p1, p2, self.edge.is_error)
        xs = (p1.x(), c1.x(), c2.x(), p2.x())
        ys = (p1.y(), c1.y(), c2.y(), p2.y())
        bounds = QRectF(min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys))
        bounds = bounds.united(QRectF(p2.x() - ARROW, p2.y() - ARROW, ARROW, 2 * ARROW))
        if self.text:
            mid = (p1 + 3 * c1 + 3 * c2 + p2) / 8  # the curve at t = 0.5
            w = QFontMetricsF(_SMALL_FONT).horizontalAdvance(self.text) + 8
            self._label_rect = QRectF(mid.x() - w / 2, mid.y() - 16, w, 14)
            bounds = bounds.united(self._label_rect)
        else:
            self._label_rect = QRectF()
        self._bounds = bounds.adjusted(-6, -6, 6, 6)
        self.update()

    def path(self) -> QPainterPath:
        """The curve from the output port to the input port (built on first use)."""
        if self._path is None:
            p1, p2 = self._ends
            self._path = curve(p1, p2, downward=self.edge.is_error)
        return self._path

    def boundingRect(self) -> QRectF:  # noqa: N802
        return self._bounds

    def shape(self) -> QPainterPath:
        if self._shape is None:
            stroker = QPainterPathStroker()
            stroker.setWidth(10)
            self._shape = stroker.createStroke(self.path())
        return self._shape

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem,
              widget: QWidget | None = None) -> None:
        color = SELECTION_COLOR if self.isSelected() else self.color
        if self.problem:
            color = QColor(PROBLEM_COLORS[self.problem[0]])
        width = 2.6 if self.isSelected() or self.problem else 1.6
        if option.levelOfDetailFromTransform(painter.worldTransform()) < LOW_DETAIL_ZOOM:
            painter.setPen(QPen(color, 0))  # cosmetic hairline, no label
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawPath(self.path())
            return
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(QPen(color, width, self.dash, Qt.PenCapStyle.RoundCap))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawPath(self.path())
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(color)
        painter.drawPolygon(arrow_head(self._ends[1]))
        if self.text:
            painter.setBrush(QColor(255, 255, 255, 225))
            painter.drawRoundedRect(self._label_rect, 4, 4)
            painter.setPen(color)
            painter.setFont(_SMALL_FONT)
            painter.drawText(self._label_rect, Qt.AlignmentFlag.AlignCenter, self.text)


ARROW = 9.0


def control_points(p1: QPointF, p2: QPointF, downward: bool = False) -> tuple[QPointF, QPointF]:
    """The cubic's inner control points: leave horizontally (down for error edges), enter
    horizontally from the left."""
    dx = max(40.0, abs(p2.x() - p1.x()) * 0.5)
    c1 = QPointF(p1.x(), p1.y() + dx) if downward else QPointF(p1.x() + dx, p1.y())
    return c1, QPointF(p2.x() - dx, p2.y())


def curve(p1: QPointF, p2: QPointF, downward: bool = False) -> QPainterPath:
    """A smooth cubic from an output to an input."""
    c1, c2 = control_points(p1, p2, downward)
    path = QPainterPath(p1)
    path.cubicTo(c1, c2, p2)
    return path


def arrow_head(end: QPointF, size: float = ARROW) -> QPolygonF:
    """Every curve enters its input port horizontally, so the head always points right."""
    return QPolygonF([end, QPointF(end.x() - size, end.y() - size * 0.45),
                      QPointF(end.x() - size, end.y() + size * 0.45)])
