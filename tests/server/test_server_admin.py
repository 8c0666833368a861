"""Users and roles over the API, the audit log, metrics, and servers sharing one store."""

from __future__ import annotations

import socket
import subprocess
import time

import jwt
import pytest
from server_live import PASSWORD, LiveServer
from test_server_runs import hello_flow

from engine.auth.tokens import UNKNOWN_KID_RELOAD_S, rotate_signing_key


def test_admin_manages_users_and_the_audit_log_records_it(server: LiveServer) -> None:
    server.add_user("root", "admin")
    with server.as_user("root") as root:
        r = root.post("/users", json={"username": "ann", "password": "ann's password",
                                      "roles": ["viewer"]})
        assert r.status_code == 201 and r.json()["roles"] == ["viewer"]
        assert root.post("/users", json={"username": "ann", "password": "whatever12",
                                         "roles": ["viewer"]}).status_code == 409
        r = root.post("/users", json={"username": "bob", "password": "short",
                                      "roles": ["viewer"]})
        assert r.status_code == 422 and "at least 8" in r.json()["detail"]
        r = root.post("/users", json={"username": "bob", "password": "long enough",
                                      "roles": ["wizard"]})
        assert r.status_code == 422 and "'wizard' is not a role" in r.json()["detail"]
        ann_pair = server.login("ann", "ann's password")
        with server.client(ann_pair["access_token"]) as ann:
            assert ann.post("/flows", json=hello_flow()).status_code == 403
            r = root.put("/users/ann/roles", json={"roles": ["designer"]})
            assert r.json()["roles"] == ["designer"]
            # roles are read from the store on each request: the change applies at once
            assert ann.post("/flows", json=hello_flow()).status_code == 201
            assert root.put("/users/ann/disabled", json={"disabled": True}).status_code == 200
            assert ann.get("/auth/me").status_code == 401
        with server.client() as anon:
            assert anon.post("/auth/login", json={"username": "ann",
                                                  "password": "ann's password"}
                             ).status_code == 401
            assert anon.post("/auth/refresh", json={"refresh_token": ann_pair["refresh_token"]}
                             ).status_code == 401
        root.put("/users/ann/disabled", json={"disabled": False})
        assert root.put("/users/ann/password", json={"password": "reset by root"}
                        ).status_code == 204
        assert server.login("ann", "reset by root")["token_type"] == "bearer"
        assert root.get("/users/nobody").status_code == 404
        assert [u["username"] for u in root.get("/users").json()["users"]] == ["ann", "root"]
        assert [r["name"] for r in root.get("/roles").json()["roles"]] == [
            "admin", "designer", "operator", "viewer"]

        entries = root.get("/audit", params={"limit": 200}).json()["entries"]
        actions = [e["action"] for e in entries]
        for action in ("user_added", "roles_changed", "user_disabled", "password_reset",
                       "deploy", "login", "login_failed"):
            assert action in actions, action
        change = next(e for e in entries if e["action"] == "roles_changed")
        assert change["actor"] == "root" and change["target"] == "ann"
        assert change["detail"] == {"roles": ["designer"]}
        only = root.get("/audit", params={"action": "deploy"}).json()
        assert only["total"] == 1 and only["entries"][0]["target"] == "hello@1"
        # no secret ever lands in the audit log
        text = str(entries)
        for secret in ("ann's password", "reset by root", PASSWORD, ann_pair["refresh_token"]):
            assert secret not in text


def test_metrics_count_requests_and_runs(sqlite_server: LiveServer) -> None:
    server = sqlite_server
    server.add_user("dee", "designer")
    with server.as_user("dee") as dee:
        dee.post("/flows", json=hello_flow())
        for _ in range(3):
            assert dee.get("/flows/hello").status_code == 200
        text = dee.get("/metrics").text
    assert ('flowdesk_http_requests_total{method="GET",route="/api/v1/flows/{name}",'
            'status="200"} 3') in text
    assert 'flowdesk_logins_total{outcome="succeeded"} 1' in text
    assert "flowdesk_http_request_duration_seconds_bucket" in text


