"""The property editor: a form for the selected node, the selected edge, or the flow.

The form is generated from the kind's config fields in :data:`engine.kinds.KINDS`
(see :mod:`designer.fields` for one editor per field type), plus the run
settings every node has (retry, timeout, join, cancellation). Every edit goes
through an undo command from :mod:`designer.commands`, so consecutive edits of
one field merge into one undo step. The form listens to the document's model
changes and shows the model's values again after an undo, a redo, or any other
edit made elsewhere.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QUndoCommand
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QScrollArea,
    QSpinBox,
    QStyledItemDelegate,
    QVBoxLayout,
    QWidget,
)

from designer.commands import (
    RenameNodeCommand,
    SetEdgeFieldCommand,
    SetFlowFieldCommand,
    SetNodeFieldCommand,
)
from designer.document import FlowDocument
from designer.fields import (
    UNSET,
    BooleanEditor,
    ExpressionEditor,
    FieldEditor,
    NumberEditor,
    TextEditor,
    _Table,
    editor_for,
)
from designer.palette import kind_icon
from engine.flowfile import input_value_ok
from engine.kinds import KINDS
from engine.model import INPUT_TYPES, Change, Flow, ModelError

__all__ = ["ConfigKeyCommand", "InputsEditor", "JoinEditor", "PropertyEditor"]


class ConfigKeyCommand(SetNodeFieldCommand):
    """Set one config key; merges only with edits of the same node *and* key.

    (D2's addition over :class:`SetNodeFieldCommand`, whose merging is per
    field, so typing in ``url`` then in ``method`` would otherwise be one step.)
    """

    def __init__(self, flow: Flow, node_id: str, key: str, value: Any) -> None:
        config = dict(flow.node(node_id).cfg)
        if value is UNSET or value is None:
            config.pop(key, None)
        else:
            config[key] = value
        super().__init__(flow, node_id, "config", config or None)
        self.key = key
        self.setText(f"Set {node_id}.{key}")

    def mergeWith(self, other: QUndoCommand) -> bool:  # noqa: N802 - Qt's name
        if getattr(other, "key", None) != self.key:
            return False
        return super().mergeWith(other)


def _unset_to_none(value: Any) -> Any:
    return None if value is UNSET else value


class JoinEditor(FieldEditor):
    """``join``: all (default), any, or at least N arrivals."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        box = QWidget(self)
        row = QHBoxLayout(box)
        row.setContentsMargins(0, 0, 0, 0)
        self.mode = QComboBox(box)
        self.mode.addItems(["all", "any", "at least"])
        self.count = QSpinBox(box)
        self.count.setRange(1, 10_000)
        row.addWidget(self.mode)
        row.addWidget(self.count)
        self.mode.currentIndexChanged.connect(lambda _i: self._changed())
        self.count.valueChanged.connect(lambda _v: self._changed())
        self._finish_layout(box)

    def _show(self, value: Any) -> None:
        if isinstance(value, dict):
            self.mode.setCurrentIndex(2)
            self.count.setValue(int(value.get("min", 1)))
        else:
            self.mode.setCurrentIndex(1 if value == "any" else 0)
        self.count.setEnabled(self.mode.currentIndex() == 2)

    def _changed(self) -> None:
        self.count.setEnabled(self.mode.currentIndex() == 2)
        i = self.mode.currentIndex()
        self._emit(UNSET if i == 0 else "any" if i == 1 else {"min": self.count.value()})


class _TypeDelegate(QStyledItemDelegate):
    """Edits an input's type with a drop-down of the allowed types."""

    def createEditor(self, parent: QWidget, option: object, index: object) -> QWidget:  # noqa: N802
        combo = QComboBox(parent)
        combo.addItems(list(INPUT_TYPES))
        return combo

    def setEditorData(self, editor: QWidget, index: Any) -> None:  # noqa: N802
        assert isinstance(editor, QComboBox)
        editor.setCurrentText(str(index.data() or "string"))

    def setModelData(self, editor: QWidget, model: Any, index: Any) -> None:  # noqa: N802
        assert isinstance(editor, QComboBox)
        model.setData(index, editor.currentText())


