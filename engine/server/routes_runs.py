"""``/runs`` and ``/events``: start, list, inspect, cancel and retry runs; their event log.

``GET /runs/{id}`` answers the same document as ``flowdesk show --json``. The
event log is read after an id (``/events?after=N``) or followed live as
server-sent events (``…/events/stream``), each event's ``id`` being its
log id, so a client that reconnects with ``Last-Event-ID`` misses nothing.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, HTTPException, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, Field

from engine import deployments
from engine.flowfile import FlowFileError, flow_from_dict
from engine.runs import TERMINAL_RUN, RunBusy, RunNotFound
from engine.server.security import OPERATE, READ, RUN, CallerDep, allow

router = APIRouter(tags=["runs"])

RunId = Path(min_length=1, max_length=32, description="the run's id")
NodeId = Path(min_length=1, max_length=200, description="the node's id")
RunStatus = Literal["pending", "running", "waiting", "succeeded", "failed", "cancelled"]
POLL_S = 0.2
KEEPALIVE_S = 15.0


class StartRun(BaseModel):
    flow: str = Field(min_length=1, max_length=200, description="a deployed flow's name")
    version: int | None = Field(None, ge=1, le=2_147_483_647,
                                description="the version to run; the latest when left out")
    inputs: dict[str, Any] = Field(default_factory=dict)


class Started(BaseModel):
    run_id: str
    status: str
    flow: str
    version: int


class RunSummary(BaseModel):
    run_id: str
    flow_name: str
    status: str
    created_at: str | None
    started_at: str | None
    finished_at: str | None
    created_by: str | None


class RunList(BaseModel):
    runs: list[RunSummary]
    total: int
    limit: int
    offset: int


class NodeState(BaseModel):
    status: str
    attempts: int
    output: Any = None
    started_at: str | None
    finished_at: str | None
    error: str | None = None


class RunDocument(BaseModel):
    model_config = {"extra": "allow"}
    run_id: str
    status: str
    outputs: Any = None
    nodes: dict[str, NodeState]
    flow_name: str
    flow_version: int | None
    inputs: Any = None
    error: str | None
    created_at: str | None
    started_at: str | None
    finished_at: str | None
    created_by: str | None


class CancelBody(BaseModel):
    node: str | None = Field(None, min_length=1, max_length=200,
                             description="cancel only this node")


class Accepted(BaseModel):
    run_id: str
    detail: str


class Event(BaseModel):
    id: int
    run_id: str
    ts: str | None
    type: str
    node_id: str | None
    data: Any = None


class EventList(BaseModel):
    events: list[Event]
    last_id: int


class Attempt(BaseModel):
    node_id: str
    attempt: int
    status: str
    started_at: str | None
    finished_at: str | None
    error: str | None
    worker: str | None


class AttemptList(BaseModel):
    attempts: list[Attempt]


class LogLine(BaseModel):
    attempt: int
    stream: str
    text: str
    ts: str | None


class LogList(BaseModel):
    logs: list[LogLine]


SSE_RESPONSE: dict[int | str, dict[str, Any]] = {200: {
    "description": "server-sent events: `id` is the event's log id, `event` its type, "
                   "`data` the event as JSON; a run's stream ends with an `end` event",
    "content": {"text/event-stream": {"schema": {"type": "string"}}}}}


def _store(request: Request) -> Any:
    return request.app.state.flowdesk.runs


def _run_or_404(request: Request, run_id: str) -> dict[str, Any]:
    try:
        return _store(request).run_row(run_id)
    except RunNotFound as exc:
        raise HTTPException(404, str(exc)) from None


@router.post("/runs", status_code=201, response_model=Started, **allow(*RUN))
def start_run(body: StartRun, request: Request,
              caller: CallerDep) -> Any:
    """Start a run of a deployed flow (the latest version unless one is named)."""
    state = request.app.state.flowdesk
    try:
        flow_doc = deployments.get_flow(state.engine, body.flow, body.version)
    except deployments.FlowNotFound as exc:
        raise HTTPException(404, str(exc)) from None
    if flow_doc["archived"]:
        raise HTTPException(409, f"the flow '{body.flow}' is archived; deploy it again to "
                                 "run it")
    try:
        flow = flow_from_dict(flow_doc["definition"])
        run_id = state.runs.create_run(flow, body.inputs, flow_version=flow_doc["version"],
                                       created_by=caller.name,
                                       detached=state.worker is None)
    except (FlowFileError, ValueError) as exc:
        raise HTTPException(422, str(exc)) from None
    state.start_run(run_id)
    return JSONResponse({"run_id": run_id, "status": "pending", "flow": body.flow,
                         "version": flow_doc["version"]}, status_code=201)


@router.get("/runs", response_model=RunList, **allow(*READ))
def list_runs(request: Request,
              status: Annotated[RunStatus | None, Query()] = None,
              flow: str | None = Query(None, max_length=200),
              search: str | None = Query(None, max_length=200,
                                         description="part of a flow name or run id"),
              limit: int = Query(50, ge=1, le=500),
              offset: int = Query(0, ge=0, le=10_000_000)) -> Any:
    """Runs, newest first, with filters and paging (``total`` counts every match)."""
    store = _store(request)
    return {"runs": store.list_runs(status=status, flow=flow, search=search, limit=limit,
                                    offset=offset),
            "total": store.count_runs(status=status, flow=flow, search=search),
            "limit": limit, "offset": offset}


@router.get("/runs/{run_id}", response_model=RunDocument, **allow(*READ))
def get_run(request: Request, run_id: str = RunId) -> Any:
    """One run: the same document as ``flowdesk show RUN --json``."""
    try:
        return _store(request).get_run(run_id)
    except RunNotFound as exc:
        raise HTTPException(404, str(exc)) from None


@router.post("/runs/{run_id}/cancel", status_code=202, response_model=Accepted,
             **allow(*OPERATE))
def cancel_run(request: Request, body: CancelBody | None = None, run_id: str = RunId) -> Any:
    """Cancel a run, or one of its nodes (``{"node": "id"}``)."""
    node = body.node if body else None
    try:
        _store(request).request_cancel(run_id, node)
    except RunNotFound as exc:
        raise HTTPException(404, str(exc)) from None
    except ValueError as exc:
        raise HTTPException(409, str(exc)) from None
    what = f"node '{node}' of run '{run_id}'" if node else f"run '{run_id}'"
    return JSONResponse({"run_id": run_id, "detail": f"cancelling {what}"}, status_code=202)


@router.post("/runs/{run_id}/retry", status_code=202, response_model=Accepted,
             **allow(*OPERATE))
def retry_run(request: Request, run_id: str = RunId) -> Any:
    """Run a failed or cancelled run again from its failed nodes (succeeded ones stay)."""
    state = request.app.state.flowdesk
    try:
        state.runs.retry_failed(run_id)
    except RunNotFound as exc:
        raise HTTPException(404, str(exc)) from None
    except (ValueError, RunBusy) as exc:
        raise HTTPException(409, str(exc)) from None
    state.start_run(run_id)
    return JSONResponse({"run_id": run_id, "detail": f"retrying run '{run_id}'"},
                        status_code=202)


@router.get("/runs/{run_id}/attempts", response_model=AttemptList, **allow(*READ))
def list_attempts(request: Request, run_id: str = RunId,
                  node: str | None = Query(None, max_length=200)) -> Any:
    """Every attempt of every node (or of one node) of a run."""
    _run_or_404(request, run_id)
    return {"attempts": _store(request).attempts(run_id, node)}


@router.get("/runs/{run_id}/nodes/{node_id}/logs", response_model=LogList, **allow(*READ))
def node_logs(request: Request, run_id: str = RunId, node_id: str = NodeId) -> Any:
    """What a node wrote to stdout and stderr, attempt by attempt."""
    run = _run_or_404(request, run_id)
    if node_id not in {n.get("id") for n in run["definition"].get("nodes", [])}:
        raise HTTPException(404, f"run '{run_id}' has no node '{node_id}'")
    return {"logs": _store(request).node_logs(run_id, node_id)}


def _events(request: Request, after: int, limit: int, run_id: str | None) -> Any:
    store = _store(request)
    events = store.events_after(after, run_id=run_id, limit=limit)
    last = events[-1]["id"] if events else max(after, 0)
    return {"events": events, "last_id": last}


@router.get("/runs/{run_id}/events", response_model=EventList, **allow(*READ))
def run_events(request: Request, run_id: str = RunId,
               after: int = Query(0, ge=0, le=2**62, description="only events after this id"),
               limit: int = Query(1000, ge=1, le=5000)) -> Any:
    """A run's event log after an event id, oldest first."""
    _run_or_404(request, run_id)
    return _events(request, after, limit, run_id)


