"""Opening a store: the URL, the connection settings, and migrations on open.

``open_engine(url)`` is the one way to get a SQLAlchemy engine on a store; it
applies every Alembic migration first, so code never meets an old schema.
The default store is SQLite in the user data folder (``FLOWDESK_HOME``
overrides the folder, ``FLOWDESK_STORE`` the whole URL).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DatabaseError
from sqlalchemy.pool import NullPool

MIGRATIONS = Path(__file__).with_name("migrations")


class StoreError(RuntimeError):
    """A store that cannot be opened or used; the message is one clear sentence."""


def data_dir() -> Path:
    """Where the default store, keys and automatic backups live."""
    home = os.environ.get("FLOWDESK_HOME")
    if home:
        return Path(home)
    import platformdirs

    return Path(platformdirs.user_data_dir("flowdesk", appauthor=False))


PG_CONNECT_TIMEOUT = 10
"""Seconds to wait for a PostgreSQL server to answer, unless the URL or $PGCONNECT_TIMEOUT say."""


def default_url() -> str:
    """$FLOWDESK_STORE (a URL or a SQLite path, as ``--store`` takes), else the data folder."""
    url = os.environ.get("FLOWDESK_STORE")
    if url:
        return url if "://" in url else f"sqlite:///{Path(url).expanduser().resolve()}"
    return f"sqlite:///{data_dir() / 'flowdesk.db'}"


def resolve_url(url: str | None) -> str:
    """A SQLAlchemy URL for ``--store``: a URL, a bare path to a SQLite file, or the default."""
    if not url:
        return default_url()
    if "://" not in url:
        return f"sqlite:///{Path(url).expanduser().resolve()}"
    return url


def describe(url: str) -> str:
    """The URL with any password hidden, for messages and logs."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return url


def _sqlite_setup(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event issue BEGIN itself (pysqlite's own is lazy).
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
        conn.exec_driver_sql(f"BEGIN {mode}")


def create_store_engine(url: str) -> Engine:
    """An engine with the store's connection settings, without migrating."""
    try:
        u = make_url(url)
    except ArgumentError:
        raise StoreError(f"'{url}' is not a store URL (try sqlite:///path.db or "
                         "postgresql+psycopg://user@host/db)") from None
    if u.get_backend_name() == "sqlite":
        db = u.database
        if db and db != ":memory:":
            Path(db).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(u, poolclass=NullPool) if not db or db == ":memory:" else \
            create_engine(u, pool_size=8, max_overflow=16,
                          connect_args={"check_same_thread": False, "timeout": 30})
        _sqlite_setup(engine)
        return engine
    if u.get_backend_name() == "postgresql":
        # A host that accepts the connection but never answers would hang every command.
        waits = "connect_timeout" in u.query or os.environ.get("PGCONNECT_TIMEOUT")
        return create_engine(u, pool_size=8, max_overflow=16, pool_pre_ping=True,
                             connect_args={} if waits else {"connect_timeout": PG_CONNECT_TIMEOUT})
    raise StoreError(f"unsupported store '{describe(url)}': use sqlite:// or "
                     "postgresql+psycopg://")


def _alembic_config(connection: Connection) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = connection
    return cfg


def head_revision() -> str:
    script = ScriptDirectory.from_config(_alembic_config(None))  # type: ignore[arg-type]
    head = script.get_current_head()
    assert head is not None
    return head


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def migrate(engine: Engine) -> None:
    """Bring the store's schema up to date (a no-op when it already is)."""
    if current_revision(engine) == head_revision():
        return
    with engine.connect() as conn:
        if conn.dialect.name == "sqlite":
            conn = conn.execution_options(sqlite_begin="IMMEDIATE")
        with conn.begin():
            command.upgrade(_alembic_config(conn), "head")


def open_engine(url: str | None = None) -> Engine:
    """Open (creating if needed) and migrate the store at ``url``; errors are :class:`StoreError`."""
    url = resolve_url(url)
    engine = create_store_engine(url)
    try:
        migrate(engine)
    except DatabaseError as exc:  # unreachable server, or a file that is not SQLite
        engine.dispose()
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        raise StoreError(f"cannot open the store {describe(url)}: {reason}") from None
    return engine


@contextmanager
def write_transaction(engine: Engine) -> Iterator[Connection]:
    """A transaction that takes SQLite's write lock up front (no upgrade deadlocks)."""
    with engine.connect() as conn:
        if conn.dialect.name == "sqlite":
            conn = conn.execution_options(sqlite_begin="IMMEDIATE")
        with conn.begin():
            yield conn
