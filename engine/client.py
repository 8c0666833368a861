"""A client for a Flowdesk server's API: login, silent refresh, logout, requests.

The desktop app's remote mode and the tests use it; it has no Qt in it. The
access token lives only in this object's memory. The refresh token is handed
to whoever persists it (the app keeps it in the OS keyring) through
``on_refresh_token``, every time it rotates.

Transport rules: ``https`` certificates are always verified; plain ``http`` is
accepted only for a loopback host unless the caller passes
``allow_insecure=True`` (the app asks the user first).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit

import httpx

__all__ = ["AuthError", "ClientError", "InsecureServerError", "ServerClient", "normalise_url"]

LOOPBACK = {"localhost", "127.0.0.1", "::1", "[::1]"}
REFRESH_MARGIN_S = 60.0


class ClientError(RuntimeError):
    """A request the server refused or could not answer; one clear sentence."""

    def __init__(self, message: str, status: int | None = None, body: Any = None) -> None:
        super().__init__(message)
        self.status = status
        self.body = body


class AuthError(ClientError):
    """The session is over (bad credentials, expired or revoked tokens): log in again."""


class InsecureServerError(ClientError):
    """Plain http to a host that is not this machine, without the user's consent."""


def normalise_url(url: str) -> str:
    """``host:port`` or ``http(s)://host[:port][/]`` → ``scheme://host:port`` without a slash."""
    url = url.strip()
    if "://" not in url:
        url = "https://" + url
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ClientError(f"'{url}' is not a server address (try https://host:port)")
    return f"{parts.scheme}://{parts.netloc}{parts.path.rstrip('/')}"


