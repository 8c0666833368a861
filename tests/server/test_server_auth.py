"""Login, tokens and sessions over a real socket, on SQLite and PostgreSQL."""

from __future__ import annotations

import base64
import json
import threading
import time
import uuid
import warnings

import httpx
import jwt
from server_live import PASSWORD, LiveServer


def _claims(server: LiveServer, **overrides: object) -> dict[str, object]:
    now = int(time.time())
    claims: dict[str, object] = {"iss": "flowdesk", "aud": "flowdesk-api", "sub": "ann",
                                 "iat": now, "exp": now + 300, "jti": uuid.uuid4().hex}
    claims.update(overrides)
    return {k: v for k, v in claims.items() if v is not None}


def _sign(server: LiveServer, claims: dict[str, object], *, key: bytes | None = None,
          headers: dict[str, str] | None = None) -> str:
    keys = server.state.tokens.keys
    kid = keys.current
    return jwt.encode(claims, key or keys.keys[kid], algorithm="HS256",
                      headers={"typ": "at+jwt", "kid": kid, **(headers or {})})


def _me(server: LiveServer, token: str) -> httpx.Response:
    with server.client(token) as c:
        return c.get("/auth/me")


def test_login_gives_a_working_pair_and_me_names_the_user(server: LiveServer) -> None:
    server.add_user("ann", "designer", "operator")
    pair = server.login("ann")
    assert pair["token_type"] == "bearer"
    header = jwt.get_unverified_header(pair["access_token"])
    assert header["alg"] == "HS256" and header["typ"] == "at+jwt" and header["kid"]
    claims = jwt.decode(pair["access_token"], options={"verify_signature": False})
    assert pair["expires_in"] == claims["exp"] - claims["iat"] <= 900
    assert {"exp", "iat", "iss", "aud", "sub", "jti"} <= set(claims)
    r = _me(server, pair["access_token"])
    assert r.status_code == 200
    assert r.json() == {"username": "ann", "roles": ["designer", "operator"]}


def test_unknown_user_and_wrong_password_get_the_same_401(server: LiveServer) -> None:
    server.add_user("ann", "viewer")
    with server.client() as c:
        wrong = c.post("/auth/login", json={"username": "ann", "password": "nope-nope"})
        unknown = c.post("/auth/login", json={"username": "bob", "password": "nope-nope"})
        form = c.post("/auth/login", data={"username": "ann", "password": PASSWORD})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()
    assert form.status_code == 422 and isinstance(form.json()["detail"], str)


def test_no_token_or_garbage_is_401(server: LiveServer) -> None:
    with server.client() as c:
        assert c.get("/runs").status_code == 401
        assert c.get("/runs", headers={"Authorization": "Bearer not.a.jwt"}).status_code == 401
        assert c.get("/runs", headers={"Authorization": "Basic YTpi"}).status_code == 401
        assert c.get("/health").status_code == 200
    assert httpx.get(f"{server.url}/health").json()["status"] == "ok"


def test_refresh_rotates_and_reuse_revokes_the_family(server: LiveServer) -> None:
    server.add_user("ann", "viewer")
    first = server.login("ann")
    with server.client() as c:
        second = c.post("/auth/refresh", json={"refresh_token": first["refresh_token"]})
        assert second.status_code == 200
        second_pair = second.json()
        assert second_pair["refresh_token"] != first["refresh_token"]
        assert _me(server, second_pair["access_token"]).status_code == 200
        # the old refresh token is spent: using it again is a reuse …
        replay = c.post("/auth/refresh", json={"refresh_token": first["refresh_token"]})
        assert replay.status_code == 401
        # … which revokes the whole family, including the newest token
        stolen = c.post("/auth/refresh", json={"refresh_token": second_pair["refresh_token"]})
        assert stolen.status_code == 401
        # another session of the same user is untouched
        other = server.login("ann")
        assert c.post("/auth/refresh",
                      json={"refresh_token": other["refresh_token"]}).status_code == 200
    with server.as_user("ann") as c:
        assert c.get("/audit").status_code == 403  # a viewer cannot read the audit log
    server.add_user("root", "admin")
    with server.as_user("root") as c:
        actions = [e["action"] for e in c.get("/audit", params={"limit": 100}).json()["entries"]]
    assert "refresh_reuse" in actions and "login" in actions


