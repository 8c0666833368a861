"""``create_app(store_url)``: the FastAPI application behind ``flowdesk serve``.

All routes live under ``/api/v1`` (OpenAPI at ``/openapi.json``, interactive
docs at ``/docs``); ``/health`` is also answered at the root for load
balancers. The app keeps no state of its own beyond caches: users, tokens,
failure counts, flows and runs are in the store, so several servers can share
one PostgreSQL.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI

from engine.auth.throttle import LoginThrottle
from engine.auth.tokens import TokenService
from engine.runs import RunStore
from engine.server import errors
from engine.server.limits import BodySizeLimit
from engine.server.state import ServerState
from engine.server.worker import EmbeddedWorker
from engine.store import open_engine

API_PREFIX = "/api/v1"
DEFAULT_MAX_BODY = 1024 * 1024


def _version() -> str:
    try:
        from importlib.metadata import version

        return version("flowdesk")
    except Exception:  # noqa: BLE001 - not installed as a distribution
        return "0.1.0"


VERSION = _version()


class _RequestMetrics:
    """Counts every answered request by method, route template and status."""

    def __init__(self, app: Any, metrics: Any) -> None:
        self.app, self.metrics = app, metrics

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def recording_send(message: Any) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, recording_send)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            if route is not None and scope.get("path", "").startswith(API_PREFIX + "/") \
                    and not template.startswith(API_PREFIX):
                template = API_PREFIX + template  # included routers report their own path
            self.metrics.observe(scope.get("method", "?"), template, status,
                                 time.perf_counter() - started)


def create_app(store_url: str | None = None, *, worker: bool = True,
               max_body_bytes: int = DEFAULT_MAX_BODY, access_ttl: int = 15 * 60,
               login_threshold: int = 5, worker_threads: int = 8) -> FastAPI:
    """The server for the store at ``store_url`` (migrated on open).

    ``worker=False`` only enqueues runs (detached) for ``flowdesk worker`` processes.
    """
    engine = open_engine(store_url)
    runs = RunStore(engine)
    state = ServerState(
        engine=engine,
        tokens=TokenService(engine, access_ttl=access_ttl),
        throttle=LoginThrottle(engine, threshold=login_threshold),
        runs=runs,
        worker=EmbeddedWorker(runs, threads=worker_threads) if worker else None,
    )

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if state.worker is not None:
            state.worker.take_over_orphans()
        yield
        state.closing.set()
        if state.worker is not None:
            state.worker.close()
        engine.dispose()

    app = FastAPI(title="Flowdesk", version=VERSION, lifespan=lifespan,
                  description="Deploy flowdesk/1 flows, start and follow runs, decide "
                              "approvals. Sign in with POST /api/v1/auth/login and send "
                              "the access token as `Authorization: Bearer …`.",
                  responses=errors.ERROR_RESPONSES)  # type: ignore[arg-type]
    app.state.flowdesk = state
    errors.install(app)

    from engine.server import (
        routes_admin,
        routes_approvals,
        routes_auth,
        routes_flows,
        routes_runs,
        routes_users,
    )

    for module in (routes_admin, routes_auth, routes_flows, routes_runs, routes_approvals,
                   routes_users):
        app.include_router(module.router, prefix=API_PREFIX)
    app.add_api_route("/health", routes_admin.health, methods=["GET"], include_in_schema=False,
                      openapi_extra={"x-roles": ["public"]})
    app.add_middleware(_RequestMetrics, metrics=state.metrics)
    app.add_middleware(BodySizeLimit, max_bytes=max_body_bytes)
    return app


def api_routes(app: FastAPI) -> list[tuple[str, str, dict[str, Any]]]:
    """``(method, full path, openapi_extra)`` of every endpoint in ``app.routes``.

    FastAPI ≥ 0.160 keeps included routers as lazy ``_IncludedRouter`` entries in
    ``app.routes``; their endpoints are reached through ``effective_route_contexts``.
    """
    from fastapi.routing import APIRoute

    out: list[tuple[str, str, dict[str, Any]]] = []

    def add(route: Any, path: str, extra: dict[str, Any] | None) -> None:
        for method in sorted(getattr(route, "methods", None) or ()):
            out.append((method, path, extra or {}))

    for route in app.routes:
        if isinstance(route, APIRoute):
            add(route, route.path, route.openapi_extra)
        elif hasattr(route, "effective_route_contexts"):
            for ctx in route.effective_route_contexts():
                if isinstance(ctx.original_route, APIRoute):
                    add(ctx.original_route, ctx.path, ctx.openapi_extra)
    return out
