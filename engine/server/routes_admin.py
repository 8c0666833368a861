"""Health (no token), metrics (Prometheus text) and the audit log (admin)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel
from sqlalchemy import func, select, text

from engine.auth import audit
from engine.server.security import ADMIN, READ, allow, public
from engine.store.schema import runs

router = APIRouter(tags=["server"])


class Health(BaseModel):
    status: str
    version: str


class AuditEntry(BaseModel):
    id: int
    ts: float
    actor: str | None
    action: str
    target: str | None
    address: str | None
    detail: Any = None


class AuditList(BaseModel):
    entries: list[AuditEntry]
    total: int


def health_check(request: Request) -> Any:
    from engine.server.app import VERSION

    try:
        with request.app.state.flowdesk.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception:  # noqa: BLE001 - any store failure means "not healthy"
        raise HTTPException(503, "the store cannot be reached") from None
    return {"status": "ok", "version": VERSION}


@router.get("/health", response_model=Health, **public())
def health(request: Request) -> Any:
    """200 when the server can reach its store (for load balancers; no token needed)."""
    return health_check(request)


@router.get("/metrics", response_class=PlainTextResponse, **allow(*READ),
            responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}},
                             "description": "Prometheus text format 0.0.4"}})
def metrics(request: Request) -> PlainTextResponse:
    """Request counts and latencies, login outcomes, runs by status (Prometheus text)."""
    state = request.app.state.flowdesk
    with state.engine.connect() as conn:
        counts = dict(conn.execute(select(runs.c.status, func.count())
                                   .group_by(runs.c.status)).all())
    body = state.metrics.render({"runs": counts,
                                 "active": state.worker.active() if state.worker else 0})
    return PlainTextResponse(body, media_type="text/plain; version=0.0.4")


@router.get("/audit", response_model=AuditList, **allow(*ADMIN))
def audit_log(request: Request, action: str | None = Query(None, max_length=64),
              actor: str | None = Query(None, max_length=200),
              limit: int = Query(100, ge=1, le=1000),
              offset: int = Query(0, ge=0, le=10_000_000)) -> Any:
    """Security events, newest first: logins and failures, role changes, deploys, approvals."""
    entries, total = audit.entries(request.app.state.flowdesk.engine, action=action,
                                   actor=actor, limit=limit, offset=offset)
    return {"entries": entries, "total": total}
