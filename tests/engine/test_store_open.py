"""Opening a store creates it and applies every migration, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import inspect

from engine.store import StoreError, open_engine
from engine.store.db import current_revision, head_revision
from engine.store.schema import metadata


def test_open_migrates_to_head(store_url: str) -> None:
    engine = open_engine(store_url)
    try:
        assert current_revision(engine) == head_revision()
        tables = set(inspect(engine).get_table_names())
        assert set(metadata.tables) <= tables
        open_engine(store_url).dispose()  # a second open is a no-op, not an error
    finally:
        engine.dispose()


def test_default_store_lives_in_flowdesk_home(flowdesk_home) -> None:
    engine = open_engine(None)
    engine.dispose()
    assert (flowdesk_home / "flowdesk.db").exists()


@pytest.mark.parametrize("url", ["nonsense://x", "postgresql+psycopg://nobody@127.0.0.1:1/x"])
def test_bad_store_is_one_clear_error(url: str) -> None:
    with pytest.raises(StoreError) as info:
        open_engine(url)
    assert "\n" not in str(info.value)
