"""A JSON value as a tree (QTreeView over a QStandardItemModel): key, value, type."""

from __future__ import annotations

import json
from typing import Any

from PySide6.QtGui import QStandardItem, QStandardItemModel
from PySide6.QtWidgets import QTreeView, QWidget

MAX_CHILDREN = 1000


def _type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return f"array [{len(value)}]"
    if isinstance(value, dict):
        return f"object {{{len(value)}}}"
    return type(value).__name__


def _scalar(value: Any) -> str:
    if isinstance(value, (dict, list)):
        return ""
    if isinstance(value, str):
        return value if len(value) <= 500 else value[:500] + "…"
    return json.dumps(value)


class JsonTree(QTreeView):
    """Shows one JSON document; objects and arrays expand."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model_ = QStandardItemModel(0, 3, self)
        self.model_.setHorizontalHeaderLabels(["Key", "Type", "Value"])
        self.setModel(self.model_)
        self.setUniformRowHeights(True)
        self.setAlternatingRowColors(True)

    def set_value(self, value: Any) -> None:
        self.model_.removeRows(0, self.model_.rowCount())
        self._add(self.model_.invisibleRootItem(), "output", value)
        self.expandToDepth(1)
        self.resizeColumnToContents(0)
        self.resizeColumnToContents(1)

    def _add(self, parent: QStandardItem, key: str, value: Any) -> None:
        row = [QStandardItem(key), QStandardItem(_type(value)), QStandardItem(_scalar(value))]
        for item in row:
            item.setEditable(False)
        parent.appendRow(row)
        if isinstance(value, dict):
            for i, (k, v) in enumerate(value.items()):
                if i >= MAX_CHILDREN:
                    row[0].appendRow([QStandardItem("…"), QStandardItem(""), QStandardItem(
                        f"{len(value) - MAX_CHILDREN} more")])
                    break
                self._add(row[0], str(k), v)
        elif isinstance(value, list):
            for i, v in enumerate(value[:MAX_CHILDREN]):
                self._add(row[0], f"[{i}]", v)

    def values_text(self) -> list[str]:
        """Every key=value line, depth first (what a person reads off the tree)."""
        out: list[str] = []

        def walk(item: QStandardItem) -> None:
            for r in range(item.rowCount()):
                key = item.child(r, 0)
                val = item.child(r, 2)
                out.append(f"{key.text()}={val.text() if val else ''}")
                walk(key)

        walk(self.model_.invisibleRootItem())
        return out
