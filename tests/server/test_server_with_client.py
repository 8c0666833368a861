"""The desktop app's API client (engine.client.ServerClient) against a live server.

Both sides are written separately; this keeps their contract honest: login,
/auth/me, requests, silent refresh after a revoked access token, the event
stream, and logout.
"""

from __future__ import annotations

import json

import pytest
from server_live import PASSWORD, LiveServer
from test_server_runs import hello_flow

from engine.client import AuthError, ServerClient


def test_server_client_session_and_stream(sqlite_server: LiveServer) -> None:
    server = sqlite_server
    server.add_user("dee", "designer")
    stored: list[str | None] = []
    client = ServerClient(server.url, on_refresh_token=stored.append)
    try:
        with pytest.raises(AuthError):
            client.login("dee", "not the password")
        me = client.login("dee", PASSWORD)
        assert me == {"username": "dee", "roles": ["designer"]}
        assert client.request("POST", "/flows", json=hello_flow()) == {"name": "hello",
                                                                       "version": 1}
        run_id = client.request("POST", "/runs", json={"flow": "hello"})["run_id"]
        with client.event_stream(f"/runs/{run_id}/events/stream") as response:
            lines = list(response.iter_lines())
        ends = [json.loads(line[6:]) for i, line in enumerate(lines)
                if line.startswith("data: ") and lines[i - 1] == "event: end"]
        assert ends and ends[0]["status"] == "succeeded"
        assert client.request("GET", f"/runs/{run_id}")["outputs"] == {"said": "hello world\n"}

        # the access token is revoked behind the client's back: it refreshes once and goes on
        server.state.tokens.revoke_access(
            server.state.tokens.decode_access(client._access))  # noqa: SLF001
        before = client.refresh_token
        assert client.request("GET", "/auth/me")["username"] == "dee"
        assert client.refresh_token != before and stored[-1] == client.refresh_token

        refresh = client.refresh_token
        client.logout()
        assert stored[-1] is None
        with server.client() as anon:
            assert anon.post("/auth/refresh", json={"refresh_token": refresh}
                             ).status_code == 401
    finally:
        client.close()
