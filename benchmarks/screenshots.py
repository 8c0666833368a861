"""Regenerate the editor's screenshots in docs/images/ (offscreen, no display needed).

    .venv/bin/python benchmarks/screenshots.py [OUT_DIR]

Builds the same window as ``python -m designer``, opens an example flow, and
grabs the window and its panels with ``QWidget.grab()``. Prints each file it
writes with its size in pixels.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import Qt  # noqa: E402
from PySide6.QtTest import QTest  # noqa: E402
from PySide6.QtWidgets import QApplication, QWidget  # noqa: E402

EXAMPLE = ROOT / "resources" / "examples" / "retry-and-error-edges.flow.json"


def _save(widget: QWidget, out: Path) -> None:
    QTest.qWait(400)  # let debounced work (validation, the minimap's redraw) finish
    pixmap = widget.grab()
    if not pixmap.save(str(out)):
        raise SystemExit(f"cannot write {out}")
    print(f"{out.relative_to(ROOT) if out.is_relative_to(ROOT) else out}: "
          f"{pixmap.width()}x{pixmap.height()}")


def main(argv: list[str]) -> int:
    out_dir = Path(argv[0]) if argv else ROOT / "docs" / "images"
    out_dir.mkdir(parents=True, exist_ok=True)
    app = QApplication.instance() or QApplication(["screenshots"])
    from designer.__main__ import DesignerWindow

    window = DesignerWindow()
    window.resize(1400, 860)
    window.show()
    QTest.qWaitForWindowExposed(window)
    window.resizeDocks([window.problems_dock], [170], Qt.Orientation.Vertical)
    window.resizeDocks([window.properties_dock], [400], Qt.Orientation.Horizontal)
    editor = window.editor
    if not editor.open_flow(EXAMPLE):
        raise SystemExit(f"cannot open {EXAMPLE}")
    editor.view.zoom_to_fit()
    first_work = next((n.id for n in editor.flow.nodes if n.kind in ("http", "python",
                                                                      "shell")),
                      editor.flow.nodes[0].id)
    editor.scene.select_node(first_work, centre=False)
    _save(window, out_dir / "designer.png")
    _save(editor.palette, out_dir / "palette.png")
    _save(editor.properties, out_dir / "properties.png")

    # An edge with a condition, for the edge form.
    conditional = next((e for e in editor.flow.edges if e.when or e.is_error), None)
    if conditional is not None:
        editor.scene.select_edge(conditional.key, centre=False)
        _save(editor.properties, out_dir / "properties-edge.png")

    # A python node, for the code editor with highlighting.
    from designer.commands import AddNodeCommand, SetNodeFieldCommand
    from engine.model import Node

    code = ("# count the lines of the report\n"
            "lines = inputs.get('text', '').splitlines()\n"
            "if not lines:\n    raise ValueError(\"empty report\")\n"
            "result = {\"lines\": len(lines), \"first\": lines[0]}\n")
    flow = editor.flow
    editor.document.push(AddNodeCommand(flow, Node(id="count", kind="python", x=0, y=400)))
    editor.document.push(SetNodeFieldCommand(flow, "count", "config", {"code": code}))
    editor.scene.select_node("count", centre=False)
    _save(editor.properties, out_dir / "properties-python.png")
    editor.document.undo_stack.undo()
    editor.document.undo_stack.undo()

    # A broken copy of the flow for the problems panel.
    data = json.loads(EXAMPLE.read_text(encoding="utf-8"))
    data["edges"] = data["edges"][1:]
    for node in data["nodes"]:
        if node["kind"] == "http":
            node.get("config", {}).pop("url", None)
    with tempfile.TemporaryDirectory() as tmp:
        broken = Path(tmp) / "broken.flow.json"
        broken.write_text(json.dumps(data), encoding="utf-8")
        editor.open_flow(broken)
        editor.view.zoom_to_fit()
        editor.problems.validate_now()
        editor.scene.clearSelection()
        _save(window, out_dir / "designer-problems.png")

    # The quick-add popup over the canvas.
    editor.open_quick_add(editor.view.centre_scene_pos(), "")
    QTest.keyClicks(editor.quick_add.search, "py")
    QApplication.processEvents()
    _save(editor.quick_add, out_dir / "quick-add.png")
    editor.quick_add.hide()
    window.editor.document.undo_stack.setClean()
    window.close()
    app.processEvents()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
