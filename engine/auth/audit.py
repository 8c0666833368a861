"""The audit log: one row per security event (logins, failures, role changes, deploys…).

Rows never hold secrets: no passwords, no tokens, only names and outcomes.
"""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import Connection, Engine, func, insert, select

from engine.store import write_transaction
from engine.store.schema import audit_log


def record(target_db: Engine | Connection, action: str, *, actor: str | None = None,
           target: str | None = None, address: str | None = None,
           detail: dict[str, Any] | None = None) -> None:
    """Append one audit row (in the caller's transaction when given a connection)."""
    stmt = insert(audit_log).values(ts=time.time(), actor=actor, action=action,
                                    target=target, address=address, detail=detail)
    if isinstance(target_db, Connection):
        target_db.execute(stmt)
        return
    with write_transaction(target_db) as conn:
        conn.execute(stmt)


def entries(engine: Engine, *, action: str | None = None, actor: str | None = None,
            limit: int = 100, offset: int = 0) -> tuple[list[dict[str, Any]], int]:
    """Newest first, with the total count for paging."""
    query = select(audit_log)
    count = select(func.count()).select_from(audit_log)
    if action:
        query = query.where(audit_log.c.action == action)
        count = count.where(audit_log.c.action == action)
    if actor:
        query = query.where(audit_log.c.actor == actor)
        count = count.where(audit_log.c.actor == actor)
    query = query.order_by(audit_log.c.id.desc()).limit(limit).offset(offset)
    with engine.connect() as conn:
        rows = [dict(r._mapping) for r in conn.execute(query)]
        total = int(conn.execute(count).scalar_one())
    return rows, total
