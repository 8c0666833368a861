"""Editors for one value each, used by the property editor to build its forms.

Every editor shows a value with :meth:`FieldEditor.set_value` (which never
emits) and announces the user's edits through ``edited(object)``. ``UNSET``
means "remove this key". A text the editor cannot turn into a value (bad JSON,
a number that is not one) is never applied: the editor shows one sentence of
error below itself and keeps the model as it was.
"""

from __future__ import annotations

import json
import keyword
import re
from typing import Any

from PySide6.QtCore import QRegularExpression, Signal
from PySide6.QtGui import (
    QColor,
    QFont,
    QFontDatabase,
    QSyntaxHighlighter,
    QTextCharFormat,
    QTextDocument,
)
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from engine.expressions import check_expression, check_templates
from engine.kinds import ConfigField

__all__ = [
    "UNSET", "ArgsEditor", "BooleanEditor", "ChoiceEditor", "CodeEditor", "ExpressionEditor", "FieldEditor",
    "JsonEditor", "KeyValueEditor", "ListEditor", "NumberEditor", "PythonHighlighter",
    "TextEditor", "editor_for",
]

_LONE_TEMPLATE = re.compile(r"^\s*\{\{.*\}\}\s*$", re.DOTALL)


class _Unset:
    """The value of a key that the user emptied: the key is removed."""

    def __repr__(self) -> str:
        return "UNSET"


UNSET: Any = _Unset()


