"""The editing actions of the canvas, with standard shortcuts, for menus and toolbars.

:class:`EditActions` binds QActions to one :class:`FlowView` and its
:class:`FlowDocument`. The actions are added to the view (shortcuts work while
the canvas has the focus) and exposed as attributes and :meth:`all` for the
shell's menus. Their enabled state follows the selection and read-only mode.
"""

from __future__ import annotations

from collections.abc import Callable

import shiboken6
from PySide6.QtCore import QObject, Qt, QTimer
from PySide6.QtGui import QAction, QKeySequence

from engine.model import ModelError

from . import clipboard
from .commands import AlignCommand, AutoLayoutCommand, DistributeCommand
from .document import FlowDocument
from .items import NodeItem
from .minimap import MiniMap
from .scene import GRID
from .view import FlowView

__all__ = ["EditActions"]


class EditActions(QObject):
    """Undo, clipboard, selection, alignment, layout, zoom, grid and minimap actions."""

    def __init__(self, view: FlowView, document: FlowDocument | None = None,
                 minimap: MiniMap | None = None,
                 context: Qt.ShortcutContext = Qt.ShortcutContext.WidgetWithChildrenShortcut
                 ) -> None:
        super().__init__(view)
        self.view = view
        self.document = document or view.document
        self.scene = view.flow_scene
        self.minimap = minimap
        self._context = context
        stack = self.document.undo_stack
        self.undo = stack.createUndoAction(self, "Undo")
        self.undo.setShortcut(QKeySequence.StandardKey.Undo)
        self.redo = stack.createRedoAction(self, "Redo")
        redo_keys = QKeySequence.keyBindings(QKeySequence.StandardKey.Redo)
        if QKeySequence("Ctrl+Y") not in redo_keys:  # a duplicate would be ambiguous
            redo_keys.append(QKeySequence("Ctrl+Y"))
        self.redo.setShortcuts(redo_keys)
        for action in (self.undo, self.redo):
            action.setShortcutContext(context)
            view.addAction(action)
        a = self._action
        self.cut = a("Cu&t", self.do_cut, QKeySequence.StandardKey.Cut)
        self.copy = a("&Copy", self.do_copy, QKeySequence.StandardKey.Copy)
        self.paste = a("&Paste", self.do_paste, QKeySequence.StandardKey.Paste)
        self.duplicate = a("D&uplicate", self.do_duplicate, "Ctrl+D")
        self.delete = a("&Delete", view.delete_selection, QKeySequence.StandardKey.Delete)
        self.select_all = a("Select &All", self.scene.select_all,
                            QKeySequence.StandardKey.SelectAll)
        self.align_left = a("Align &Left", lambda: self.do_align("left"), "Ctrl+Shift+Left")
        self.align_top = a("Align &Top", lambda: self.do_align("top"), "Ctrl+Shift+Up")
        self.align_centre = a("Align &Centres (column)", lambda: self.do_align("hcentre"),
                              "Ctrl+Shift+Down")
        self.align_middle = a("Align &Middles (row)", lambda: self.do_align("vcentre"),
                              "Ctrl+Shift+Right")
        self.distribute_h = a("Distribute &Horizontally",
                              lambda: self.do_distribute("horizontal"), "Ctrl+Shift+H")
        self.distribute_v = a("Distribute &Vertically",
                              lambda: self.do_distribute("vertical"), "Ctrl+Shift+J")
        self.auto_layout = a("Auto-&layout", self.do_auto_layout, "Ctrl+L")
        self.zoom_in = a("Zoom &In", view.zoom_in, QKeySequence.StandardKey.ZoomIn, "Ctrl+=")
        self.zoom_out = a("Zoom &Out", view.zoom_out, QKeySequence.StandardKey.ZoomOut)
        self.zoom_fit = a("Zoom to &Fit", view.zoom_to_fit, "Ctrl+Shift+F")
        self.zoom_100 = a("Zoom &100%", view.zoom_reset, "Ctrl+0")
        self.snap = a("&Snap to Grid", self.set_snap, "Ctrl+G", checkable=True)
        self.show_minimap = a("Show &Minimap", self.set_minimap_visible, "Ctrl+M",
                              checkable=True)
        self.show_minimap.setChecked(minimap is not None and not minimap.isHidden())
        # One command on a big flow announces thousands of changes (and removing selected
        # items changes the selection as often): during such a burst the enabled states are
        # worked out once, when the command is done, not once per change.
        self._burst = False
        self._refresh = QTimer(self)
        self._refresh.setSingleShot(True)
        self._refresh.setInterval(0)
        self._refresh.timeout.connect(self._end_burst)
        self.scene.selectionChanged.connect(self._on_selection)
        self.document.changed.connect(self._on_change)
        stack.indexChanged.connect(self._on_index)
        self.update_enabled()

    def _action(self, text: str, slot: Callable[..., object],
                *shortcuts: QKeySequence.StandardKey | str, checkable: bool = False) -> QAction:
        action = QAction(text, self)
        keys: list[QKeySequence] = []
        for s in shortcuts:
            keys += QKeySequence.keyBindings(s) if isinstance(s, QKeySequence.StandardKey) \
                else [QKeySequence(s)]
        action.setShortcuts(keys)
        action.setCheckable(checkable)
        action.setShortcutContext(self._context)
        if checkable:
            action.toggled.connect(slot)
        else:
            action.triggered.connect(lambda _checked=False: slot())
        self.view.addAction(action)
        return action

    def _alive(self) -> bool:
        """False once the view (and with it these actions) is gone; the document and
        scene may outlive them and keep announcing changes."""
        return all(shiboken6.isValid(o) for o in (self, self.view, self.scene, self._refresh,
                                                  self.undo, self.redo, self.auto_layout))

    def _on_change(self, _change: object) -> None:
        if not self._alive():
            return
        self._burst = True
        self._refresh.start()

    def _on_selection(self) -> None:
        if not self._alive():
            return
        if self._burst:
            self._refresh.start()
        else:
            self.update_enabled()

    def _on_index(self, _index: int) -> None:
        self._end_burst()

    def _end_burst(self) -> None:
        if not self._alive():
            return
        self._burst = False
        self._refresh.stop()
        self.update_enabled()

    def all(self) -> list[QAction]:
        """Every action, in menu order (``None`` would be a separator: there is none here)."""
        return [self.undo, self.redo, self.cut, self.copy, self.paste, self.duplicate,
                self.delete, self.select_all, self.align_left, self.align_top,
                self.align_centre, self.align_middle, self.distribute_h, self.distribute_v,
                self.auto_layout, self.zoom_in, self.zoom_out, self.zoom_fit, self.zoom_100,
                self.snap, self.show_minimap]

    def update_enabled(self) -> None:
        if not self._alive():
            return  # called while the window is being torn down
        editable = not self.view.read_only
        selected = self.scene.selectedItems()  # counted, not sorted: this runs often
        nodes = sum(1 for i in selected if isinstance(i, NodeItem))
        anything = bool(selected)
        self.undo.setVisible(editable)
        self.redo.setVisible(editable)
        self.cut.setEnabled(editable and nodes > 0)
        self.copy.setEnabled(nodes > 0)
        self.paste.setEnabled(editable)
        self.duplicate.setEnabled(editable and nodes > 0)
        self.delete.setEnabled(editable and bool(anything))
        for action in (self.align_left, self.align_top, self.align_centre, self.align_middle):
            action.setEnabled(editable and nodes >= 2)
        self.distribute_h.setEnabled(editable and nodes >= 3)
        self.distribute_v.setEnabled(editable and nodes >= 3)
        self.auto_layout.setEnabled(editable and len(self.document.flow) > 0)

    # -- slots -----------------------------------------------------------------------
    def do_copy(self) -> None:
        count = clipboard.copy_nodes(self.document.flow, self.scene.selected_node_ids())
        if count:
            self.view.message.emit(f"Copied {count} node(s).")

    def do_cut(self) -> None:
        ids = self.scene.selected_node_ids()
        if ids and not self.view.read_only:
            self.document.push(clipboard.cut_command(self.document.flow, ids,
                                                     self.scene.selected_edge_keys()))

    def do_paste(self) -> None:
        if self.view.read_only:
            return
        try:
            command = clipboard.paste(self.document.flow)
        except (clipboard.ClipboardError, ModelError) as exc:
            self.view.show_message(f"Cannot paste: {exc}.")
            return
        self.document.push(command)
        self._select(command.node_ids)

    def do_duplicate(self) -> None:
        ids = self.scene.selected_node_ids()
        if ids and not self.view.read_only:
            command = clipboard.duplicate_command(self.document.flow, ids)
            self.document.push(command)
            self._select(command.node_ids)

    def _select(self, ids: list[str]) -> None:
        self.scene.select_nodes(ids)  # one selectionChanged, however many nodes

    def do_align(self, mode: str) -> None:
        ids = self.scene.selected_node_ids()
        if len(ids) >= 2 and not self.view.read_only:
            self.document.push(AlignCommand(self.document.flow, ids, mode))

    def do_distribute(self, axis: str) -> None:
        ids = self.scene.selected_node_ids()
        if len(ids) >= 3 and not self.view.read_only:
            self.document.push(DistributeCommand(self.document.flow, ids, axis))

    def do_auto_layout(self) -> None:
        if len(self.document.flow) and not self.view.read_only:
            self.document.push(AutoLayoutCommand(self.document.flow))
            self.view.zoom_to_fit()

    def set_snap(self, on: bool) -> None:
        self.scene.snap_grid = GRID if on else 0

    def set_minimap_visible(self, visible: bool) -> None:
        if self.minimap is None and visible:
            self.minimap = MiniMap(self.view)
        if self.minimap is not None:
            self.minimap.setVisible(visible)
            if visible:
                self.minimap.refresh()
