"""``/approvals``: what waits for a decision, and deciding it.

Who may decide: when the approval node names a ``role``, only users with that
role; otherwise operators. Admins always may.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Path, Request
from pydantic import BaseModel, Field

from engine.auth import audit
from engine.runs import RunNotFound
from engine.server.security import ANY, READ, CallerDep, allow

router = APIRouter(prefix="/approvals", tags=["approvals"])


class Approval(BaseModel):
    run_id: str
    node_id: str
    prompt: str | None = None
    role: str | None = None
    since: str | None = None


class ApprovalList(BaseModel):
    approvals: list[Approval]


class Decision(BaseModel):
    approved: bool
    comment: str | None = Field(None, max_length=2000)


class Decided(BaseModel):
    run_id: str
    node_id: str
    approved: bool
    by: str
    comment: str | None = None


@router.get("", response_model=ApprovalList, **allow(*READ))
def pending(request: Request) -> Any:
    """Approval nodes waiting for a decision, oldest first."""
    return {"approvals": request.app.state.flowdesk.runs.pending_approvals()}


_decide_options = allow(*ANY)
_decide_options["openapi_extra"]["x-roles-note"] = (
    "the approval's own role when it names one, else operator; admin always")


@router.post("/{run_id}/{node_id}", response_model=Decided, **_decide_options)
def decide(body: Decision, request: Request, caller: CallerDep,
           run_id: str = Path(min_length=1, max_length=32),
           node_id: str = Path(min_length=1, max_length=200)) -> Any:
    """Approve or reject a waiting approval node, with an optional comment."""
    state = request.app.state.flowdesk
    try:
        state.runs.run_row(run_id)
    except RunNotFound as exc:
        raise HTTPException(404, str(exc)) from None
    waiting = next((a for a in state.runs.pending_approvals()
                    if a["run_id"] == run_id and a["node_id"] == node_id), None)
    if waiting is None:
        raise HTTPException(409, f"node '{node_id}' of run '{run_id}' is not waiting for an "
                                 "approval")
    role = waiting.get("role")
    needed = (role,) if role else ("operator",)
    if not caller.user.has_any(needed):
        raise HTTPException(403, f"only a user with the role '{needed[0]}' may decide this "
                                 "approval")
    try:
        state.runs.decide_approval(run_id, node_id, body.approved, caller.name, body.comment)
    except ValueError as exc:
        raise HTTPException(409, str(exc)) from None
    audit.record(state.engine, "approval", actor=caller.name, target=f"{run_id}/{node_id}",
                 address=caller.address, detail={"approved": body.approved})
    state.start_run(run_id)
    return {"run_id": run_id, "node_id": node_id, "approved": body.approved,
            "by": caller.name, "comment": body.comment}
