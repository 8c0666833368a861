"""docs/flow-format.md describes every field and every kind's config that the code knows."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from engine.kinds import KINDS
from engine.model import EDGE_FIELDS, FLOW_FIELDS, INPUT_TYPES, NODE_FIELDS

DOC = (Path(__file__).resolve().parents[2] / "docs" / "flow-format.md").read_text(
    encoding="utf-8")


def section(title: str) -> str:
    match = re.search(rf"^#+ {re.escape(title)}\n(.*?)(?=^#+ )", DOC, re.S | re.M)
    assert match, f"docs/flow-format.md has no section {title!r}"
    return match.group(1)


def test_every_top_level_node_and_edge_field_is_in_its_table() -> None:
    for title, fields in (("Top level", FLOW_FIELDS), ("Nodes", NODE_FIELDS),
                          ("Edges", EDGE_FIELDS)):
        text = section(title)
        for name in fields:
            assert f"`{name}`" in text, f"{title}: {name} is not described"
    for typ in INPUT_TYPES:
        assert f"`{typ}`" in section("Inputs")


@pytest.mark.parametrize("kind", list(KINDS))
def test_every_kind_and_config_key_is_described(kind: str) -> None:
    text = section(f"`{kind}`")
    for field in KINDS[kind].fields:
        assert f"| `{field.name}` |" in text, f"{kind}.{field.name} is not in its table"
        assert ("| yes |" in text) or not field.required