def test_concurrent_use_of_one_refresh_token_lets_exactly_one_win(server: LiveServer) -> None:
    server.add_user("ann", "viewer")
    pair = server.login("ann")
    results: list[int] = []
    barrier = threading.Barrier(6)

    def use() -> None:
        with server.client() as c:
            barrier.wait()
            results.append(c.post("/auth/refresh",
                                  json={"refresh_token": pair["refresh_token"]}).status_code)

    threads = [threading.Thread(target=use) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [200, 401, 401, 401, 401, 401]


def test_logout_revokes_the_family_and_the_access_token(server: LiveServer) -> None:
    server.add_user("ann", "viewer")
    server.add_user("bob", "viewer")
    pair = server.login("ann")
    bobs = server.login("bob")
    with server.client(pair["access_token"]) as c:
        assert c.post("/auth/logout", json={"refresh_token": bobs["refresh_token"]}
                      ).status_code == 403
        assert c.post("/auth/logout", json={"refresh_token": pair["refresh_token"]}
                      ).status_code == 204
        assert c.get("/auth/me").status_code == 401
        assert c.post("/auth/refresh", json={"refresh_token": pair["refresh_token"]}
                      ).status_code == 401
    assert _me(server, bobs["access_token"]).status_code == 200


def test_password_change_revokes_every_session(server: LiveServer) -> None:
    server.add_user("ann", "viewer")
    one, two = server.login("ann"), server.login("ann")
    time.sleep(1.05)  # tokens carry whole seconds: the change must come a second later
    with server.client(one["access_token"]) as c:
        r = c.post("/auth/password", json={"current_password": "wrong-one",
                                           "new_password": "a new secret"})
        assert r.status_code == 400 and "current password" in r.json()["detail"]
        r = c.post("/auth/password", json={"current_password": PASSWORD,
                                           "new_password": "a new secret"})
        assert r.status_code == 204
    for pair in (one, two):
        assert _me(server, pair["access_token"]).status_code == 401
        with server.client() as c:
            assert c.post("/auth/refresh", json={"refresh_token": pair["refresh_token"]}
                          ).status_code == 401
    with server.client() as c:
        assert c.post("/auth/login", json={"username": "ann", "password": PASSWORD}
                      ).status_code == 401
    assert _me(server, server.login("ann", "a new secret")["access_token"]).status_code == 200


def test_expired_token_is_refused(server: LiveServer) -> None:
    server.add_user("ann", "viewer")
    now = int(time.time())
    expired = _sign(server, _claims(server, iat=now - 900, exp=now - 60))
    fresh = _sign(server, _claims(server))
    r = _me(server, expired)
    assert r.status_code == 401 and "expired" in r.json()["detail"]
    assert _me(server, fresh).status_code == 200  # the same recipe, in date, works


def test_forged_tokens_are_refused(server: LiveServer) -> None:
    server.add_user("ann", "viewer")
    server.add_user("root", "admin")
    good = server.login("ann")["access_token"]
    assert _me(server, good).status_code == 200

    header, payload, signature = good.split(".")

    def b64(obj: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()

    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    # alg none, no signature
    none = f"{b64({'alg': 'none', 'typ': 'at+jwt'})}.{payload}."
    # a valid-looking token signed with another key
    wrong_key = _sign(server, _claims(server), key=b"x" * 32)
    # the payload changed to another user, signature kept
    tampered = f"{header}.{b64({**claims, 'sub': 'root'})}.{signature}"
    # alg switched in the header (HS512 with the right key)
    keys = server.state.tokens.keys
    with warnings.catch_warnings():  # PyJWT warns that 32 bytes are short for HS512
        warnings.simplefilter("ignore")
        hs512 = jwt.encode(_claims(server), keys.keys[keys.current], algorithm="HS512",
                           headers={"typ": "at+jwt", "kid": keys.current})
    for token in (none, wrong_key, tampered, hs512):
        assert _me(server, token).status_code == 401, token


def test_wrong_issuer_audience_or_missing_claims_are_refused(server: LiveServer) -> None:
    server.add_user("ann", "viewer")
    assert _me(server, _sign(server, _claims(server))).status_code == 200
    for bad in ({"iss": "someone-else"}, {"aud": "another-api"}, {"jti": None},
                {"exp": None}, {"iss": None}, {"aud": None}, {"sub": None}, {"iat": None}):
        token = _sign(server, _claims(server, **bad))
        assert _me(server, token).status_code == 401, bad
    too_long = _sign(server, _claims(server, exp=int(time.time()) + 3600))
    assert _me(server, too_long).status_code == 401
    untyped = _sign(server, _claims(server), headers={"typ": "JWT"})
    assert _me(server, untyped).status_code == 401


def test_a_refresh_token_is_never_an_access_token(server: LiveServer) -> None:
    server.add_user("ann", "viewer")
    pair = server.login("ann")
    assert _me(server, pair["refresh_token"]).status_code == 401
    with server.client() as c:  # and an access token is not a refresh token
        assert c.post("/auth/refresh", json={"refresh_token": pair["access_token"]}
                      ).status_code == 401


def test_failed_logins_lock_with_429_even_for_the_right_password(server: LiveServer) -> None:
    server.add_user("ann", "viewer")
    server.add_user("bob", "viewer")
    with server.client() as c:
        codes = [c.post("/auth/login", json={"username": "ann", "password": f"wrong-{i}"}
                        ).status_code for i in range(5)]
        assert codes == [401] * 5
        locked = c.post("/auth/login", json={"username": "ann", "password": PASSWORD})
        assert locked.status_code == 429
        wait = int(locked.headers["Retry-After"])
        assert 1 <= wait <= 30
        # the address is locked too: another user from here waits as well
        assert c.post("/auth/login", json={"username": "bob", "password": PASSWORD}
                      ).status_code == 429
        time.sleep(wait + 0.2)
        ok = c.post("/auth/login", json={"username": "ann", "password": PASSWORD})
        assert ok.status_code == 200
        # a success resets the count: one more failure does not lock again
        assert c.post("/auth/login", json={"username": "ann", "password": "wrong"}
                      ).status_code == 401
        assert c.post("/auth/login", json={"username": "ann", "password": PASSWORD}
                      ).status_code == 200
