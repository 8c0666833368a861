"""Export a flow's diagram as PNG or SVG, from the editor or headless.

``flowdesk export FILE OUT.png|OUT.svg`` builds the same scene the canvas
shows (same items, same painting) and renders it into an image or through
QtSvg's QSvgGenerator, which keeps node names as ``<text>``. With no display it
switches Qt to the offscreen platform before any application object exists.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path

__all__ = ["ExportError", "export_main", "render_png", "render_svg", "scene_for_flow"]

PNG_SCALE = 1.5
MAX_PNG_SIDE = 16000
USAGE = "usage: flowdesk export FILE OUT.png|OUT.svg"


class ExportError(Exception):
    """An export that cannot be done; the message is one sentence."""


def _ensure_app() -> object:
    if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtWidgets import QApplication

    return QApplication.instance() or QApplication([sys.argv[0] if sys.argv else "flowdesk"])


def scene_for_flow(flow: object) -> object:
    """A :class:`FlowScene` for ``flow`` as the canvas would draw it (without the grid)."""
    from .document import FlowDocument
    from .scene import FlowScene

    document = FlowDocument(flow)  # type: ignore[arg-type]
    scene = FlowScene(document)
    scene.show_grid = False
    scene._export_document = document  # keep the document alive as long as the scene
    return scene


def _source_rect(scene: object) -> object:
    from PySide6.QtCore import QRectF

    rect = scene.nodes_bounding_rect()  # type: ignore[attr-defined]
    if rect.isEmpty():
        rect = QRectF(-100, -50, 200, 100)
    return rect.adjusted(-24, -24, 24, 24)


class _Uncached:
    """Turn item caches off while rendering (a cache would paint pixmaps, not vectors)
    and ask nodes for their full names rather than shortened ones."""

    def __init__(self, scene: object) -> None:
        self.scene = scene
        self.items = [(i, i.cacheMode()) for i in scene.items()]  # type: ignore[attr-defined]

    def __enter__(self) -> None:
        from PySide6.QtWidgets import QGraphicsItem

        self.scene.full_text = True  # type: ignore[attr-defined]
        for item, _ in self.items:
            item.setCacheMode(QGraphicsItem.CacheMode.NoCache)

    def __exit__(self, *exc: object) -> None:
        self.scene.full_text = False  # type: ignore[attr-defined]
        for item, mode in self.items:
            item.setCacheMode(mode)


def _check_writable(out: Path) -> None:
    parent = out.parent if str(out.parent) else Path(".")
    if not parent.is_dir():
        raise ExportError(f"{out}: the folder {parent} does not exist")
    if not os.access(parent, os.W_OK):
        raise ExportError(f"{out}: the folder {parent} is not writable")


def render_png(scene: object, out: str | os.PathLike[str], scale: float = PNG_SCALE) -> tuple[
        int, int]:
    """Render the scene's nodes and edges to a PNG; returns the image size in pixels."""
    from PySide6.QtCore import QRectF, Qt
    from PySide6.QtGui import QImage, QPainter

    path = Path(out)
    _check_writable(path)
    source = _source_rect(scene)
    scale = min(scale, MAX_PNG_SIDE / max(source.width(), source.height()))
    width, height = max(1, round(source.width() * scale)), max(1, round(source.height() * scale))
    image = QImage(width, height, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(Qt.GlobalColor.white)
    scene.clearSelection()  # type: ignore[attr-defined]
    painter = QPainter(image)
    painter.setRenderHints(QPainter.RenderHint.Antialiasing
                           | QPainter.RenderHint.TextAntialiasing
                           | QPainter.RenderHint.SmoothPixmapTransform)
    with _Uncached(scene):
        scene.render(painter, QRectF(0, 0, width, height), source)  # type: ignore[attr-defined]
    painter.end()
    if not image.save(str(path), "PNG"):
        raise ExportError(f"{path}: cannot write the PNG file")
    return width, height


def render_svg(scene: object, out: str | os.PathLike[str], title: str = "") -> None:
    """Render the scene to SVG; node names and edge labels stay text."""
    from PySide6.QtCore import QRectF, QSize
    from PySide6.QtGui import QPainter
    from PySide6.QtSvg import QSvgGenerator

    path = Path(out)
    _check_writable(path)
    source = _source_rect(scene)
    generator = QSvgGenerator()
    generator.setFileName(str(path))
    generator.setSize(QSize(round(source.width()), round(source.height())))
    generator.setViewBox(QRectF(0, 0, source.width(), source.height()))
    generator.setTitle(title or "Flowdesk flow")
    generator.setDescription("Exported by Flowdesk")
    scene.clearSelection()  # type: ignore[attr-defined]
    painter = QPainter()
    if not painter.begin(generator):
        raise ExportError(f"{path}: cannot write the SVG file")
    painter.setRenderHints(QPainter.RenderHint.Antialiasing
                           | QPainter.RenderHint.TextAntialiasing)
    with _Uncached(scene):
        scene.render(painter, QRectF(0, 0, source.width(), source.height()),  # type: ignore[attr-defined]
                     source)
    painter.end()
    if not path.exists():
        raise ExportError(f"{path}: cannot write the SVG file")


def export_flow(source: str | os.PathLike[str], out: str | os.PathLike[str]) -> str:
    """Export a flow file to ``out``; returns a one-line summary, raises ExportError."""
    from engine.flowfile import FlowFileError, load_flow

    out_path = Path(out)
    suffix = out_path.suffix.lower()
    if suffix not in (".png", ".svg"):
        raise ExportError(f"{out}: the output must end in .png or .svg")
    try:
        flow = load_flow(source)
    except FlowFileError as exc:
        raise ExportError(str(exc)) from None
    _ensure_app()
    scene = scene_for_flow(flow)
    if suffix == ".png":
        w, h = render_png(scene, out_path)
        return f"wrote {out_path} ({w}×{h} pixels, {len(flow)} nodes)"
    render_svg(scene, out_path, flow.name)
    return f"wrote {out_path} ({len(flow)} nodes)"


def export_main(argv: Sequence[str]) -> int:
    """``flowdesk export FILE OUT.png|OUT.svg``: exit 0, or 2 with one sentence on stderr."""
    args = list(argv)
    if args and args[0] in ("-h", "--help"):
        print(USAGE)
        print("Draws the flow as the designer does (no display needed).")
        return 0
    if len(args) != 2:
        print(f"error: export takes a flow file and an output file ({USAGE})", file=sys.stderr)
        return 2
    try:
        summary = export_flow(args[0], args[1])
    except ExportError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(summary)
    return 0


if __name__ == "__main__":
    sys.exit(export_main(sys.argv[1:]))
