"""The durable store: tables, migrations and opening (see :mod:`engine.store.db`)."""

from engine.store.db import (
    StoreError,
    data_dir,
    default_url,
    describe,
    open_engine,
    resolve_url,
    write_transaction,
)

__all__ = ["StoreError", "data_dir", "default_url", "describe", "open_engine", "resolve_url",
           "write_transaction"]
