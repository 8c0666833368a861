"""Every example flow in resources/examples runs to the end state listed in expected.json."""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from executor_testkit import statuses

from engine.executor import execute_run
from engine.flowfile import load_flow
from engine.runs import RunStore

EXAMPLES = Path(__file__).resolve().parents[2] / "resources" / "examples"
EXPECTED = json.loads((EXAMPLES / "expected.json").read_text())


@pytest.fixture
def status_server() -> Iterator[str]:
    """A real HTTP server answering 200 at /status."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
            body = b'{"ok": true}'
            self.send_response(200 if self.path.startswith("/status") else 404)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/status"
    server.shutdown()
    server.server_close()


def test_every_example_is_listed() -> None:
    files = sorted(p.name for p in EXAMPLES.glob("*.flow.json"))
    assert files == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_example_reaches_its_expected_end_state(store: RunStore, name: str,
                                                status_server: str) -> None:
    expected = EXPECTED[name]
    path = EXAMPLES / name
    inputs = dict(expected["inputs"])
    if name == "http-fetch.flow.json":
        inputs["url"] = status_server
    run_id = store.create_run(load_flow(path), inputs, source=str(path))
    status = execute_run(store, run_id)
    doc = store.get_run(run_id)
    assert status == expected["status"], doc["error"]
    assert statuses(doc) == expected["nodes"]
    if "outputs" in expected:
        assert doc["outputs"] == expected["outputs"]
    if name == "retry-and-error-edges.flow.json":
        assert doc["nodes"]["flaky"]["attempts"] == 2


@pytest.mark.parametrize(("approved", "published"), [(True, True), (False, False)])
def test_approval_example_after_the_decision(store: RunStore, approved: bool,
                                             published: bool) -> None:
    path = EXAMPLES / "approval.flow.json"
    run_id = store.create_run(load_flow(path), {}, source=str(path))
    assert execute_run(store, run_id) == "waiting"
    store.decide_approval(run_id, "sign_off", approved, "tester")
    assert execute_run(store, run_id) == "succeeded"
    doc = store.get_run(run_id)
    assert doc["outputs"] == {"published": published}
    s = statuses(doc)
    if approved:
        assert (s["publish"], s["rejected"]) == ("succeeded", "skipped")
    else:
        assert (s["sign_off"], s["publish"], s["rejected"]) == ("failed", "skipped",
                                                                 "succeeded")