@router.get("/events", response_model=EventList, **allow(*READ))
def all_events(request: Request,
               after: int = Query(0, ge=0, le=2**62, description="only events after this id"),
               limit: int = Query(1000, ge=1, le=5000)) -> Any:
    """Every run's events after an event id, oldest first."""
    return _events(request, after, limit, None)


def _sse(event: dict[str, Any]) -> str:
    return f"id: {event['id']}\nevent: {event['type']}\ndata: {json.dumps(event)}\n\n"


async def _follow(request: Request, after: int, run_id: str | None) -> AsyncIterator[str]:
    store = _store(request)
    state = request.app.state.flowdesk
    last, quiet = after, 0.0
    yield "retry: 1000\n\n"
    while not state.closing.is_set():
        events = await run_in_threadpool(store.events_after, last, run_id=run_id, limit=500)
        for event in events:
            last = event["id"]
            yield _sse(event)
        if events:
            quiet = 0.0
            continue
        if run_id is not None:
            row = await run_in_threadpool(store.run_row, run_id)
            if row["status"] in TERMINAL_RUN:
                for event in await run_in_threadpool(store.events_after, last, run_id=run_id):
                    last = event["id"]
                    yield _sse(event)
                end = {"run_id": run_id, "status": row["status"], "last_id": last}
                yield f"event: end\ndata: {json.dumps(end)}\n\n"
                return
        if await request.is_disconnected():
            return
        await asyncio.sleep(POLL_S)
        quiet += POLL_S
        if quiet >= KEEPALIVE_S:
            quiet = 0.0
            yield ": keep-alive\n\n"