def is_loopback(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    return host in LOOPBACK or host.startswith("127.")


def _detail(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text.strip()[:200] or response.reason_phrase
    if isinstance(body, dict):
        detail = body.get("detail", body.get("message", body))
        if isinstance(detail, str):
            return detail
        if isinstance(detail, list) and detail and isinstance(detail[0], dict):
            return "; ".join(str(d.get("msg", d)) for d in detail[:3])
        return str(detail)[:200]
    return str(body)[:200]


class ServerClient:
    """One signed-in session with one server. Thread-safe for concurrent requests."""

    def __init__(self, url: str, *, allow_insecure: bool = False, timeout: float = 15.0,
                 on_refresh_token: Callable[[str | None], None] | None = None,
                 transport: httpx.BaseTransport | None = None) -> None:
        self.url = normalise_url(url)
        if self.url.startswith("http://") and not is_loopback(self.url) and not allow_insecure:
            raise InsecureServerError(
                f"{self.url} uses plain http to another machine: passwords and tokens would "
                "cross the network unencrypted; use https, or confirm to connect anyway")
        self.api = f"{self.url}/api/v1"
        self._http = httpx.Client(timeout=timeout, verify=True, transport=transport)
        self._lock = threading.RLock()
        self._access: str | None = None
        self._refresh: str | None = None
        self._expires_at = 0.0
        self.username: str | None = None
        self.roles: list[str] = []
        self.on_refresh_token = on_refresh_token
        # called (from the requesting thread) when a silent refresh finds other roles
        self.on_roles_changed: Callable[[list[str]], None] | None = None

    # -- session ------------------------------------------------------------
    @property
    def signed_in(self) -> bool:
        return self._access is not None or self._refresh is not None

    @property
    def refresh_token(self) -> str | None:
        return self._refresh

    def _take_tokens(self, body: dict[str, Any]) -> None:
        self._access = body["access_token"]
        self._refresh = body["refresh_token"]
        self._expires_at = time.monotonic() + float(body.get("expires_in", 0))
        if self.on_refresh_token:
            self.on_refresh_token(self._refresh)

    def _forget(self) -> None:
        self._access = self._refresh = None
        self._expires_at = 0.0

    def login(self, username: str, password: str) -> dict[str, Any]:
        """Sign in; returns ``/auth/me``. Wrong credentials raise :class:`AuthError`."""
        response = self._send("POST", "/auth/login",
                              json={"username": username, "password": password})
        if response.status_code == 401:
            raise AuthError("wrong username or password", 401)
        if response.status_code == 429:
            wait = response.headers.get("Retry-After", "a few")
            raise AuthError(f"too many failed logins: try again in {wait} seconds", 429)
        self._raise_for(response)
        with self._lock:
            self._take_tokens(response.json())
        return self.me()

    def resume(self, refresh_token: str) -> dict[str, Any]:
        """Sign in again with a stored refresh token (the app's reconnect on start)."""
        with self._lock:
            self._refresh = refresh_token
            self._access = None
            self._refresh_now()
        return self.me()

    def _refresh_now(self) -> None:
        if not self._refresh:
            raise AuthError("not signed in")
        response = self._send("POST", "/auth/refresh", json={"refresh_token": self._refresh})
        if response.status_code in (400, 401, 403):
            self._forget()
            if self.on_refresh_token:
                self.on_refresh_token(None)
            raise AuthError("the session has expired or was revoked: sign in again",
                            response.status_code)
        self._raise_for(response)
        self._take_tokens(response.json())

    def _access_token(self) -> str:
        with self._lock:
            if self._access is None or time.monotonic() > self._expires_at - REFRESH_MARGIN_S:
                silent = self.username is not None  # signed in already: not a login/resume
                self._refresh_now()
                if silent:
                    self._reread_roles()
            assert self._access is not None
            return self._access

    def _reread_roles(self) -> None:
        """After a silent refresh, ``/auth/me`` again, so a role changed on the server shows.

        Cheap (one GET per access-token lifetime); a failure keeps the roles known.
        """
        try:
            response = self._send("GET", "/auth/me",
                                  headers={"Authorization": f"Bearer {self._access}"})
        except ClientError:
            return
        if response.status_code != 200:
            return
        roles = list(response.json().get("roles", []))
        if roles != self.roles:
            self.roles = roles
            if self.on_roles_changed is not None:
                self.on_roles_changed(roles)

    def logout(self) -> bool:
        """Revoke the session on the server and forget the tokens here in any case.

        Returns whether the server confirmed the revocation (False when it could
        not be reached, or the session was already over).
        """
        with self._lock:
            refresh = self._refresh
            revoked = False
            try:
                if refresh:
                    self.request("POST", "/auth/logout", json={"refresh_token": refresh})
                    revoked = True
            except ClientError:
                pass
            finally:
                self._forget()
                if self.on_refresh_token:
                    self.on_refresh_token(None)
            return revoked

    def me(self) -> dict[str, Any]:
        body = self.request("GET", "/auth/me")
        self.username = body.get("username")
        self.roles = list(body.get("roles", []))
        return body

    def close(self) -> None:
        self._http.close()

    # -- requests -----------------------------------------------------------
    def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            return self._http.request(method, self.api + path, **kwargs)
        except httpx.ConnectError as exc:
            raise ClientError(f"cannot reach {self.url}: {exc}") from None
        except httpx.TimeoutException:
            raise ClientError(f"{self.url} did not answer in time") from None
        except httpx.HTTPError as exc:
            raise ClientError(f"request to {self.url} failed: {exc}") from None

    @staticmethod
    def _raise_for(response: httpx.Response) -> None:
        if response.status_code < 400:
            return
        try:
            body = response.json()
        except ValueError:
            body = response.text
        message = f"{response.status_code}: {_detail(response)}"
        if response.status_code == 401:
            raise AuthError(message, 401, body)
        raise ClientError(message, response.status_code, body)

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        """An authenticated request; returns the decoded JSON body (None for 204).

        A 401 triggers one refresh and one retry; a second 401 is an
        :class:`AuthError` (the session is over).
        """
        for attempt in (1, 2):
            headers = {**kwargs.pop("headers", {}),
                       "Authorization": f"Bearer {self._access_token()}"}
            response = self._send(method, path, headers=headers, **kwargs)
            if response.status_code == 401 and attempt == 1:
                with self._lock:
                    self._access = None
                continue
            self._raise_for(response)
            if response.status_code == 204 or not response.content:
                return None
            return response.json()
        raise AssertionError("unreachable")

    @contextmanager
    def event_stream(self, path: str, *, params: dict[str, Any] | None = None,
                     last_event_id: int | None = None,
                     read_timeout: float = 45.0) -> Iterator[httpx.Response]:
        """An open server-sent-events response (one refresh-and-retry on 401).

        ``read_timeout`` is longer than the server's 15 s keep-alive, so a
        silent, dead connection is noticed and the caller can reconnect.
        """
        for attempt in (1, 2):
            headers = {"Authorization": f"Bearer {self._access_token()}",
                       "Accept": "text/event-stream"}
            if last_event_id is not None:
                headers["Last-Event-ID"] = str(last_event_id)
            try:
                with self._http.stream("GET", self.api + path, headers=headers, params=params,
                                       timeout=httpx.Timeout(15.0, read=read_timeout)
                                       ) as resp:
                    if resp.status_code == 401 and attempt == 1:
                        with self._lock:
                            self._access = None
                        continue
                    if resp.status_code >= 400:
                        resp.read()
                        self._raise_for(resp)
                    yield resp
                    return
            except httpx.HTTPError as exc:
                raise ClientError(f"the event stream from {self.url} broke: {exc}") from None

    def stream_lines(self, path: str, **kwargs: Any) -> Iterator[str]:
        """The lines of a streaming response (server-sent events)."""
        headers = {"Authorization": f"Bearer {self._access_token()}",
                   "Accept": "text/event-stream"}
        try:
            with self._http.stream("GET", self.api + path, headers=headers,
                                   timeout=httpx.Timeout(15.0, read=None), **kwargs) as resp:
                if resp.status_code >= 400:
                    resp.read()
                    self._raise_for(resp)
                yield from resp.iter_lines()
        except httpx.HTTPError as exc:
            raise ClientError(f"the event stream from {self.url} broke: {exc}") from None
