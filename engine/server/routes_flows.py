"""``/flows``: deploy ``flowdesk/1`` definitions as numbered versions; read and archive them."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, HTTPException, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from engine import deployments
from engine.auth import audit
from engine.server.security import DEPLOY, READ, CallerDep, allow

router = APIRouter(prefix="/flows", tags=["flows"])

FlowName = Path(min_length=1, max_length=200, description="the flow's name")


class Deployed(BaseModel):
    name: str
    version: int


class FlowSummary(BaseModel):
    name: str
    version: int
    created_at: float
    created_by: str | None
    archived: bool
    description: str | None = None


class FlowVersion(FlowSummary):
    definition: dict[str, Any]


class FlowList(BaseModel):
    flows: list[FlowSummary]


class VersionList(BaseModel):
    name: str
    versions: list[FlowSummary]


class Archived(BaseModel):
    name: str
    archived: bool


_deploy_options = allow(*DEPLOY)
_deploy_options["openapi_extra"] = {
    **_deploy_options["openapi_extra"],
    "requestBody": {"required": True, "description": "a flowdesk/1 flow document",
                    "content": {"application/json": {"schema": {
                        "type": "object", "required": ["format", "name", "nodes", "edges"],
                        "properties": {"format": {"type": "string", "enum": ["flowdesk/1"]},
                                       "name": {"type": "string"}}}}}},
}


def _not_found(exc: KeyError) -> HTTPException:
    return HTTPException(404, str(exc))


@router.post("", status_code=201, response_model=Deployed, **_deploy_options)
async def deploy_flow(request: Request, caller: CallerDep) -> Any:
    """Deploy the flow document in the body as the next version of its name.

    The role is checked before the body is read; a document that does not load or
    validate is answered 422 with every problem listed."""
    state = request.app.state.flowdesk
    raw = await request.body()
    try:
        document = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        message = f"the body is not valid JSON ({exc})"
        return JSONResponse({"detail": message, "problems": [
            {"severity": "error", "message": message}]}, status_code=422)
    try:
        result = await run_in_threadpool(deployments.deploy, state.engine, document,
                                         created_by=caller.name)
    except deployments.DeployError as exc:
        return JSONResponse({"detail": str(exc), "problems": exc.problems}, status_code=422)
    await run_in_threadpool(audit.record, state.engine, "deploy", actor=caller.name,
                            target=f"{result['name']}@{result['version']}",
                            address=caller.address)
    return JSONResponse(result, status_code=201)


@router.get("", response_model=FlowList, **allow(*READ))
def list_flows(request: Request,
               archived: bool = Query(False, description="include archived flows")) -> Any:
    """The latest version of every deployed flow."""
    return {"flows": deployments.list_flows(request.app.state.flowdesk.engine,
                                            include_archived=archived)}


@router.get("/{name}", response_model=FlowVersion, **allow(*READ))
def get_flow(request: Request, name: str = FlowName) -> Any:
    """The latest version of a flow, with its definition."""
    try:
        return deployments.get_flow(request.app.state.flowdesk.engine, name)
    except deployments.FlowNotFound as exc:
        raise _not_found(exc) from None


@router.get("/{name}/versions", response_model=VersionList, **allow(*READ))
def list_versions(request: Request, name: str = FlowName) -> Any:
    """Every version of a flow, oldest first."""
    try:
        return {"name": name,
                "versions": deployments.versions(request.app.state.flowdesk.engine, name)}
    except deployments.FlowNotFound as exc:
        raise _not_found(exc) from None


@router.get("/{name}/versions/{version}", response_model=FlowVersion, **allow(*READ))
def get_version(request: Request, name: str = FlowName,
                version: int = Path(ge=1, le=2_147_483_647)) -> Any:
    """One version of a flow, with its definition."""
    try:
        return deployments.get_flow(request.app.state.flowdesk.engine, name, version)
    except deployments.FlowNotFound as exc:
        raise _not_found(exc) from None


@router.post("/{name}/archive", response_model=Archived, **allow(*DEPLOY))
def archive_flow(request: Request, caller: CallerDep, name: str = FlowName) -> Any:
    """Hide a flow from lists and refuse new runs of it (deploying it again brings it back)."""
    state = request.app.state.flowdesk
    try:
        deployments.archive(state.engine, name)
    except deployments.FlowNotFound as exc:
        raise _not_found(exc) from None
    audit.record(state.engine, "archive", actor=caller.name, target=name,
                 address=caller.address)
    return {"name": name, "archived": True}