class InputsEditor(_Table):
    """The flow's declared inputs: name, type, default (JSON unless a string), description."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(["name", "type", "default", "description"], parent)
        self.type_delegate = _TypeDelegate(self.table)
        self.table.setItemDelegateForColumn(1, self.type_delegate)

    def _show(self, value: Any) -> None:
        rows = []
        for name, decl in (value or {}).items():
            decl = decl if isinstance(decl, dict) else {}
            typ = str(decl.get("type", ""))
            if "default" not in decl:
                default = ""
            elif typ == "string" and isinstance(decl["default"], str):
                default = decl["default"]
            else:
                import json

                default = json.dumps(decl["default"], ensure_ascii=False)
            rows.append([name, typ, default, str(decl.get("description", ""))])
        self._fill(rows)

    def value_of_rows(self, rows: list[list[str]]) -> Any:
        import json

        from engine.flowfile import ID_RE

        out: dict[str, Any] = {}
        for name, typ, default, description in rows:
            name, typ = name.strip(), typ.strip() or "string"
            if not name:
                if default.strip() or description.strip():
                    raise ValueError("Every input needs a name; the table is not applied.")
                continue
            if not ID_RE.match(name):
                raise ValueError(f"'{name}' is not a valid input name: use a letter or _ "
                                 "followed by letters, digits, _ or -.")
            if name in out:
                raise ValueError(f"The input '{name}' appears twice; the table is not applied.")
            if typ not in INPUT_TYPES:
                raise ValueError(f"Input '{name}': type must be one of "
                                 f"{', '.join(INPUT_TYPES)}, not '{typ}'.")
            decl: dict[str, Any] = {"type": typ}
            if default != "":
                if typ == "string":
                    value: Any = default
                else:
                    try:
                        value = json.loads(default)
                    except json.JSONDecodeError:
                        raise ValueError(f"Input '{name}': the default {default!r} is not a "
                                         f"valid {typ}.") from None
                if not input_value_ok(typ, value):
                    raise ValueError(f"Input '{name}': the default {default!r} is not a "
                                     f"valid {typ}.")
                decl["default"] = value
            if description.strip():
                decl["description"] = description
            out[name] = decl
        return out if out else UNSET


class PropertyEditor(QWidget):
    """Edits what is selected in the scene; with nothing selected, the flow itself."""

    def __init__(self, document: FlowDocument, scene: Any = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("properties")
        self.document = document
        self.scene = scene
        self.target: tuple[str, Any] = ("flow", None)
        self.editors: dict[str, FieldEditor] = {}
        self._refreshers: list[Callable[[], None]] = []
        self._applying = False
        self.read_only = False
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        self.title = QLabel(self)
        self.title.setObjectName("propertiesTitle")
        self.title.setTextFormat(Qt.TextFormat.PlainText)
        self.title.setStyleSheet("font-weight: bold; padding: 4px;")
        self.scroll = QScrollArea(self)
        self.scroll.setWidgetResizable(True)
        outer.addWidget(self.title)
        outer.addWidget(self.scroll)
        self.message = QLabel(self)
        self.message.setObjectName("propertiesError")
        self.message.setStyleSheet("color: #c62828; padding: 4px;")
        self.message.setWordWrap(True)
        self.message.hide()
        outer.addWidget(self.message)
        document.changed.connect(self._on_change)
        # Selecting many items emits selectionChanged once per item: follow only the last.
        self._selection_timer = QTimer(self)
        self._selection_timer.setSingleShot(True)
        self._selection_timer.setInterval(0)
        self._selection_timer.timeout.connect(self.follow_selection)
        if scene is not None:
            scene.selectionChanged.connect(self._selection_timer.start)
            scene.destroyed.connect(self._scene_gone)
        self.show_flow()

    def _scene_gone(self) -> None:
        self.scene = None
        self._selection_timer.stop()

    def set_read_only(self, read_only: bool) -> None:
        """Show values without letting them be edited (a flow being watched, not drawn)."""
        self.read_only = read_only
        page = self.scroll.widget()
        if page is not None:
            page.setEnabled(not read_only)

    # -- what is shown -------------------------------------------------------
    @property
    def flow(self) -> Flow:
        return self.document.flow

    def follow_selection(self) -> None:
        """Show the one selected node or edge; the flow when nothing (or several) is."""
        if self.scene is None:
            return
        try:
            nodes = list(self.scene.selected_node_ids())
            edges = list(self.scene.selected_edge_keys())
        except RuntimeError:  # the scene is being torn down
            return
        if len(nodes) == 1 and not edges:
            self.show_node(nodes[0])
        elif len(edges) == 1 and not nodes:
            self.show_edge(edges[0])
        else:
            self.show_flow(selected=len(nodes) + len(edges))

    def _new_form(self) -> QFormLayout:
        old = self.scroll.takeWidget()
        if old is not None:
            old.deleteLater()
        self.editors = {}
        self._refreshers = []
        self.message.hide()
        page = QWidget()
        form = QFormLayout(page)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        page.setEnabled(not self.read_only)
        self.scroll.setWidget(page)
        QTimer.singleShot(0, self._fit_page)
        return form

    def _fit_page(self) -> None:
        """Never squeeze fields below their height: the scroll area scrolls instead."""
        page = self.scroll.widget()
        if page is not None:
            page.setMinimumHeight(page.minimumSizeHint().height())

    def _add(self, form: QFormLayout, key: str, label: str, editor: FieldEditor,
             read: Callable[[], Any], apply: Callable[[Any], QUndoCommand],
             tooltip: str = "") -> FieldEditor:
        self.editors[key] = editor
        editor.setObjectName(f"field:{key}")
        if tooltip:
            editor.setToolTip(tooltip)
        editor.set_value(read())
        self._refreshers.append(lambda: editor.set_value(read()))
        editor.edited.connect(lambda value: self._push(lambda: apply(value)))
        form.addRow(label, editor)
        return editor

    def _push(self, make: Callable[[], QUndoCommand]) -> None:
        if self.read_only:
            return
        try:
            command = make()
        except (ModelError, ValueError) as exc:
            self.message.setText(f"{str(exc)[:1].upper()}{str(exc)[1:]}.".replace("..", "."))
            self.message.show()
            return
        self.message.hide()
        self._applying = True
        try:
            self.document.push(command)
        finally:
            self._applying = False

    # -- the flow --------------------------------------------------------------
    def show_flow(self, selected: int = 0) -> None:
        title = f"{selected} items selected — flow settings" if selected > 1 else "Flow"
        self.title.setText(title)
        if self.target == ("flow", None) and self.editors:
            return  # the flow's form is up already
        self.target = ("flow", None)
        form = self._new_form()
        flow = self.flow

        def set_name(value: Any) -> QUndoCommand:
            if value is UNSET or not str(value).strip():
                raise ValueError("a flow needs a name; the old name is kept")
            return SetFlowFieldCommand(flow, "name", value)

        self._add(form, "name", "Name", TextEditor(check_template=False),
                  lambda: flow.name, set_name)
        self._add(form, "description", "Description", TextEditor(check_template=False),
                  lambda: flow.description,
                  lambda v: SetFlowFieldCommand(flow, "description", _unset_to_none(v)))
        self._add(form, "inputs", "Inputs", InputsEditor(), lambda: flow.inputs,
                  lambda v: SetFlowFieldCommand(flow, "inputs", _unset_to_none(v)),
                  "Run parameters: name, type (string, integer, number, boolean, object, "
                  "array), optional default")
        self._add(form, "concurrency", "Concurrency",
                  NumberEditor(integer=True, allow_template=False, minimum=1,
                               placeholder="default 8"),
                  lambda: flow.concurrency,
                  lambda v: SetFlowFieldCommand(flow, "concurrency", _unset_to_none(v)),
                  "The most nodes of one run doing work at once")

    # -- a node ----------------------------------------------------------------
    def show_node(self, node_id: str) -> None:
        flow = self.flow
        node = flow.node(node_id)
        self.target = ("node", node_id)
        form = self._new_form()
        spec = KINDS.get(node.kind)
        self.title.setText(f"{spec.title if spec else node.kind} node")
        kind_label = QLabel(node.kind)
        kind_label.setObjectName("kindLabel")
        if spec is not None:
            kind_label.setText(f"{spec.title} ({node.kind}) — {spec.description}")
            kind_label.setWordWrap(True)
            icon = QLabel()
            icon.setPixmap(kind_icon(node.kind).pixmap(20, 20))
            form.addRow(icon, kind_label)
        else:
            form.addRow("Kind", kind_label)

        def nid() -> str:
            return str(self.target[1])

        id_edit = QLineEdit(node.id)
        id_edit.setObjectName("field:id")
        id_edit.editingFinished.connect(
            lambda: id_edit.text() != nid() and self._push(
                lambda: RenameNodeCommand(flow, nid(), id_edit.text().strip())))
        self._refreshers.append(lambda: id_edit.setText(nid()))
        self.id_edit = id_edit
        form.addRow("Id", id_edit)
        self._add(form, "name", "Name", TextEditor(check_template=False, placeholder=node.id),
                  lambda: flow.node(nid()).name,
                  lambda v: SetNodeFieldCommand(flow, nid(), "name", _unset_to_none(v)))
        if spec is not None and spec.fields:
            for f in spec.fields:
                label = f.name + (" *" if f.required else "")
                self._add(form, f"config.{f.name}", label, editor_for(f),
                          lambda f=f: flow.node(nid()).cfg.get(f.name),
                          lambda v, f=f: ConfigKeyCommand(flow, nid(), f.name, v),
                          f.description + (" (required)" if f.required else ""))
        self._add_run_settings(form, nid)

    def _add_run_settings(self, form: QFormLayout, nid: Callable[[], str]) -> None:
        flow = self.flow
        group = QGroupBox("Run settings")
        sub = QFormLayout(group)
        form.addRow(group)

        def retry_key(key: str, default: float) -> Callable[[Any], QUndoCommand]:
            def make(value: Any) -> QUndoCommand:
                retry = dict(flow.node(nid()).retry or {})
                if value is UNSET or value == default:
                    retry.pop(key, None)
                else:
                    retry[key] = value
                return _RetryCommand(flow, nid(), key, retry or None)
            return make

        def read_retry(key: str) -> Callable[[], Any]:
            return lambda: (flow.node(nid()).retry or {}).get(key)

        self._add(sub, "retry.max_attempts", "Attempts",
                  NumberEditor(integer=True, allow_template=False, minimum=1,
                               placeholder="1 (no retry)"),
                  read_retry("max_attempts"), retry_key("max_attempts", 1),
                  "How many times the node is tried before it fails")
        self._add(sub, "retry.backoff_s", "Backoff (s)",
                  NumberEditor(allow_template=False, minimum=0, placeholder="0"),
                  read_retry("backoff_s"), retry_key("backoff_s", 0),
                  "The wait before the second attempt")
        self._add(sub, "retry.backoff_factor", "Backoff factor",
                  NumberEditor(allow_template=False, minimum=0, placeholder="1"),
                  read_retry("backoff_factor"), retry_key("backoff_factor", 1),
                  "Each further wait is the previous one times this")

        def set_timeout(value: Any) -> QUndoCommand:
            if value is not UNSET and value <= 0:
                raise ValueError("the timeout must be a positive number of seconds")
            return SetNodeFieldCommand(flow, nid(), "timeout_s", _unset_to_none(value))

        self._add(sub, "timeout_s", "Timeout (s)",
                  NumberEditor(allow_template=False, placeholder="none"),
                  lambda: flow.node(nid()).timeout_s, set_timeout,
                  "Per attempt; a timeout is a failed attempt")
        self._add(sub, "join", "Join", JoinEditor(), lambda: flow.node(nid()).join,
                  lambda v: SetNodeFieldCommand(flow, nid(), "join", _unset_to_none(v)),
                  "When the node runs: after all, any, or at least N incoming edges are taken")
        self._add(sub, "cancel_others", "", BooleanEditor("Cancel the others"),
                  lambda: flow.node(nid()).cancel_others,
                  lambda v: SetNodeFieldCommand(flow, nid(), "cancel_others", v or None),
                  "With join any or at least N: when the join fires, cancel the unfinished "
                  "nodes that lead only here")

        def set_cancels(value: Any) -> QUndoCommand:
            ids = [] if value is UNSET else [p.strip() for p in str(value).split(",")
                                             if p.strip()]
            return SetNodeFieldCommand(flow, nid(), "cancels", ids or None)

        self._add(sub, "cancels", "Cancels", TextEditor(check_template=False,
                                                        placeholder="node ids, comma separated"),
                  lambda: ", ".join(flow.node(nid()).cancels or []) or None, set_cancels,
                  "Nodes cancelled when this node succeeds")

    # -- an edge ---------------------------------------------------------------
    def show_edge(self, key: int) -> None:
        flow = self.flow
        edge = flow.edge(key)
        self.target = ("edge", key)
        form = self._new_form()
        self.title.setText(f"Edge {edge.source} → {edge.target}")
        ends = QLabel(f"{edge.source} → {edge.target}")
        ends.setObjectName("edgeEnds")
        self._refreshers.append(
            lambda: ends.setText(f"{flow.edge(key).source} → {flow.edge(key).target}"))
        form.addRow("Connects", ends)
        self._add(form, "when", "When", ExpressionEditor(), lambda: flow.edge(key).when,
                  lambda v: SetEdgeFieldCommand(flow, key, "when", _unset_to_none(v)),
                  "Taken only when this expression is true")
        self._add(form, "default", "", BooleanEditor("Default edge"),
                  lambda: flow.edge(key).default,
                  lambda v: SetEdgeFieldCommand(flow, key, "default", True if v else None),
                  "Taken when none of the node's conditional edges is")
        on = _OnEditor()
        self._add(form, "on", "On", on, lambda: flow.edge(key).on,
                  lambda v: SetEdgeFieldCommand(flow, key, "on", _unset_to_none(v)),
                  "success: after the node succeeds; error: after it fails")
        self._add(form, "label", "Label", TextEditor(check_template=False),
                  lambda: flow.edge(key).label,
                  lambda v: SetEdgeFieldCommand(flow, key, "label", _unset_to_none(v)))

    # -- keeping up with the model ------------------------------------------------
    def _on_change(self, change: Change) -> None:
        kind, ident = self.target
        if change.what == "reset":
            self.target = ("none", None)  # a new flow: build the form afresh
            self.show_flow()
            return
        if kind == "node":
            if change.what == "node_removed" and change.node is not None \
                    and change.node.id == ident:
                self.show_flow()
                return
            if change.what == "node_renamed" and change.old == ident:
                self.target = ("node", change.new)
        if kind == "edge" and change.what == "edge_removed" and change.edge is not None \
                and change.edge.key == ident:
            self.show_flow()
            return
        if not self._applying and self._concerns_target(change):
            self.refresh()

    def _concerns_target(self, change: Change) -> bool:
        """Whether ``change`` can alter what the form shows (moves never do)."""
        kind, ident = self.target
        if kind == "flow":
            return change.what == "flow_changed"
        if kind == "node":
            return change.what in ("node_changed", "node_renamed") and change.field != "pos" \
                and change.node is not None and change.node.id == ident
        if change.what == "node_renamed":
            return True  # the edge's ends are shown by id
        return change.what == "edge_changed" and change.edge is not None \
            and change.edge.key == ident

    def refresh(self) -> None:
        """Show the model's current values in every field of the form."""
        kind, ident = self.target
        if kind == "node" and not self.flow.has_node(ident):
            self.show_flow()
            return
        for refresh in self._refreshers:
            refresh()


class _RetryCommand(SetNodeFieldCommand):
    """Set ``retry``; merges only with edits of the same retry key (D2's addition)."""

    def __init__(self, flow: Flow, node_id: str, key: str, retry: Any) -> None:
        super().__init__(flow, node_id, "retry", retry)
        self.key = key

    def mergeWith(self, other: QUndoCommand) -> bool:  # noqa: N802 - Qt's name
        if getattr(other, "key", None) != self.key:
            return False
        return super().mergeWith(other)


class _OnEditor(FieldEditor):
    """``on``: success (the default, written only if the file had it) or error."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.combo = QComboBox(self)
        self.combo.addItems(["success", "error"])
        self.combo.currentTextChanged.connect(
            lambda text: self._emit("error" if text == "error" else UNSET))
        self._finish_layout(self.combo)

    def _show(self, value: Any) -> None:
        self.combo.setCurrentText("error" if value == "error" else "success")