def _start_after(after: int, last_event_id: str | None) -> int:
    if last_event_id and last_event_id.strip().isdigit():
        return max(after, int(last_event_id.strip()))
    return after


def _stream(generator: AsyncIterator[str]) -> StreamingResponse:
    return StreamingResponse(generator, media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


@router.get("/runs/{run_id}/events/stream", response_class=StreamingResponse,
            responses=SSE_RESPONSE, **allow(*READ))
def run_event_stream(request: Request, run_id: str = RunId,
                     after: int = Query(0, ge=0, le=2**62),
                     last_event_id: str | None = Header(None, max_length=30)) -> Any:
    """Follow a run's events live; the stream ends (``event: end``) when the run does."""
    _run_or_404(request, run_id)
    return _stream(_follow(request, _start_after(after, last_event_id), run_id))


@router.get("/events/stream", response_class=StreamingResponse, responses=SSE_RESPONSE,
            **allow(*READ))
def all_event_stream(request: Request, after: int | None = Query(None, ge=0, le=2**62),
                     last_event_id: str | None = Header(None, max_length=30)) -> Any:
    """Follow every run's events live (from now, unless ``after`` or ``Last-Event-ID``)."""
    start = after if after is not None else _store(request).last_event_id()
    return _stream(_follow(request, _start_after(start, last_event_id), None))
