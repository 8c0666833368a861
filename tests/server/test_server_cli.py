"""``flowdesk user …`` and ``flowdesk serve`` as a user runs them (real processes)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from engine.auth.users import authenticate, get_user, list_users
from engine.store import open_engine

ROOT = Path(__file__).resolve().parents[2]


def flowdesk(*args: str, stdin: str | None = None,
             env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "app.entry", *args], input=stdin,
                          capture_output=True, text=True, cwd=ROOT, timeout=120,
                          env={**os.environ, **(env or {})})


def test_user_add_list_passwd_roles(store_url: str) -> None:
    r = flowdesk("user", "add", "ann", "--role", "designer", "--role", "operator",
                 "--password-stdin", "--store", store_url, stdin="  spaces kept\t \r\nignored\n")
    assert r.returncode == 0, r.stderr
    engine = open_engine(store_url)
    try:
        # only the line ending is stripped: leading/trailing blanks are part of the password
        assert authenticate(engine, "ann", "  spaces kept\t ") is not None
        assert authenticate(engine, "ann", "spaces kept") is None

        r = flowdesk("user", "list", "--json", "--store", store_url)
        assert json.loads(r.stdout) == [{"username": "ann", "roles": ["designer", "operator"],
                                         "disabled": False}]
        r = flowdesk("user", "passwd", "ann", "--password-stdin", "--store", store_url,
                     stdin="brand new secret\n")
        assert r.returncode == 0, r.stderr
        assert authenticate(engine, "ann", "brand new secret") is not None
        assert authenticate(engine, "ann", "  spaces kept\t ") is None

        r = flowdesk("user", "roles", "ann", "--set", "viewer", "--store", store_url)
        assert r.returncode == 0 and "viewer" in r.stdout
        assert get_user(engine, "ann").roles == ("viewer",)  # type: ignore[union-attr]
        r = flowdesk("user", "roles", "ann", "--store", store_url)
        assert r.stdout.strip() == "ann: viewer"
    finally:
        engine.dispose()


@pytest.mark.parametrize(("args", "stdin", "message"), [
    (["add", "ann", "--role", "root", "--password-stdin"], "long enough pw\n", "'root' is not"),
    (["add", "ann", "--role", "viewer", "--password-stdin"], "short\n", "at least 8"),
    (["add", "ann", "--role", "viewer", "--password-stdin"], "", "no password"),
    (["add", "a b", "--role", "viewer", "--password-stdin"], "long enough pw\n",
     "not a valid user name"),
    (["passwd", "nobody", "--password-stdin"], "long enough pw\n", "no user named 'nobody'"),
    (["roles", "nobody", "--set", "viewer"], None, "no user named 'nobody'"),
])
def test_user_errors_are_one_sentence_and_change_nothing(sqlite_url: str, args: list[str],
                                                         stdin: str | None,
                                                         message: str) -> None:
    r = flowdesk("user", *args, "--store", sqlite_url, stdin=stdin)
    assert r.returncode == 2
    assert message in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.stderr
    engine = open_engine(sqlite_url)
    assert list_users(engine) == []
    engine.dispose()


def test_adding_a_user_twice_is_refused(sqlite_url: str) -> None:
    assert flowdesk("user", "add", "ann", "--role", "viewer", "--password-stdin", "--store",
                    sqlite_url, stdin="long enough pw\n").returncode == 0
    r = flowdesk("user", "add", "ann", "--role", "admin", "--password-stdin", "--store",
                 sqlite_url, stdin="another password\n")
    assert r.returncode == 2 and "already exists" in r.stderr
    assert "viewer" in flowdesk("user", "list", "--store", sqlite_url).stdout


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_serve_logs_in_and_keeps_tokens_out_of_its_log(sqlite_url: str, tmp_path: Path) -> None:
    assert flowdesk("user", "add", "root", "--role", "admin", "--password-stdin", "--store",
                    sqlite_url, stdin="root password 1\n").returncode == 0
    port = _free_port()
    log = tmp_path / "serve.log"
    with log.open("w") as out:
        proc = subprocess.Popen([sys.executable, "-m", "app.entry", "serve", "--port",
                                 str(port), "--store", sqlite_url], cwd=ROOT, stdout=out,
                                stderr=subprocess.STDOUT, text=True)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/health").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert proc.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.1)
        with httpx.Client(base_url=f"{base}/api/v1") as c:
            pair = c.post("/auth/login", json={"username": "root",
                                               "password": "root password 1"}).json()
            c.headers["Authorization"] = f"Bearer {pair['access_token']}"
            assert c.get("/auth/me").json()["username"] == "root"
            refreshed = c.post("/auth/refresh", json={"refresh_token": pair["refresh_token"]})
            assert refreshed.status_code == 200
            c.post("/auth/login", json={"username": "root", "password": "wrong password"})
            assert "flowdesk_http_requests_total" in c.get("/metrics").text
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=30)
    text = log.read_text()
    assert "/api/v1/auth/login" in text  # the access log is there …
    for secret in (pair["access_token"], pair["refresh_token"],
                   refreshed.json()["access_token"], "root password 1", "wrong password"):
        assert secret not in text  # … but no token or password is in it


def test_serve_refuses_a_short_jwt_secret(sqlite_url: str) -> None:
    r = flowdesk("serve", "--port", str(_free_port()), "--store", sqlite_url,
                 env={"FLOWDESK_JWT_SECRET": "too short"})
    assert r.returncode == 2
    assert "FLOWDESK_JWT_SECRET must be at least 32 bytes" in r.stderr
    r = flowdesk("serve", "--port", "70000", "--store", sqlite_url)
    assert r.returncode == 2 and "--port" in r.stderr


def test_serve_rotate_key(sqlite_url: str) -> None:
    from engine.auth.tokens import load_signing_keys

    engine = open_engine(sqlite_url)
    try:
        before = load_signing_keys(engine).current
        r = flowdesk("serve", "--rotate-key", "--store", sqlite_url)
        assert r.returncode == 0, r.stderr
        after = load_signing_keys(engine)
        assert after.current != before and before in after.keys
        assert after.current in r.stdout
        r = flowdesk("serve", "--rotate-key", "--store", sqlite_url,
                     env={"FLOWDESK_JWT_SECRET": "x" * 40})
        assert r.returncode == 2 and "FLOWDESK_JWT_SECRET is set" in r.stderr
    finally:
        engine.dispose()
