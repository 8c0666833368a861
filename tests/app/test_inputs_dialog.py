"""The inputs dialog: typed widgets from ``inputs``, defaults, required marks, refusals."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QCheckBox, QDoubleSpinBox, QLineEdit, QPlainTextEdit, QSpinBox

from app.inputs_dialog import InputsDialog
from engine.flowfile import flow_from_dict

FLOW = flow_from_dict({
    "format": "flowdesk/1", "name": "typed",
    "inputs": {"who": {"type": "string"}, "n": {"type": "integer", "default": 3},
               "ratio": {"type": "number", "default": 0.5},
               "loud": {"type": "boolean", "default": True},
               "opts": {"type": "object", "default": {"a": 1}},
               "items": {"type": "array"}},
    "nodes": [{"id": "start", "kind": "start"}, {"id": "end", "kind": "end"}],
    "edges": [{"from": "start", "to": "end"}]})


def _ok(dialog: InputsDialog, qtbot) -> None:  # noqa: ANN001
    qtbot.mouseClick(dialog.buttons.button(dialog.buttons.StandardButton.Ok),
                     Qt.MouseButton.LeftButton)


def test_widgets_follow_types_and_defaults(qtbot) -> None:  # noqa: ANN001
    dialog = InputsDialog(FLOW)
    qtbot.addWidget(dialog)
    w = dialog.widgets
    assert isinstance(w["who"], QLineEdit) and w["who"].text() == ""
    assert isinstance(w["n"], QSpinBox) and w["n"].value() == 3
    assert isinstance(w["ratio"], QDoubleSpinBox) and w["ratio"].value() == 0.5
    assert isinstance(w["loud"], QCheckBox) and w["loud"].isChecked()
    assert isinstance(w["opts"], QPlainTextEdit) and '"a": 1' in w["opts"].toPlainText()
    labels = [dialog.layout().itemAt(1).layout().itemAt(i, dialog.layout().itemAt(1).layout()
              .ItemRole.LabelRole).widget().text() for i in range(6)]
    assert "who * (string)" in labels and "n (integer)" in labels
    assert "items * (array)" in labels


def test_missing_required_and_wrong_type_are_refused(qtbot) -> None:  # noqa: ANN001
    dialog = InputsDialog(FLOW)
    qtbot.addWidget(dialog)
    dialog.show()
    _ok(dialog, qtbot)
    assert dialog.isVisible() and dialog.result() == 0
    assert dialog.error.text() == "Input 'who' is required"
    qtbot.keyClicks(dialog.widgets["who"], "ada")
    dialog.widgets["items"].setPlainText('{"not": "a list"}')
    _ok(dialog, qtbot)
    assert dialog.isVisible()
    assert dialog.error.text() == "Input 'items' must be an array, not dict"
    dialog.widgets["items"].setPlainText("[1, 2")
    _ok(dialog, qtbot)
    assert dialog.isVisible() and "Input 'items' must be JSON (array)" in dialog.error.text()
    # what was typed is kept
    assert dialog.widgets["who"].text() == "ada"
    dialog.widgets["items"].setPlainText("[1, 2]")
    _ok(dialog, qtbot)
    assert not dialog.isVisible() and dialog.result() == 1
    assert dialog.values() == {"who": "ada", "n": 3, "ratio": 0.5, "loud": True,
                               "opts": {"a": 1}, "items": [1, 2]}


def test_integer_widget_refuses_letters(qtbot) -> None:  # noqa: ANN001
    dialog = InputsDialog(FLOW)
    qtbot.addWidget(dialog)
    spin = dialog.widgets["n"]
    spin.lineEdit().selectAll()
    qtbot.keyClicks(spin, "x7y")
    assert spin.value() == 7
