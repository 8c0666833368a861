"""Fixtures for the server tests: a live server over a real socket, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from server_live import LiveServer


@pytest.fixture
def server(store_url: str) -> Iterator[LiveServer]:
    """A running server (embedded worker) on this test's store."""
    live = LiveServer(store_url).start()
    yield live
    live.stop()


@pytest.fixture
def sqlite_server(sqlite_url: str) -> Iterator[LiveServer]:
    live = LiveServer(sqlite_url).start()
    yield live
    live.stop()
