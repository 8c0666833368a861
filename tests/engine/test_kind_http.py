"""The ``http`` node against a real HTTP server on 127.0.0.1 (a thread in this process)."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from engine.kinds import implementation
from engine.kinds.base import NodeContext, NodeFailed
from engine.kinds.http_kind import execute


class QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        # No traceback printing from a handler thread: on Python 3.11, traceback's
        # ast.parse in a thread can corrupt a concurrent ast.parse in the main thread.
        pass


class Handler(BaseHTTPRequestHandler):
    """A few routes a flow might call."""

    def log_message(self, format: str, *args: Any) -> None:  # keep the test output quiet
        pass

    def _send(self, status: int, body: bytes, content_type: str = "text/plain",
              headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _route(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        if self.path == "/data":
            self._send(200, b'{"items": [1, 2, 3], "day": "monday"}', "application/json")
        elif self.path == "/text":
            self._send(200, b"plain words", headers={"X-Trace": "abc"})
        elif self.path == "/missing":
            self._send(404, b'{"error": "no such thing"}', "application/json")
        elif self.path == "/broken":
            self._send(500, b"it broke")
        elif self.path == "/moved":
            self._send(302, b"", headers={"Location": "/data"})
        elif self.path == "/echo":
            self._send(200, json.dumps({
                "method": self.command, "body": body.decode(),
                "content_type": self.headers.get("Content-Type"),
                "auth": self.headers.get("Authorization")}).encode(), "application/json")
        elif self.path == "/slow":
            time.sleep(3)
            try:
                self._send(200, b"late")
            except OSError:  # the client gave up, as it should
                pass
        else:
            self._send(400, b"unknown route")

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = _route


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    httpd = QuietServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def run(config: dict[str, Any], logs: list[tuple[str, str]] | None = None) -> Any:
    sink = logs if logs is not None else []
    ctx = NodeContext("run-1", "fetch", 1, config, {},
                      log=lambda stream, text: sink.append((stream, text)))
    return asyncio.run(execute(ctx))


def fail(config: dict[str, Any]) -> NodeFailed:
    with pytest.raises(NodeFailed) as info:
        run(config)
    return info.value


def test_the_registry_finds_this_module() -> None:
    assert implementation("http").execute is execute


def test_a_json_answer(server: str) -> None:
    logs: list[tuple[str, str]] = []
    out = run({"method": "GET", "url": f"{server}/data"}, logs)
    assert out["status"] == 200
    assert out["json"] == {"items": [1, 2, 3], "day": "monday"}
    assert out["text"] == '{"items": [1, 2, 3], "day": "monday"}'
    assert out["headers"]["content-type"] == "application/json"
    assert logs[0][1].startswith(f"GET {server}/data -> 200 OK")


def test_a_text_answer_has_no_json(server: str) -> None:
    out = run({"url": f"{server}/text"})
    assert out["json"] is None and out["text"] == "plain words"
    assert out["headers"]["x-trace"] == "abc"


def test_a_status_outside_ok_status_fails_and_keeps_the_answer(server: str) -> None:
    err = fail({"url": f"{server}/missing"})
    assert err.message == f"GET {server}/missing answered 404 Not Found"
    assert err.output["status"] == 404 and err.output["json"] == {"error": "no such thing"}
    assert fail({"url": f"{server}/broken"}).output["text"] == "it broke"


def test_ok_status_accepts_what_the_flow_expects(server: str) -> None:
    assert run({"url": f"{server}/missing", "ok_status": [404]})["status"] == 404
    err = fail({"url": f"{server}/data", "ok_status": [201, 204]})
    assert err.message == f"GET {server}/data answered 200 OK"
    assert fail({"url": f"{server}/data", "ok_status": [99]}).message == \
        "ok_status must list HTTP status codes (100-599), not 99"


def test_redirects_are_answers_not_followed(server: str) -> None:
    out = run({"url": f"{server}/moved"})
    assert out["status"] == 302 and out["headers"]["location"] == "/data"


def test_a_json_body_and_headers_are_sent(server: str) -> None:
    out = run({"method": "POST", "url": f"{server}/echo", "json": {"n": 1, "tags": ["a"]},
               "headers": {"Authorization": "Bearer xyz"}})
    assert out["json"]["method"] == "POST"
    assert json.loads(out["json"]["body"]) == {"n": 1, "tags": ["a"]}
    assert out["json"]["content_type"] == "application/json"
    assert out["json"]["auth"] == "Bearer xyz"


def test_a_raw_body_is_sent_as_is(server: str) -> None:
    out = run({"method": "put", "url": f"{server}/echo", "body": "a=1&b=2",
               "headers": {"Content-Type": "application/x-www-form-urlencoded"}})
    assert out["json"] == {"method": "PUT", "body": "a=1&b=2",
                           "content_type": "application/x-www-form-urlencoded", "auth": None}


def test_head_has_headers_and_no_body(server: str) -> None:
    out = run({"method": "HEAD", "url": f"{server}/data"})
    assert out["status"] == 200 and out["text"] == "" and out["json"] is None


def test_a_refused_connection_is_one_sentence() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens here once the socket is closed
    url = f"http://127.0.0.1:{port}/data"
    err = fail({"url": url})
    assert err.message == f"the connection to {url} was refused"
    assert err.output is None


def test_tls_to_a_plain_http_server_is_one_sentence(server: str) -> None:
    url = server.replace("http://", "https://") + "/data"
    assert fail({"url": url}).message.startswith(f"the TLS handshake with {url} failed: ")


def test_an_unknown_host_is_one_sentence() -> None:
    url = "http://no-such-host.invalid/"
    assert fail({"url": url}).message.startswith(f"the host of {url} could not be found")


def test_bad_urls_and_methods_are_one_sentence() -> None:
    assert fail({"url": "example.com/x"}).message == \
        "the URL 'example.com/x' is not an http:// or https:// address"
    assert fail({"url": ""}).message == "url must be a non-empty string"
    assert fail({"url": "http://x/", "method": "FETCH"}).message.startswith(
        "method must be one of GET")
    assert fail({"url": "http://x/", "json": {}, "body": "x"}).message == \
        "give either 'json' or 'body', not both"


def test_a_cancelled_request_stops_at_once(server: str) -> None:
    async def scenario() -> float:
        ctx = NodeContext("r", "n", 1, {"url": f"{server}/slow"}, {})
        started = time.monotonic()
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(execute(ctx), 0.3)
        return time.monotonic() - started

    assert asyncio.run(scenario()) < 2.5  # the server would answer after 3 s


def test_http_nodes_in_a_flow_run(server: str, sqlite_url: str) -> None:
    """A fetch feeds a branch; a 404 takes the error edge with the node's message."""
    from executor_testkit import end, flow, node, run, start

    from engine.runs import RunStore

    f = flow([
        start(),
        node("fetch", "http", config={"url": server + "/{{ inputs.path }}"}),
        node("check", "branch"),
        node("report", "set",
             config={"vars": {"count": "{{ len(nodes.fetch.output.json.items) }}"}}),
        end("good", count="{{ vars.count }}"),
        end("bad", error="{{ nodes.fetch.output.error }}"),
    ], ["start>fetch", "fetch>check",
        {"from": "check", "to": "report", "when": "nodes.fetch.output.status == 200"},
        {"from": "check", "to": "bad", "default": True},
        {"from": "fetch", "to": "bad", "on": "error"}, "report>good"],
        inputs={"path": {"type": "string"}})
    store = RunStore.open(sqlite_url)
    try:
        _, status, doc = run(store, f, {"path": "data"})
        assert status == "succeeded" and doc["outputs"] == {"count": 3}
        _, status, doc = run(store, f, {"path": "missing"})
        assert status == "succeeded"
        assert doc["outputs"] == {"error": f"GET {server}/missing answered 404 Not Found"}
        assert doc["nodes"]["fetch"]["status"] == "failed"
    finally:
        store.close()