def test_two_servers_share_users_tokens_and_login_failures(store_url: str) -> None:
    one = LiveServer(store_url).start()
    two = LiveServer(store_url).start()
    try:
        one.add_user("ann", "viewer")
        pair = one.login("ann")
        # a token from one server works on the other (the key is in the store) …
        with two.client(pair["access_token"]) as c:
            assert c.get("/auth/me").json()["username"] == "ann"
        # … a refresh token rotates across servers, and a replay is caught by either
        with two.client() as c:
            new = c.post("/auth/refresh", json={"refresh_token": pair["refresh_token"]})
            assert new.status_code == 200
        with one.client() as c:
            assert c.post("/auth/refresh", json={"refresh_token": pair["refresh_token"]}
                          ).status_code == 401
            assert c.post("/auth/refresh", json={"refresh_token": new.json()["refresh_token"]}
                          ).status_code == 401
        # failures counted on one server lock the name on the other
        for i in range(5):
            server = (one, two)[i % 2]
            with server.client() as c:
                c.post("/auth/login", json={"username": "ann", "password": f"bad-{i}"})
        with two.client() as c:
            locked = c.post("/auth/login", json={"username": "ann", "password": PASSWORD})
            assert locked.status_code == 429
        time.sleep(int(locked.headers["Retry-After"]) + 0.2)
        # logout on one server revokes the access token on the other
        pair = two.login("ann")
        with one.client(pair["access_token"]) as c:
            assert c.post("/auth/logout", json={"refresh_token": pair["refresh_token"]}
                          ).status_code == 204
        with two.client(pair["access_token"]) as c:
            assert c.get("/auth/me").status_code == 401
    finally:
        one.stop()
        two.stop()


def test_key_rotation_keeps_old_tokens_valid_and_signs_with_the_new_key(
        sqlite_url: str) -> None:
    one = LiveServer(sqlite_url).start()
    two = LiveServer(sqlite_url).start()
    try:
        one.add_user("ann", "viewer")
        old = one.login("ann")["access_token"]
        new_kid = rotate_signing_key(one.engine)
        one.state.tokens.reload_keys()  # servers also reload on their own every minute
        fresh = one.login("ann")["access_token"]

        assert jwt.get_unverified_header(fresh)["kid"] == new_kid
        time.sleep(UNKNOWN_KID_RELOAD_S + 0.1)  # an unknown kid reloads at most this often
        for token in (old, fresh):  # server two learns the new key from the store
            with two.client(token) as c:
                assert c.get("/auth/me").status_code == 200
    finally:
        one.stop()
        two.stop()


def test_a_shared_jwt_secret_from_the_environment(sqlite_url: str,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLOWDESK_JWT_SECRET", "s" * 40)
    live = LiveServer(sqlite_url).start()
    try:
        live.add_user("ann", "viewer")
        token = live.login("ann")["access_token"]

        claims = jwt.decode(token, "s" * 40, algorithms=["HS256"], audience="flowdesk-api")
        assert claims["sub"] == "ann"
    finally:
        live.stop()


def test_without_a_worker_runs_are_only_enqueued(sqlite_url: str) -> None:
    live = LiveServer(sqlite_url, worker=False).start()
    try:
        live.add_user("dee", "designer")
        with live.as_user("dee") as dee:
            dee.post("/flows", json=hello_flow())
            run_id = dee.post("/runs", json={"flow": "hello"}).json()["run_id"]
            time.sleep(0.5)
            doc = dee.get(f"/runs/{run_id}").json()
        assert doc["status"] == "pending" and doc["detached"] is True
    finally:
        live.stop()


def test_a_starting_server_continues_runs_whose_process_is_gone(sqlite_url: str) -> None:
    from sqlalchemy import update

    from engine.flowfile import flow_from_dict
    from engine.runs import RunStore
    from engine.store import open_engine, write_transaction
    from engine.store.schema import runs

    engine = open_engine(sqlite_url)
    store = RunStore(engine)
    orphan = store.create_run(flow_from_dict(hello_flow()), {"who": "again"})
    queued = store.create_run(flow_from_dict(hello_flow()), {}, detached=True)
    fresh = store.create_run(flow_from_dict(hello_flow()), {})  # its creator will start it
    dead_pid = subprocess.Popen(["true"])  # a process id that no longer lives
    dead_pid.wait()
    with write_transaction(engine) as conn:  # the orphan was running in a process now gone
        conn.execute(update(runs).where(runs.c.id == orphan).values(
            status="running", started_at=time.time(), lease_until=time.time() + 30,
            owner=f"{socket.gethostname()}:{dead_pid.pid}:cutoff"))
    engine.dispose()
    live = LiveServer(sqlite_url).start()
    try:
        live.add_user("vic", "viewer")
        with live.as_user("vic") as vic:
            deadline = time.monotonic() + 60
            while vic.get(f"/runs/{orphan}").json()["status"] != "succeeded":
                assert time.monotonic() < deadline
                time.sleep(0.05)
            assert vic.get(f"/runs/{orphan}").json()["outputs"] == {"said": "hello again\n"}
            assert vic.get(f"/runs/{queued}").json()["status"] == "pending"  # for workers
            assert vic.get(f"/runs/{fresh}").json()["status"] == "pending"  # for its creator
    finally:
        live.stop()
