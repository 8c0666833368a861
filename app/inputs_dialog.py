"""The dialog that asks for a flow's inputs before a run, generated from ``inputs``.

Each declared input gets a widget of its type (text, whole number, number,
check box, JSON text for objects and arrays), filled with its default. An input
without a default is required and marked with ``*``. OK checks every value and
refuses a wrong one with one sentence that names the input; nothing is lost.
"""

from __future__ import annotations

import json
from typing import Any

from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from engine.model import Flow

INT_LIMIT = 2_000_000_000


class InputsDialog(QDialog):
    """Typed widgets for every input; :meth:`values` gives the checked, typed values."""

    def __init__(self, flow: Flow, initial: dict[str, Any] | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.flow = flow
        self.setWindowTitle(f"Run {flow.name}")
        self.setObjectName("inputsDialog")
        self.widgets: dict[str, QWidget] = {}
        self._values: dict[str, Any] | None = None
        layout = QVBoxLayout(self)
        intro = QLabel(f"Inputs of <b>{flow.name}</b> (<b>*</b> = required)")
        layout.addWidget(intro)
        form = QFormLayout()
        layout.addLayout(form)
        initial = initial or {}
        for name, decl in (flow.inputs or {}).items():
            typ = decl.get("type", "string")
            has_default = "default" in decl
            value = initial.get(name, decl.get("default"))
            widget = self._make_widget(typ, value, name in initial or has_default)
            widget.setObjectName(f"input_{name}")
            if decl.get("description"):
                widget.setToolTip(str(decl["description"]))
            label = f"{name} *" if not has_default else name
            form.addRow(f"{label} ({typ})", widget)
            self.widgets[name] = widget
        self.error = QLabel("")
        self.error.setObjectName("inputsError")
        self.error.setWordWrap(True)
        self.error.setForegroundRole(self.error.palette().ColorRole.BrightText)
        layout.addWidget(self.error)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                        | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Run")
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)

    @staticmethod
    def _make_widget(typ: str, value: Any, has_value: bool) -> QWidget:
        if typ == "integer":
            spin = QSpinBox()
            spin.setRange(-INT_LIMIT, INT_LIMIT)
            if has_value and isinstance(value, int):
                spin.setValue(value)
            return spin
        if typ == "number":
            dspin = QDoubleSpinBox()
            dspin.setRange(-1e15, 1e15)
            dspin.setDecimals(6)
            if has_value and isinstance(value, (int, float)):
                dspin.setValue(float(value))
            return dspin
        if typ == "boolean":
            check = QCheckBox()
            check.setChecked(bool(value) if has_value else False)
            return check
        if typ in ("object", "array"):
            text = QPlainTextEdit()
            text.setPlaceholderText("{ }" if typ == "object" else "[ ]")
            text.setFixedHeight(80)
            if has_value:
                text.setPlainText(json.dumps(value, indent=2))
            return text
        line = QLineEdit()
        if has_value and value is not None:
            line.setText(str(value))
        return line

    def raw_value(self, name: str) -> tuple[bool, Any]:
        """(given, value) of one widget, with JSON parsed; ValueError on bad JSON."""
        decl = (self.flow.inputs or {})[name]
        typ = decl.get("type", "string")
        widget = self.widgets[name]
        if isinstance(widget, QSpinBox):
            return True, widget.value()
        if isinstance(widget, QDoubleSpinBox):
            return True, widget.value()
        if isinstance(widget, QCheckBox):
            return True, widget.isChecked()
        if isinstance(widget, QPlainTextEdit):
            text = widget.toPlainText().strip()
            if not text:
                return False, None
            try:
                value = json.loads(text)
            except ValueError as exc:
                raise ValueError(f"input '{name}' must be JSON ({typ}): {exc.args[0]}") from None
            want = dict if typ == "object" else list
            if not isinstance(value, want):
                article = "an object" if typ == "object" else "an array"
                raise ValueError(f"input '{name}' must be {article}, not "
                                 f"{type(value).__name__}")
            return True, value
        assert isinstance(widget, QLineEdit)
        text = widget.text()
        if text == "" and "default" not in decl:
            return False, None
        return True, text

    def collect(self) -> dict[str, Any]:
        """Every value, typed and checked (defaults applied); ValueError names the input."""
        values: dict[str, Any] = {}
        for name, decl in (self.flow.inputs or {}).items():
            given, value = self.raw_value(name)
            if given:
                values[name] = value
            elif "default" not in decl:
                raise ValueError(f"input '{name}' is required")
        try:
            from engine.runs import check_inputs
        except ImportError:  # the run store has not landed: the widgets typed them already
            return values
        return check_inputs(self.flow, values)

    def accept(self) -> None:
        try:
            self._values = self.collect()
        except ValueError as exc:
            message = str(exc)
            self.error.setText(message[:1].upper() + message[1:])
            return
        self.error.setText("")
        super().accept()

    def values(self) -> dict[str, Any]:
        """The accepted values (empty before OK)."""
        return dict(self._values or {})
