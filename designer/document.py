"""The open flow: one :class:`engine.model.Flow`, its undo stack, its file and saved state.

The document never draws anything. It re-emits every change the model
announces as the Qt signal :attr:`FlowDocument.changed`, so the scene, the
property editor and the problems panel all listen to one door. Loading and
reverting replace the model's content in place (``Flow.replace_with``), so
everyone that holds the flow keeps holding the right object.
"""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QUndoStack

from engine.flowfile import FlowFileError, load_flow, save_flow
from engine.model import Change, Flow

__all__ = ["DocumentError", "FlowDocument"]


class DocumentError(Exception):
    """A file operation that failed; the message is one sentence for the user."""


class FlowDocument(QObject):
    """The flow being edited, with undo history, file path and modified state."""

    changed = Signal(object)  # engine.model.Change
    pathChanged = Signal(str)  # "" for an unsaved new flow
    modifiedChanged = Signal(bool)

    def __init__(self, flow: Flow | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.flow = flow if flow is not None else Flow()
        self.undo_stack = QUndoStack(self)
        self._path: Path | None = None
        self.flow.subscribe(self._on_change)
        self.undo_stack.cleanChanged.connect(self._on_clean_changed)

    # -- state -------------------------------------------------------------
    @property
    def path(self) -> Path | None:
        return self._path

    def _set_path(self, path: Path | None) -> None:
        self._path = path
        self.pathChanged.emit(str(path) if path else "")

    @property
    def modified(self) -> bool:
        return not self.undo_stack.isClean()

    @property
    def display_name(self) -> str:
        """The file name, or the flow's name for an unsaved flow."""
        return self._path.name if self._path else (self.flow.name or "untitled")

    def _on_clean_changed(self, clean: bool) -> None:
        self.modifiedChanged.emit(not clean)

    def _on_change(self, change: Change) -> None:
        self.changed.emit(change)

    def push(self, command: object) -> None:
        """Push an undo command (it runs its ``redo`` once, as QUndoStack does)."""
        self.undo_stack.push(command)  # type: ignore[arg-type]

    # -- files -------------------------------------------------------------
    def _reset(self, flow: Flow, path: Path | None) -> None:
        self.undo_stack.clear()
        self.flow.replace_with(flow)
        self.undo_stack.setClean()
        self._set_path(path)
        self.modifiedChanged.emit(False)

    def new(self, name: str = "untitled") -> None:
        self._reset(Flow(name), None)

    def load(self, path: str | os.PathLike[str]) -> None:
        """Open a file; on any problem raise :class:`DocumentError` and keep the current flow."""
        p = Path(path)
        try:
            flow = load_flow(p)
        except FlowFileError as exc:
            raise DocumentError(str(exc)) from None
        self._reset(flow, p)

    def save(self) -> None:
        if self._path is None:
            raise DocumentError("this flow has no file yet; use Save As")
        self.save_as(self._path)

    def save_as(self, path: str | os.PathLike[str]) -> None:
        p = Path(path)
        try:
            save_flow(self.flow, p)
        except OSError as exc:
            raise DocumentError(f"{p}: cannot write the file ({exc.strerror or exc})") from None
        self.undo_stack.setClean()
        self._set_path(p)
        self.modifiedChanged.emit(False)

    def revert(self) -> None:
        """Reload the file from disk, dropping unsaved changes and the undo history."""
        if self._path is None:
            raise DocumentError("this flow has never been saved, so there is nothing to revert to")
        self.load(self._path)
