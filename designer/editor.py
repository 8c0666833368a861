"""The flow editor: one document, its canvas, and the panels the shell puts in docks.

:class:`FlowEditor` is the widget the application embeds. Its own area is the
canvas (:class:`designer.view.FlowView`); ``palette``, ``properties`` and
``problems`` are separate widgets for the shell's docks. It owns the file
actions (new, open, save, save as, revert) with an unsaved-changes guard, and
offers D1's edit actions as ``edit_actions``. The questions it asks (save
changes? which file?) go through replaceable callables, so tests answer them
without a dialog.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QPointF, Signal
from PySide6.QtGui import QAction, QCursor, QKeySequence
from PySide6.QtWidgets import QFileDialog, QMessageBox, QVBoxLayout, QWidget

from designer.actions import EditActions
from designer.document import DocumentError, FlowDocument
from designer.minimap import MiniMap
from designer.palette import PaletteWidget
from designer.problems import ProblemsPanel
from designer.properties import PropertyEditor
from designer.quickadd import QuickAddPopup
from designer.scene import FlowScene
from designer.view import FlowView

__all__ = ["FLOW_FILTER", "FileActions", "FlowEditor"]

FLOW_FILTER = "Flowdesk flows (*.flow.json);;JSON files (*.json);;All files (*)"
IMAGE_FILTER = "PNG image (*.png);;SVG drawing (*.svg)"
Button = QMessageBox.StandardButton


def ask_save_changes(parent: QWidget, name: str) -> QMessageBox.StandardButton:
    """The default unsaved-changes question: Save, Discard or Cancel."""
    return QMessageBox.question(
        parent, "Unsaved changes", f"Save the changes to {name} before closing it?",
        Button.Save | Button.Discard | Button.Cancel, Button.Save)


def ask_open_path(parent: QWidget, start: str) -> str:
    return QFileDialog.getOpenFileName(parent, "Open flow", start, FLOW_FILTER)[0]


def ask_save_path(parent: QWidget, start: str) -> str:
    path = QFileDialog.getSaveFileName(parent, "Save flow as", start, FLOW_FILTER)[0]
    if path and not path.endswith(".json"):
        path += ".flow.json"
    return path


def ask_export_path(parent: QWidget, start: str) -> str:
    return QFileDialog.getSaveFileName(parent, "Export image", start, IMAGE_FILTER)[0]


def confirm_revert(parent: QWidget, name: str) -> bool:
    """The default question before a revert: the unsaved changes are lost."""
    answer = QMessageBox.question(
        parent, "Revert", f"Drop the unsaved changes to {name} and reload the file?",
        Button.Discard | Button.Cancel, Button.Cancel)
    return answer == Button.Discard


def show_error(parent: QWidget, title: str, message: str) -> None:
    QMessageBox.warning(parent, title, message)


class FileActions:
    """QActions for the File menu, each bound to a :class:`FlowEditor` method."""

    def __init__(self, editor: FlowEditor) -> None:
        def make(text: str, shortcut: QKeySequence | str, slot: Callable[[], object],
                 tip: str) -> QAction:
            action = QAction(text, editor)
            action.setShortcut(QKeySequence(shortcut))
            action.setStatusTip(tip)
            action.triggered.connect(lambda _checked=False: slot())
            return action

        self.new = make("&New", QKeySequence.StandardKey.New, editor.new_flow,
                        "Start an empty flow")
        self.open = make("&Open…", QKeySequence.StandardKey.Open, editor.open_flow,
                         "Open a flow file")
        self.save = make("&Save", QKeySequence.StandardKey.Save, editor.save,
                         "Save the flow to its file")
        self.save_as = make("Save &As…", QKeySequence.StandardKey.SaveAs, editor.save_as,
                            "Save the flow to another file")
        self.revert = make("&Revert", "", editor.revert,
                           "Drop unsaved changes and reload the file")
        self.export = make("&Export Image…", "Ctrl+E", editor.export_image,
                           "Save the diagram as a PNG or SVG picture")

    def all(self) -> list[QAction]:
        return [self.new, self.open, self.save, self.save_as, self.revert, self.export]


class FlowEditor(QWidget):
    """The canvas of one flow plus its palette, property editor and problems panel."""

    titleChanged = Signal(str)
    modifiedChanged = Signal(bool)
    message = Signal(str)  # one sentence for the status bar

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("flowEditor")
        # The questions the editor asks; tests and the shell may replace them.
        self.ask_save_changes: Callable[[QWidget, str], QMessageBox.StandardButton] = \
            ask_save_changes
        self.ask_open_path: Callable[[QWidget, str], str] = ask_open_path
        self.ask_save_path: Callable[[QWidget, str], str] = ask_save_path
        self.ask_export_path: Callable[[QWidget, str], str] = ask_export_path
        self.confirm_revert: Callable[[QWidget, str], bool] = confirm_revert
        self.show_error: Callable[[QWidget, str, str], None] = show_error

        self.document = FlowDocument(parent=self)
        self.scene = FlowScene(self.document, self)
        self.view = FlowView(self.scene, self)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.view)

        self.palette = PaletteWidget()
        self.properties = PropertyEditor(self.document, self.scene)
        self.problems = ProblemsPanel(self.document, self.scene)
        # The panels go into the shell's docks, yet never outlive the editor whose
        # scene and document they watch.
        for panel in (self.palette, self.properties, self.problems):
            self.destroyed.connect(panel.deleteLater)
        self.quick_add = QuickAddPopup(self)
        self._quick_add_at: tuple[QPointF, str] | None = None

        self.file_actions = FileActions(self)
        self.minimap = MiniMap(self.view)
        self.edit_actions = EditActions(self.view, self.document, self.minimap)

        self.palette.kindActivated.connect(self.add_node_at_centre)
        self.view.quickAddRequested.connect(self.open_quick_add)
        self.quick_add.kindChosen.connect(self._quick_add_chosen)
        if hasattr(self.view, "message"):
            self.view.message.connect(self.message)
        self.document.modifiedChanged.connect(self._modified_changed)
        self.document.pathChanged.connect(lambda _p: self.titleChanged.emit(self.title))
        self.document.changed.connect(self._maybe_retitle)

    # -- title -----------------------------------------------------------------------
    @property
    def flow(self):  # noqa: ANN201 - engine.model.Flow
        return self.document.flow

    @property
    def modified(self) -> bool:
        return self.document.modified

    @property
    def title(self) -> str:
        """The file name (or the flow's name), with a ``*`` while there are unsaved edits."""
        return self.document.display_name + ("*" if self.document.modified else "")

    def _modified_changed(self, modified: bool) -> None:
        self.modifiedChanged.emit(modified)
        self.titleChanged.emit(self.title)

    def _maybe_retitle(self, change: object) -> None:
        if self.document.path is None and getattr(change, "what", "") in ("flow_changed",
                                                                          "reset"):
            self.titleChanged.emit(self.title)

    # -- read-only -----------------------------------------------------------------------
    @property
    def read_only(self) -> bool:
        return bool(self.view.read_only)

    def set_read_only(self, read_only: bool) -> None:
        """Watch the flow without editing it: no moves, drops, property edits or saves."""
        self.view.set_read_only(read_only)
        self.properties.set_read_only(read_only)
        self.palette.setEnabled(not read_only)
        for action in (self.file_actions.save, self.file_actions.save_as,
                       self.file_actions.revert):
            action.setEnabled(not read_only)
        self.edit_actions.update_enabled()

    # -- adding nodes -----------------------------------------------------------------
    def add_node(self, kind: str, pos: QPointF, connect_from: str = "") -> str | None:
        """Add a ``kind`` node centred at ``pos``; with ``connect_from``, also connect it.

        Both happen in one undo step (the view's ``add_node_at``). Returns the new
        node's id, or ``None`` when refused (the view shows why).
        """
        return self.view.add_node_at(kind, pos, connect_from)

    def add_node_at_centre(self, kind: str) -> str | None:
        if self.read_only:
            return None
        return self.add_node(kind, self.view.centre_scene_pos())

    def open_quick_add(self, scene_pos: QPointF, source: str = "") -> None:
        """Show the quick-add popup at ``scene_pos`` (connecting from ``source`` if given)."""
        if self.read_only:
            return
        self._quick_add_at = (QPointF(scene_pos), source)
        global_pos = self.view.viewport().mapToGlobal(self.view.mapFromScene(scene_pos))
        if not self.view.viewport().rect().contains(self.view.mapFromScene(scene_pos)):
            global_pos = QCursor.pos()
        self.quick_add.popup_at(global_pos)

    def _quick_add_chosen(self, kind: str) -> None:
        if self._quick_add_at is None:
            return
        pos, source = self._quick_add_at
        self._quick_add_at = None
        self.add_node(kind, pos, source)

    # -- files --------------------------------------------------------------------------
    def maybe_discard(self) -> bool:
        """True when the current flow may be replaced (saved, or changes discarded)."""
        if not self.document.modified:
            return True
        answer = self.ask_save_changes(self, self.document.display_name)
        if answer == Button.Save:
            return self.save()
        return answer == Button.Discard

    def new_flow(self) -> bool:
        if not self.maybe_discard():
            return False
        self.document.new()
        self.titleChanged.emit(self.title)
        return True

    def open_flow(self, path: str | Path | None = None) -> bool:
        """Open ``path`` (or ask for one); a bad file is one sentence and keeps the open flow."""
        if not self.maybe_discard():
            return False
        if path is None:
            start = str(self.document.path.parent) if self.document.path else str(Path.cwd())
            path = self.ask_open_path(self, start)
            if not path:
                return False
        try:
            self.document.load(path)
        except DocumentError as exc:
            self._fail("Cannot open the flow", str(exc))
            return False
        self.view_fit()
        # The flow shows first; the check (about a second at 5,000 nodes) runs after the
        # first paint, in the problems panel's worker thread.
        self.problems.validate_after_paint(self.view.viewport())
        self.titleChanged.emit(self.title)
        self.message.emit(f"Opened {path}.")
        return True

    def save(self) -> bool:
        if self.document.path is None:
            return self.save_as()
        return self._write(self.document.path)

    def save_as(self, path: str | Path | None = None) -> bool:
        if path is None:
            start = str(self.document.path or Path.cwd() / f"{self.document.flow.name}.flow.json")
            path = self.ask_save_path(self, start)
            if not path:
                return False
        return self._write(Path(path))

    def _write(self, path: Path) -> bool:
        try:
            self.document.save_as(path)
        except DocumentError as exc:
            self._fail("Cannot save the flow", str(exc))
            return False
        self.titleChanged.emit(self.title)
        self.message.emit(f"Saved {path}.")
        return True

    def revert(self) -> bool:
        """Reload the file, after asking (changes are lost); refused for a never-saved flow."""
        if self.document.path is None:
            self._fail("Cannot revert", "This flow has never been saved, so there is nothing "
                       "to revert to.")
            return False
        if self.document.modified and not self.confirm_revert(self,
                                                              self.document.display_name):
            return False
        try:
            self.document.revert()
        except DocumentError as exc:
            self._fail("Cannot revert", str(exc))
            return False
        self.titleChanged.emit(self.title)
        return True

    def export_image(self, path: str | Path | None = None) -> bool:
        """Draw the diagram into a ``.png`` or ``.svg`` file, as ``flowdesk export`` does."""
        from designer.export import ExportError, render_png, render_svg

        if path is None:
            base = self.document.path or Path.cwd() / f"{self.document.flow.name}.flow.json"
            path = self.ask_export_path(self, str(base).removesuffix(".flow.json") + ".png")
            if not path:
                return False
        out = Path(path)
        suffix = out.suffix.lower()
        if suffix not in (".png", ".svg"):
            self._fail("Cannot export", f"{out}: the picture must end in .png or .svg")
            return False
        selected = self.scene.selected_node_ids()
        try:
            if suffix == ".png":
                render_png(self.scene, out)
            else:
                render_svg(self.scene, out, self.document.flow.name)
        except ExportError as exc:
            self._fail("Cannot export", str(exc))
            return False
        finally:
            self.scene.select_nodes(selected)
        self.message.emit(f"Exported {out}.")
        return True

    def _fail(self, title: str, message: str) -> None:
        text = message[:1].upper() + message[1:]
        if not text.endswith("."):
            text += "."
        self.message.emit(text)
        self.show_error(self, title, text)

    def view_fit(self) -> None:
        for name in ("zoom_to_fit", "zoom_fit", "fit"):
            fit = getattr(self.view, name, None)
            if callable(fit):
                fit()
                return
