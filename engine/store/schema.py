"""The store's tables (SQLAlchemy Core), shared by the engine, server and backups.

Times are ``*_at`` columns holding UTC seconds since the epoch (floats): the
same on SQLite and PostgreSQL, cheap to compare, and turned into ISO 8601 only
at the edges (CLI, API). JSON columns hold JSON documents.

Changing a table means a new Alembic migration in ``migrations/versions``;
backups name the schema version they were taken at and are generic over the
tables listed here (:data:`metadata` in dependency order).
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData()

# An auto-increment id that is a 64-bit integer on PostgreSQL and SQLite's rowid.
BigId = BigInteger().with_variant(Integer(), "sqlite")

flows = Table(
    "flows", metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("name", String(200), nullable=False),
    Column("version", Integer, nullable=False),
    Column("definition", JSON, nullable=False),
    Column("created_at", Float, nullable=False),
    Column("created_by", String(200)),
    Column("archived", Boolean, nullable=False, default=False),
    UniqueConstraint("name", "version", name="uq_flows_name_version"),
)

runs = Table(
    "runs", metadata,
    Column("id", String(32), primary_key=True),
    Column("flow_name", String(200), nullable=False),
    Column("flow_version", Integer),          # set when the run is of a deployed flow
    Column("source", Text),                   # the file the run was started from, if any
    Column("definition", JSON, nullable=False),  # immutable snapshot
    Column("inputs", JSON, nullable=False),
    Column("status", String(16), nullable=False),
    Column("outputs", JSON),
    Column("error", Text),
    Column("created_at", Float, nullable=False),
    Column("started_at", Float),
    Column("finished_at", Float),
    Column("updated_at", Float, nullable=False),
    Column("created_by", String(200)),
    Column("parent_run_id", String(32), index=True),
    Column("parent_node_id", String(200)),
    Column("depth", Integer, nullable=False, default=0),
    Column("detached", Boolean, nullable=False, default=False),  # queued for workers
    Column("owner", String(200)),             # the process executing it ("host:pid:token")
    Column("lease_until", Float),
    Column("cancel_requested", Boolean, nullable=False, default=False),
    Index("ix_runs_status", "status"),
    Index("ix_runs_created_at", "created_at"),
)

node_states = Table(
    "node_states", metadata,
    Column("run_id", String(32), ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True),
    Column("node_id", String(200), primary_key=True),
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False, default=0),   # attempts that count
    Column("output", JSON),
    Column("error", Text),
    Column("started_at", Float),
    Column("finished_at", Float),
    Column("ready_at", Float),        # not before: retry backoff, durable delay due time
    Column("taken", Integer, nullable=False, default=0),      # incoming edges taken
    Column("dead", Integer, nullable=False, default=0),       # incoming edges dead
    Column("decision", JSON),         # approval: {approved, by, comment}
    Column("claimed_by", String(200)),
    Column("lease_until", Float),
    Column("cancel_requested", Boolean, nullable=False, default=False),
    Index("ix_node_states_status", "status"),
)

edge_states = Table(
    "edge_states", metadata,
    Column("run_id", String(32), ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True),
    Column("edge_index", Integer, primary_key=True),
    Column("state", String(8), nullable=False),   # taken | dead
)

attempts = Table(
    "attempts", metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("run_id", String(32), ForeignKey("runs.id", ondelete="CASCADE"), nullable=False),
    Column("node_id", String(200), nullable=False),
    Column("attempt", Integer, nullable=False),
    Column("status", String(16), nullable=False),  # running succeeded failed interrupted cancelled
    Column("started_at", Float, nullable=False),
    Column("finished_at", Float),
    Column("error", Text),
    Column("worker", String(200)),
    Index("ix_attempts_run_node", "run_id", "node_id"),
)

events = Table(
    "events", metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("run_id", String(32), nullable=False),
    Column("ts", Float, nullable=False),
    Column("type", String(32), nullable=False),
    Column("node_id", String(200)),
    Column("data", JSON),
    Index("ix_events_run_id", "run_id", "id"),
)

logs = Table(
    "logs", metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("run_id", String(32), ForeignKey("runs.id", ondelete="CASCADE"), nullable=False),
    Column("node_id", String(200), nullable=False),
    Column("attempt", Integer, nullable=False),
    Column("stream", String(8), nullable=False),  # stdout | stderr
    Column("text", Text, nullable=False),
    Column("ts", Float, nullable=False),
    Index("ix_logs_run_node", "run_id", "node_id"),
)

settings = Table(
    "settings", metadata,
    Column("key", String(200), primary_key=True),
    Column("value", JSON),
)


# --- auth: users, tokens, login throttling, audit log (migration 0002) -----------------------

users = Table(
    "users", metadata,
    Column("username", String(200), primary_key=True),
    Column("password_hash", Text, nullable=False),
    Column("roles", JSON, nullable=False),            # a list of role names
    Column("disabled", Boolean, nullable=False, default=False),
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
    Column("tokens_valid_after", Float),              # access tokens issued before are refused
)

refresh_tokens = Table(
    "refresh_tokens", metadata,
    Column("token_hash", String(64), primary_key=True),  # sha256 hex; the token is never stored
    Column("family", String(32), nullable=False),
    Column("username", String(200), nullable=False),
    Column("issued_at", Float, nullable=False),
    Column("expires_at", Float, nullable=False),
    Column("used", Boolean, nullable=False, default=False),
    Column("revoked", Boolean, nullable=False, default=False),
    Index("ix_refresh_tokens_family", "family"),
    Index("ix_refresh_tokens_username", "username"),
)

revoked_tokens = Table(
    "revoked_tokens", metadata,
    Column("jti", String(64), primary_key=True),
    Column("expires_at", Float, nullable=False),      # may be deleted after this time
)

login_failures = Table(
    "login_failures", metadata,
    Column("key", String(300), primary_key=True),     # "user:NAME" or "addr:ADDRESS"
    Column("failures", Integer, nullable=False, default=0),
    Column("locked_until", Float),
    Column("updated_at", Float, nullable=False),
)

audit_log = Table(
    "audit_log", metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("ts", Float, nullable=False),
    Column("actor", String(200)),
    Column("action", String(64), nullable=False),
    Column("target", String(300)),
    Column("address", String(100)),
    Column("detail", JSON),
    Index("ix_audit_log_ts", "ts"),
)
