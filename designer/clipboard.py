"""Copy, cut, paste and duplicate through the system clipboard, as flow JSON.

The clipboard holds a complete ``flowdesk/1`` document (mime type
``application/x-flowdesk-flow``, and the same JSON as plain text), so a copied
selection can be pasted into another flow, another Flowdesk window, or a text
editor. Pasting renames ids that are taken (``fetch`` → ``fetch_2``), keeps
edges and ``cancels`` among the pasted nodes pointing at the renamed ones, and
offsets positions so the copies do not hide the originals.
"""

from __future__ import annotations

import atexit
import json
from typing import Any

from PySide6.QtCore import QMimeData
from PySide6.QtGui import QClipboard, QGuiApplication

from engine.flowfile import FlowFileError, dumps, flow_from_dict
from engine.model import FORMAT, Edge, Flow, Node

from .commands import PasteCommand, RemoveItemsCommand

__all__ = [
    "FLOW_MIME", "PASTE_OFFSET", "ClipboardError", "copy_nodes", "cut_command",
    "duplicate_command", "paste_command", "read_clipboard", "selection_document",
]

FLOW_MIME = "application/x-flowdesk-flow"
PASTE_OFFSET = (40.0, 40.0)


class ClipboardError(ValueError):
    """The clipboard holds nothing that can be pasted as nodes; one sentence why."""


def selection_document(flow: Flow, node_ids: list[str]) -> dict[str, Any]:
    """A flow document of the chosen nodes and the edges among them."""
    chosen = set(node_ids)
    return {
        "format": FORMAT,
        "name": flow.name,
        "nodes": [n.to_dict() for n in flow.nodes if n.id in chosen],
        "edges": [e.to_dict() for e in flow.edges
                  if e.source in chosen and e.target in chosen],
    }


def _clipboard(clipboard: QClipboard | None) -> QClipboard:
    return clipboard if clipboard is not None else QGuiApplication.clipboard()


_exit_hook_installed = False


def _release_clipboard_at_exit() -> None:
    """PySide 6.11 crashes at interpreter exit when a Python-made QMimeData is still on
    the clipboard (reproduced here); hand it back to Qt while Qt still exists."""
    app = QGuiApplication.instance()
    if app is not None:
        cb = QGuiApplication.clipboard()
        mime = cb.mimeData()
        if mime is not None and mime.hasFormat(FLOW_MIME):
            text = mime.text()
            cb.clear()
            if text:
                cb.setText(text)  # keep the JSON for other programs as plain text


def copy_nodes(flow: Flow, node_ids: list[str], clipboard: QClipboard | None = None) -> int:
    """Put the nodes (and edges among them) on the clipboard; returns how many nodes."""
    doc = selection_document(flow, node_ids)
    if not doc["nodes"]:
        return 0
    text = dumps(doc)
    mime = QMimeData()
    mime.setData(FLOW_MIME, text.encode("utf-8"))
    mime.setText(text)
    global _exit_hook_installed
    if not _exit_hook_installed:
        atexit.register(_release_clipboard_at_exit)
        _exit_hook_installed = True
    _clipboard(clipboard).setMimeData(mime)
    return len(doc["nodes"])


def parse_flow_text(text: str) -> Flow:
    """The flow in a piece of clipboard text, or :class:`ClipboardError`."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        raise ClipboardError("the clipboard does not hold Flowdesk nodes (it is not JSON)") \
            from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ClipboardError(f"the clipboard does not hold Flowdesk nodes (no \"format\": "
                             f"\"{FORMAT}\" document)")
    data.setdefault("name", "clipboard")
    try:
        return flow_from_dict(data, "clipboard")
    except FlowFileError as exc:
        raise ClipboardError(str(exc)) from None


def read_clipboard(clipboard: QClipboard | None = None) -> Flow:
    """The flow on the clipboard (our mime type first, then plain text)."""
    mime = _clipboard(clipboard).mimeData()
    if mime is not None and mime.hasFormat(FLOW_MIME):
        return parse_flow_text(bytes(mime.data(FLOW_MIME).data()).decode("utf-8", "replace"))
    if mime is not None and mime.hasText() and mime.text().strip():
        return parse_flow_text(mime.text())
    raise ClipboardError("the clipboard is empty")


def _fresh_id(flow: Flow, base: str, taken: set[str]) -> str:
    candidate, n = base, 1
    while flow.has_node(candidate) or candidate in taken:
        n += 1
        candidate = f"{base}_{n}"
    return candidate


def paste_command(flow: Flow, pasted: Flow,
                  offset: tuple[float, float] = PASTE_OFFSET) -> PasteCommand:
    """An undo step adding ``pasted``'s nodes and edges to ``flow`` with unique ids."""
    if not pasted.nodes:
        raise ClipboardError("there are no nodes to paste")
    renamed: dict[str, str] = {}
    taken: set[str] = set()
    for node in pasted.nodes:
        renamed[node.id] = _fresh_id(flow, node.id, taken)
        taken.add(renamed[node.id])
    nodes: list[Node] = []
    for node in pasted.nodes:
        data = node.to_dict()
        data["id"] = renamed[node.id]
        if node.cancels:
            data["cancels"] = [renamed.get(c, c) for c in node.cancels]
        data["x"] = (node.x or 0) + offset[0]
        data["y"] = (node.y or 0) + offset[1]
        nodes.append(Node(**data))
    edges = [Edge(renamed[e.source], renamed[e.target], when=e.when, default=e.default,
                  on=e.on, label=e.label)
             for e in pasted.edges if e.source in renamed and e.target in renamed]
    return PasteCommand(flow, nodes, edges)


def paste(flow: Flow, clipboard: QClipboard | None = None) -> PasteCommand:
    return paste_command(flow, read_clipboard(clipboard))


def cut_command(flow: Flow, node_ids: list[str], edge_keys: list[int] = (),  # type: ignore[assignment]
                clipboard: QClipboard | None = None) -> RemoveItemsCommand:
    """Copy the nodes, then return the undo step that removes them (and their edges)."""
    copy_nodes(flow, node_ids, clipboard)
    return RemoveItemsCommand(flow, node_ids, edge_keys, text="Cut")


def duplicate_command(flow: Flow, node_ids: list[str]) -> PasteCommand:
    """Copies of the nodes next to the originals, without touching the clipboard."""
    pasted = flow_from_dict(selection_document(flow, node_ids))
    command = paste_command(flow, pasted)
    command.setText("Duplicate")
    return command