class FieldEditor(QWidget):
    """A labelled value editor with an inline error line."""

    edited = Signal(object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._layout.setSpacing(2)
        self.error_label = QLabel(self)
        self.error_label.setObjectName("fieldError")
        self.error_label.setStyleSheet("color: #c62828;")
        self.error_label.setWordWrap(True)
        self.error_label.hide()
        self._quiet = False

    def _finish_layout(self, main: QWidget) -> None:
        self._layout.addWidget(main)
        self._layout.addWidget(self.error_label)

    @property
    def error(self) -> str:
        return self.error_label.text() if not self.error_label.isHidden() else ""

    def show_error(self, message: str | None) -> None:
        if message:
            self.error_label.setText(message)
            self.error_label.show()
        else:
            self.error_label.clear()
            self.error_label.hide()

    def set_value(self, value: Any) -> None:
        """Show ``value`` (``None`` or ``UNSET``: nothing) without emitting ``edited``."""
        self._quiet = True
        try:
            self.show_error(None)
            self._show(None if value is UNSET else value)
        finally:
            self._quiet = False

    def _show(self, value: Any) -> None:
        raise NotImplementedError

    def _emit(self, value: Any) -> None:
        if not self._quiet:
            self.edited.emit(value)


class TextEditor(FieldEditor):
    """One line of text; empty means unset. Templates inside are checked as you type."""

    def __init__(self, parent: QWidget | None = None, *, check_template: bool = True,
                 placeholder: str = "") -> None:
        super().__init__(parent)
        self.line = QLineEdit(self)
        self.line.setPlaceholderText(placeholder)
        self.check_template = check_template
        self.line.textEdited.connect(self._on_edit)
        self._finish_layout(self.line)

    def _show(self, value: Any) -> None:
        text = "" if value is None else str(value)
        if self.line.text() != text:
            self.line.setText(text)
            self.line.setCursorPosition(0)

    def _on_edit(self, text: str) -> None:
        self.show_error(check_templates(text) if self.check_template else None)
        self._emit(text if text else UNSET)


class ExpressionEditor(FieldEditor):
    """A bare expression (an edge's ``when``) with live syntax checking shown inline.

    A syntax error is shown and the text is still applied, so nothing typed is
    lost; the problems panel lists it too.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.line = QLineEdit(self)
        self.line.setPlaceholderText("e.g. nodes.fetch.output.status == 200")
        mono = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        self.line.setFont(mono)
        self.line.textEdited.connect(self._on_edit)
        self._finish_layout(self.line)

    def _show(self, value: Any) -> None:
        self.line.setText("" if value is None else str(value))
        self._check(self.line.text())

    def _check(self, text: str) -> None:
        self.show_error(check_expression(text) if text.strip() else None)

    def _on_edit(self, text: str) -> None:
        self._check(text)
        self._emit(text if text.strip() else UNSET)


class NumberEditor(FieldEditor):
    """A number (or integer), or a lone ``{{ expr }}`` template; empty means unset."""

    def __init__(self, parent: QWidget | None = None, *, integer: bool = False,
                 allow_template: bool = True, minimum: float | None = None,
                 placeholder: str = "") -> None:
        super().__init__(parent)
        self.integer = integer
        self.allow_template = allow_template
        self.minimum = minimum
        self.line = QLineEdit(self)
        self.line.setPlaceholderText(placeholder)
        self.line.textEdited.connect(self._on_edit)
        self._finish_layout(self.line)

    def _show(self, value: Any) -> None:
        self.line.setText("" if value is None else str(value))

    def parse(self, text: str) -> Any:
        """The value of ``text``; raises ValueError with a one-sentence message."""
        text = text.strip()
        if not text:
            return UNSET
        if self.allow_template and _LONE_TEMPLATE.match(text):
            if err := check_templates(text):
                raise ValueError(err)
            return text
        what = "a whole number" if self.integer else "a number"
        try:
            value: Any = int(text) if self.integer else float(text)
        except ValueError:
            raise ValueError(f"'{text}' is not {what}.") from None
        if not self.integer and value == int(value) and "." not in text and "e" not in text:
            value = int(value)
        if self.minimum is not None and value < self.minimum:
            raise ValueError(f"must be at least {self.minimum:g}.")
        return value

    def _on_edit(self, text: str) -> None:
        try:
            value = self.parse(text)
        except ValueError as exc:
            self.show_error(str(exc))
            return
        self.show_error(None)
        self._emit(value)


class BooleanEditor(FieldEditor):
    """A check box; shows the kind's default when the key is unset."""

    def __init__(self, text: str = "", parent: QWidget | None = None, *,
                 default: bool = False) -> None:
        super().__init__(parent)
        self.default = default
        self.box = QCheckBox(text, self)
        self.box.toggled.connect(lambda on: self._emit(bool(on)))
        self._finish_layout(self.box)

    def _show(self, value: Any) -> None:
        self.box.setChecked(bool(self.default if value is None else value))


class ChoiceEditor(FieldEditor):
    """One of a fixed list of strings (an editable combo also takes a template)."""

    def __init__(self, choices: tuple[str, ...], parent: QWidget | None = None, *,
                 default: str | None = None) -> None:
        super().__init__(parent)
        self.default = default
        self.combo = QComboBox(self)
        self.combo.addItems(list(choices))
        self.combo.currentTextChanged.connect(self._on_change)
        self._finish_layout(self.combo)

    def _show(self, value: Any) -> None:
        text = value if isinstance(value, str) else (self.default or "")
        if self.combo.findText(text) < 0:
            self.combo.addItem(text)
        self.combo.setCurrentText(text)

    def _on_change(self, text: str) -> None:
        self._emit(text)


class PythonHighlighter(QSyntaxHighlighter):
    """Python colouring for the ``code`` editor: keywords, strings, numbers, comments."""

    def __init__(self, document: QTextDocument) -> None:
        super().__init__(document)

        def fmt(color: str, bold: bool = False, italic: bool = False) -> QTextCharFormat:
            f = QTextCharFormat()
            f.setForeground(QColor(color))
            if bold:
                f.setFontWeight(QFont.Weight.Bold)
            f.setFontItalic(italic)
            return f

        words = "|".join(keyword.kwlist)
        builtins = "print|len|range|dict|list|str|int|float|bool|set|tuple|min|max|sum|sorted"
        self.rules: list[tuple[QRegularExpression, QTextCharFormat]] = [
            (QRegularExpression(rf"\b({words})\b"), fmt("#0033b3", bold=True)),
            (QRegularExpression(rf"\b({builtins})\b"), fmt("#7a3e9d")),
            (QRegularExpression(r"\b(result|inputs|vars|nodes)\b"), fmt("#00627a", bold=True)),
            (QRegularExpression(r"\b[0-9]+(\.[0-9]*)?\b"), fmt("#1750eb")),
            (QRegularExpression(r"'[^'\\]*(\\.[^'\\]*)*'"), fmt("#067d17")),
            (QRegularExpression(r'"[^"\\]*(\\.[^"\\]*)*"'), fmt("#067d17")),
            (QRegularExpression(r"#[^\n]*"), fmt("#8c8c8c", italic=True)),
        ]
        self.keyword_format = self.rules[0][1]
        self.string_format = self.rules[4][1]
        self.comment_format = self.rules[-1][1]

    # Block states: the line ends inside a ''' string (1) or a """ string (2).
    TRIPLES = {1: "'''", 2: '"""'}

    def highlightBlock(self, text: str) -> None:  # noqa: N802 - Qt's name
        for pattern, form in self.rules:
            it = pattern.globalMatch(text)
            while it.hasNext():
                m = it.next()
                self.setFormat(m.capturedStart(), m.capturedLength(), form)
        self._triple_quoted(text)

    def _triple_quoted(self, text: str) -> None:
        """Colour triple-quoted strings that span lines; the block state carries them on."""
        self.setCurrentBlockState(0)
        pos, state = 0, self.previousBlockState()
        while True:
            if state in self.TRIPLES:
                start, delim = pos, self.TRIPLES[state]
                search_from = pos
            else:
                found = [(i, d) for d in self.TRIPLES.values()
                         if (i := text.find(d, pos)) != -1]
                if not found:
                    return
                start, delim = min(found)
                if self.format(start) == self.comment_format:
                    return  # quotes inside a comment open nothing (the comment runs to the end)
                search_from = start + 3
            end = text.find(delim, search_from)
            if end == -1:
                self.setFormat(start, len(text) - start, self.string_format)
                self.setCurrentBlockState(1 if delim == self.TRIPLES[1] else 2)
                return
            self.setFormat(start, end + 3 - start, self.string_format)
            pos, state = end + 3, 0


class _PlainText(FieldEditor):
    """A multi-line monospace text box applied on every keystroke."""

    def __init__(self, parent: QWidget | None = None, *, lines: int = 8) -> None:
        super().__init__(parent)
        self.text = QPlainTextEdit(self)
        self.text.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.text.setTabChangesFocus(False)
        self.text.setMinimumHeight(lines * self.text.fontMetrics().height() + 12)
        self.text.textChanged.connect(self._changed)
        self._finish_layout(self.text)

    def _set_text(self, text: str) -> None:
        if self.text.toPlainText() != text:
            self.text.setPlainText(text)

    def _changed(self) -> None:
        if not self._quiet:
            self._on_text(self.text.toPlainText())

    def _on_text(self, text: str) -> None:
        raise NotImplementedError


class CodeEditor(_PlainText):
    """Python source with syntax highlighting; a syntax error is shown, still applied."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent, lines=10)
        self.text.setTabStopDistance(4 * self.text.fontMetrics().horizontalAdvance(" "))
        self.highlighter = PythonHighlighter(self.text.document())

    def _show(self, value: Any) -> None:
        self._set_text("" if value is None else str(value))
        self._check(self.text.toPlainText())

    def _check(self, text: str) -> None:
        try:
            compile(text, "<python node>", "exec")
        except SyntaxError as exc:
            self.show_error(f"Python syntax error on line {exc.lineno}: {exc.msg}.")
        else:
            self.show_error(None)

    def _on_text(self, text: str) -> None:
        self._check(text)
        self._emit(text if text else UNSET)


class JsonEditor(_PlainText):
    """Any JSON value (the ``template`` fields); text that is not JSON is not applied."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent, lines=5)

    def _show(self, value: Any) -> None:
        self._set_text("" if value is None else json.dumps(value, indent=2, ensure_ascii=False))

    def _on_text(self, text: str) -> None:
        if not text.strip():
            self.show_error(None)
            self._emit(UNSET)
            return
        try:
            value = json.loads(text)
        except json.JSONDecodeError as exc:
            self.show_error(f"Not valid JSON: {exc.msg} at line {exc.lineno} column "
                            f"{exc.colno}; the last valid value is kept.")
            return
        self.show_error(check_templates(value))
        self._emit(value)


class _Table(FieldEditor):
    """A table with + and − buttons; subclasses turn its rows into a value."""

    def __init__(self, headers: list[str], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        box = QWidget(self)
        col = QVBoxLayout(box)
        col.setContentsMargins(0, 0, 0, 0)
        self.table = QTableWidget(0, len(headers), box)
        self.table.setHorizontalHeaderLabels(headers)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.table.verticalHeader().hide()
        self.table.setMinimumHeight(90)
        self.table.itemChanged.connect(lambda _item: self._changed())
        buttons = QHBoxLayout()
        self.add_button = QPushButton("+", box)
        self.add_button.setToolTip("Add a row")
        self.remove_button = QPushButton("−", box)
        self.remove_button.setToolTip("Remove the selected row")
        for b in (self.add_button, self.remove_button):
            b.setFixedWidth(32)
            buttons.addWidget(b)
        buttons.addStretch(1)
        self.add_button.clicked.connect(self.add_row)
        self.remove_button.clicked.connect(self.remove_row)
        col.addWidget(self.table)
        col.addLayout(buttons)
        self._finish_layout(box)

    def _fill(self, rows: list[list[str]]) -> None:
        self.table.blockSignals(True)
        try:
            self.table.setRowCount(0)
            for row in rows:
                r = self.table.rowCount()
                self.table.insertRow(r)
                for c, text in enumerate(row):
                    self.table.setItem(r, c, QTableWidgetItem(text))
        finally:
            self.table.blockSignals(False)

    def rows(self) -> list[list[str]]:
        out = []
        for r in range(self.table.rowCount()):
            row = []
            for c in range(self.table.columnCount()):
                item = self.table.item(r, c)
                row.append(item.text() if item is not None else "")
            out.append(row)
        return out

    def add_row(self) -> None:
        self.table.blockSignals(True)
        r = self.table.rowCount()
        self.table.insertRow(r)
        for c in range(self.table.columnCount()):
            self.table.setItem(r, c, QTableWidgetItem(""))
        self.table.blockSignals(False)
        self.table.setCurrentCell(r, 0)
        self.table.editItem(self.table.item(r, 0))

    def remove_row(self) -> None:
        r = self.table.currentRow()
        if r < 0:
            r = self.table.rowCount() - 1
        if r >= 0:
            self.table.removeRow(r)
            self._changed()

    def _changed(self) -> None:
        if self._quiet:
            return
        try:
            value = self.value_of_rows(self.rows())
        except ValueError as exc:
            self.show_error(str(exc))
            return
        self.show_error(None)
        self._emit(value)

    def value_of_rows(self, rows: list[list[str]]) -> Any:
        raise NotImplementedError


def _cell_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def _cell_value(text: str, *, json_values: bool) -> Any:
    """A cell's value: JSON when asked (numbers in ok_status) or when it is an object/list."""
    stripped = text.strip()
    if json_values or stripped[:1] in ("{", "["):
        try:
            return json.loads(stripped)
        except json.JSONDecodeError:
            return text
    return text


class KeyValueEditor(_Table):
    """A name → value table for ``map`` fields (headers, env, vars, outputs)."""

    def __init__(self, parent: QWidget | None = None, *, key_header: str = "name",
                 value_header: str = "value") -> None:
        super().__init__([key_header, value_header], parent)

    def _show(self, value: Any) -> None:
        items = value.items() if isinstance(value, dict) else []
        self._fill([[k, _cell_text(v)] for k, v in items])

    def value_of_rows(self, rows: list[list[str]]) -> Any:
        out: dict[str, Any] = {}
        for key, text in rows:
            key = key.strip()
            if not key:
                if text.strip():
                    raise ValueError("Every value needs a name; the table is not applied.")
                continue
            if key in out:
                raise ValueError(f"The name '{key}' appears twice; the table is not applied.")
            out[key] = _cell_value(text, json_values=False)
        if err := check_templates(out):
            self.show_error(err)
        return out if out else UNSET


class ListEditor(_Table):
    """A list of values, one a row (``args`` as strings, ``list`` cells read as JSON)."""

    def __init__(self, parent: QWidget | None = None, *, header: str = "value",
                 json_values: bool = False) -> None:
        super().__init__([header], parent)
        self.json_values = json_values

    def _show(self, value: Any) -> None:
        items = value if isinstance(value, list) else ([value] if value else [])
        self._fill([[_cell_text(v)] for v in items])

    def value_of_rows(self, rows: list[list[str]]) -> Any:
        out = [_cell_value(text, json_values=self.json_values) for (text,) in rows
               if text != ""]
        return out if out else UNSET


class ArgsEditor(ListEditor):
    """A shell command: a list of arguments, one a row; a command line given as one
    string (with ``shell: true``) stays one string while it is one row."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent, header="argument")
        self.as_string = False

    def _show(self, value: Any) -> None:
        self.as_string = isinstance(value, str)
        super()._show(value)

    def value_of_rows(self, rows: list[list[str]]) -> Any:
        value = super().value_of_rows(rows)
        if self.as_string and isinstance(value, list) and len(value) == 1:
            return value[0]
        return value


def editor_for(field: ConfigField, parent: QWidget | None = None) -> FieldEditor:
    """The editor of one config field, chosen by its type in the kinds registry."""
    t = field.type
    if t == "string":
        return TextEditor(parent)
    if t in ("number", "integer"):
        placeholder = "" if field.default is None else f"default {field.default}"
        return NumberEditor(parent, integer=t == "integer", placeholder=placeholder)
    if t == "boolean":
        return BooleanEditor(field.description, parent, default=bool(field.default))
    if t == "choice":
        return ChoiceEditor(field.choices, parent, default=field.default)
    if t == "code":
        return CodeEditor(parent)
    if t == "template":
        return JsonEditor(parent)
    if t == "map":
        return KeyValueEditor(parent)
    if t == "args":
        return ArgsEditor(parent)
    if t == "list":
        return ListEditor(parent, json_values=True)
    return JsonEditor(parent)
