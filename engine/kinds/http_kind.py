"""The ``http`` node: send one request with httpx and fail outside ``ok_status``.

The output is ``{status, headers, text, json}``; ``json`` is the parsed body
when it is JSON, else null. A refused connection, an unknown host, a TLS
failure or a broken response is one sentence that names the URL. Redirects are
not followed (a 3xx is a success by default, with its ``location`` header in
the output). Cancelling the task (timeout, cancel) aborts the request.
"""

from __future__ import annotations

import json
import socket
import ssl
import threading
import time
from typing import Any

import httpx

from engine.kinds.base import NodeContext, NodeFailed

__all__ = ["execute"]

DEFAULT_OK = range(200, 400)
# The node's timeout_s is the real limit; these only stop a silent peer from
# holding a node without one for ever.
_TIMEOUT = httpx.Timeout(300.0, connect=30.0)
_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")


_tls_context: ssl.SSLContext | None = None
_tls_lock = threading.Lock()


def _tls() -> ssl.SSLContext:
    """One verifying TLS context for every request: building one costs tens of ms."""
    global _tls_context
    with _tls_lock:
        if _tls_context is None:
            _tls_context = httpx.create_ssl_context()
        return _tls_context


def accepted_statuses(value: Any) -> set[int] | range:
    """``ok_status`` as a set of codes (None means 200-399)."""
    if value is None:
        return DEFAULT_OK
    if not isinstance(value, list) or not value:
        raise NodeFailed("ok_status must be a non-empty list of HTTP status codes")
    codes: set[int] = set()
    for item in value:
        if isinstance(item, str) and item.strip().isdigit():
            item = int(item)
        if isinstance(item, bool) or not isinstance(item, int) or not 100 <= item <= 599:
            raise NodeFailed(f"ok_status must list HTTP status codes (100-599), not {item!r}")
        codes.add(item)
    return codes


def _headers(value: Any) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise NodeFailed("headers must be an object of name -> value")
    headers = {}
    for name, v in value.items():
        if isinstance(v, (dict, list)) or v is None:
            raise NodeFailed(f"header '{name}' must be text")
        headers[str(name)] = v if isinstance(v, str) else json.dumps(v)
    return headers


def build_request(config: dict[str, Any]) -> dict[str, Any]:
    """The keyword arguments for ``httpx.AsyncClient.request`` from the node's config."""
    method = config.get("method") or "GET"
    if not isinstance(method, str) or method.upper() not in _METHODS:
        raise NodeFailed(f"method must be one of {', '.join(_METHODS)}, not {method!r}")
    url = config.get("url")
    if not isinstance(url, str) or not url.strip():
        raise NodeFailed("url must be a non-empty string")
    if "json" in config and "body" in config:
        raise NodeFailed("give either 'json' or 'body', not both")
    kwargs: dict[str, Any] = {"method": method.upper(), "url": url.strip(),
                              "headers": _headers(config.get("headers"))}
    if "json" in config:
        kwargs["json"] = config["json"]
    elif config.get("body") is not None:
        body = config["body"]
        kwargs["content"] = body if isinstance(body, str) else json.dumps(body)
    return kwargs


def _causes(exc: BaseException) -> list[BaseException]:
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in chain:
        chain.append(current)
        current = current.__cause__ or current.__context__
    return chain


def _transport_message(url: str, exc: httpx.HTTPError) -> str:
    chain = _causes(exc)
    reason = str(chain[-1]).strip() or str(exc).strip() or type(exc).__name__
    if isinstance(exc, httpx.ConnectError):
        if any(isinstance(c, ssl.SSLError) for c in chain):
            return f"the TLS handshake with {url} failed: {reason}"
        if any(isinstance(c, ConnectionRefusedError) for c in chain):
            return f"the connection to {url} was refused"
        if any(isinstance(c, socket.gaierror) for c in chain) or "name or service" in \
                reason.lower():
            return f"the host of {url} could not be found ({reason})"
        return f"could not connect to {url}: {reason}"
    if isinstance(exc, httpx.TimeoutException):
        return f"the request to {url} timed out ({type(exc).__name__})"
    if isinstance(exc, httpx.UnsupportedProtocol):
        return f"the URL {url!r} is not an http:// or https:// address"
    return f"the request to {url} failed: {reason}"


def _response_json(response: httpx.Response) -> Any:
    if not response.content:
        return None
    try:
        return response.json()
    except (ValueError, UnicodeDecodeError):
        return None


async def execute(ctx: NodeContext) -> dict[str, Any]:
    kwargs = build_request(ctx.config)
    ok = accepted_statuses(ctx.config.get("ok_status"))
    url = kwargs["url"]
    started = time.perf_counter()
    try:
        async with httpx.AsyncClient(timeout=_TIMEOUT, follow_redirects=False,
                                     verify=_tls()) as client:
            response = await client.request(**kwargs)
    except httpx.InvalidURL as exc:
        raise NodeFailed(f"the URL {url!r} is not valid: {exc}") from None
    except httpx.HTTPError as exc:
        raise NodeFailed(_transport_message(url, exc)) from None
    elapsed_ms = (time.perf_counter() - started) * 1000
    ctx.log("stdout", f"{kwargs['method']} {url} -> {response.status_code} "
                      f"{response.reason_phrase} ({elapsed_ms:.0f} ms)")
    output = {"status": response.status_code, "headers": dict(response.headers),
              "text": response.text, "json": _response_json(response)}
    if response.status_code not in ok:
        raise NodeFailed(f"{kwargs['method']} {url} answered {response.status_code} "
                         f"{response.reason_phrase}".rstrip(), output=output)
    return output
