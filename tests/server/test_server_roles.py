"""Every endpoint × every role: the declared roles are the intended ones and are enforced.

The routes come from ``app.routes``, so a new endpoint without a declared role,
or one missing from the table below, fails this test.
"""

from __future__ import annotations

from typing import Any

import pytest
from server_live import LiveServer

from engine.server.app import api_routes

ROLES = ("admin", "designer", "operator", "viewer")
READ = {"admin", "designer", "operator", "viewer"}
PUBLIC = {"public"}

# (method, path) -> the roles that may call it; admin may call everything.
EXPECTED: dict[tuple[str, str], set[str]] = {
    ("GET", "/health"): PUBLIC,
    ("GET", "/api/v1/health"): PUBLIC,
    ("POST", "/api/v1/auth/login"): PUBLIC,
    ("POST", "/api/v1/auth/refresh"): PUBLIC,
    ("POST", "/api/v1/auth/logout"): READ,
    ("GET", "/api/v1/auth/me"): READ,
    ("POST", "/api/v1/auth/password"): READ,
    ("GET", "/api/v1/metrics"): READ,
    ("GET", "/api/v1/audit"): {"admin"},
    ("POST", "/api/v1/flows"): {"admin", "designer"},
    ("GET", "/api/v1/flows"): READ,
    ("GET", "/api/v1/flows/{name}"): READ,
    ("GET", "/api/v1/flows/{name}/versions"): READ,
    ("GET", "/api/v1/flows/{name}/versions/{version}"): READ,
    ("POST", "/api/v1/flows/{name}/archive"): {"admin", "designer"},
    ("POST", "/api/v1/runs"): {"admin", "designer", "operator"},
    ("GET", "/api/v1/runs"): READ,
    ("GET", "/api/v1/runs/{run_id}"): READ,
    ("POST", "/api/v1/runs/{run_id}/cancel"): {"admin", "operator"},
    ("POST", "/api/v1/runs/{run_id}/retry"): {"admin", "operator"},
    ("GET", "/api/v1/runs/{run_id}/attempts"): READ,
    ("GET", "/api/v1/runs/{run_id}/nodes/{node_id}/logs"): READ,
    ("GET", "/api/v1/runs/{run_id}/events"): READ,
    ("GET", "/api/v1/runs/{run_id}/events/stream"): READ,
    ("GET", "/api/v1/events"): READ,
    ("GET", "/api/v1/events/stream"): READ,
    ("GET", "/api/v1/approvals"): READ,
    # any signed-in user reaches it; the approval's own role then decides (tested elsewhere)
    ("POST", "/api/v1/approvals/{run_id}/{node_id}"): READ,
    ("GET", "/api/v1/roles"): {"admin"},
    ("GET", "/api/v1/users"): {"admin"},
    ("POST", "/api/v1/users"): {"admin"},
    ("GET", "/api/v1/users/{username}"): {"admin"},
    ("PUT", "/api/v1/users/{username}/roles"): {"admin"},
    ("PUT", "/api/v1/users/{username}/password"): {"admin"},
    ("PUT", "/api/v1/users/{username}/disabled"): {"admin"},
}

PLACEHOLDERS = {"run_id": "0" * 32, "node_id": "n", "name": "no-such-flow", "version": "1",
                "username": "nobody"}


def _routes(server: LiveServer) -> list[tuple[str, str, dict[str, Any]]]:
    routes = api_routes(server.app)
    assert len(routes) >= len(EXPECTED) - 2
    return routes


def test_every_endpoint_declares_the_intended_roles(sqlite_server: LiveServer) -> None:
    declared = {}
    for method, path, extra in _routes(sqlite_server):
        assert "x-roles" in extra, f"{method} {path} declares no roles"
        declared[(method, path)] = set(extra["x-roles"])
    assert declared == EXPECTED
    schema = sqlite_server.app.openapi()
    for (method, path), roles in EXPECTED.items():
        if path.startswith("/api/v1"):
            assert set(schema["paths"][path][method.lower()]["x-roles"]) == roles


@pytest.mark.parametrize("role", [*ROLES, None])
def test_role_matrix_is_enforced(server: LiveServer, role: str | None) -> None:
    if role:
        server.add_user(f"u-{role}", role)
    client = server.client()
    for method, path, _extra in _routes(server):
        allowed = EXPECTED[(method, path)]
        url = path.format(**PLACEHOLDERS).removeprefix("/api/v1")
        if not path.startswith("/api/v1"):
            url = server.url + path
        # a fresh token per request: logout revokes the one it is called with
        token = server.state.tokens.access_token(f"u-{role}")[0] if role else None
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        with client.stream(method, url, json={} if method != "GET" else None,
                           headers=headers) as r:
            status = r.status_code
        where = f"{method} {path} as {role or 'nobody'}: {status}"
        if allowed == PUBLIC:
            assert status not in (401, 403), where
        elif role is None:
            assert status == 401, where
        elif role in allowed:
            assert status not in (401, 403), where
        else:
            assert status == 403, where
    client.close()
