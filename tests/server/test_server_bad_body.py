"""A request body that is not JSON is refused in the words a person reads, on every route."""

from __future__ import annotations

from server_live import LiveServer


def test_body_that_is_not_json_says_so(sqlite_server: LiveServer) -> None:
    sqlite_server.add_user("dee", "designer")
    with sqlite_server.as_user("dee") as dee:
        r = dee.post("/runs", content=b"garbage", headers={"Content-Type": "application/json"})
        assert r.status_code == 422
        assert r.json()["detail"].startswith("the body is not valid JSON (")
        assert dee.get("/runs").json()["total"] == 0
