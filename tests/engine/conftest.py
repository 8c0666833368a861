"""Fixtures of the engine's tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from engine.runs import RunStore


@pytest.fixture
def store(store_url: str) -> Iterator[RunStore]:
    """A RunStore on SQLite and on PostgreSQL (see ``store_url``), closed afterwards."""
    s = RunStore.open(store_url)
    yield s
    s.close()
