"""Deploy → run → follow the event stream → read the result, and the paths around it."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
from server_live import LiveServer


def hello_flow(name: str = "hello", *, command: list[str] | None = None) -> dict[str, Any]:
    return {
        "format": "flowdesk/1", "name": name,
        "inputs": {"who": {"type": "string", "default": "world"}},
        "nodes": [
            {"id": "start", "kind": "start"},
            {"id": "greet", "kind": "shell",
             "config": {"command": command or ["echo", "hello {{ inputs.who }}"]}},
            {"id": "end", "kind": "end",
             "config": {"outputs": {"said": "{{ nodes.greet.output.stdout }}"}}},
        ],
        "edges": [{"from": "start", "to": "greet"}, {"from": "greet", "to": "end"}],
    }


def approval_flow(role: str | None = None) -> dict[str, Any]:
    config: dict[str, Any] = {"prompt": "Ship it?"}
    if role:
        config["role"] = role
    return {
        "format": "flowdesk/1", "name": "gated",
        "nodes": [{"id": "start", "kind": "start"},
                  {"id": "ok", "kind": "approval", "config": config},
                  {"id": "end", "kind": "end", "config": {"outputs": {
                      "by": "{{ nodes.ok.output.by }}"}}}],
        "edges": [{"from": "start", "to": "ok"}, {"from": "ok", "to": "end"}],
    }


def read_stream(client: httpx.Client, path: str, **params: Any) -> list[dict[str, Any]]:
    """Every server-sent event of a stream that ends by itself (a run's stream)."""
    events: list[dict[str, Any]] = []
    current: dict[str, Any] = {}
    with client.stream("GET", path, params=params, timeout=60) as r:
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/event-stream")
        for line in r.iter_lines():
            if not line:
                if "data" in current:
                    events.append(current)
                current = {}
                continue
            field, _, value = line.partition(": ")
            if field in ("id", "event", "data"):
                current[field] = value
    return events


def wait_status(client: httpx.Client, run_id: str, statuses: set[str]) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        doc = client.get(f"/runs/{run_id}").json()
        if doc["status"] in statuses:
            return doc
        time.sleep(0.05)
    raise AssertionError(f"run {run_id} never reached {statuses}")


def test_deploy_run_stream_and_result(server: LiveServer) -> None:
    server.add_user("dee", "designer")
    server.add_user("vic", "viewer")
    with server.as_user("dee") as dee, server.as_user("vic") as vic:
        r = dee.post("/flows", json=hello_flow())
        assert r.status_code == 201 and r.json() == {"name": "hello", "version": 1}
        assert dee.post("/flows", json=hello_flow()).json() == {"name": "hello", "version": 2}
        assert [v["version"] for v in vic.get("/flows/hello/versions").json()["versions"]] \
            == [1, 2]
        assert vic.get("/flows/hello/versions/1").json()["definition"]["name"] == "hello"
        assert [f["name"] for f in vic.get("/flows").json()["flows"]] == ["hello"]

        started = dee.post("/runs", json={"flow": "hello", "inputs": {"who": "Flowdesk"}})
        assert started.status_code == 201, started.text
        run_id = started.json()["run_id"]
        assert started.json()["version"] == 2

        events = read_stream(vic, f"/runs/{run_id}/events/stream")
        assert events[-1]["event"] == "end"
        assert json.loads(events[-1]["data"])["status"] == "succeeded"
        body = [json.loads(e["data"]) for e in events[:-1]]
        assert [int(e["id"]) for e in events[:-1]] == [b["id"] for b in body]
        assert all(b["run_id"] == run_id for b in body)
        statuses = [(b["node_id"], b["data"].get("status")) for b in body
                    if b["type"] == "node_status"]
        assert ("greet", "succeeded") in statuses and ("end", "succeeded") in statuses

        doc = vic.get(f"/runs/{run_id}").json()
        assert doc["status"] == "succeeded"
        assert doc["outputs"] == {"said": "hello Flowdesk\n"}
        assert doc["nodes"]["greet"]["output"]["exit_code"] == 0
        assert doc["flow_name"] == "hello" and doc["flow_version"] == 2
        assert doc["created_by"] == "dee"

        # the event log read after an id gives the same events, and paging works
        log = vic.get(f"/runs/{run_id}/events", params={"after": 0}).json()
        assert [e["id"] for e in log["events"]] == [b["id"] for b in body]
        later = vic.get(f"/runs/{run_id}/events", params={"after": body[1]["id"]}).json()
        assert [e["id"] for e in later["events"]] == [b["id"] for b in body[2:]]
        # reconnecting with Last-Event-ID resumes after it
        resumed = read_stream(vic, f"/runs/{run_id}/events/stream")
        again = [e for e in resumed if e.get("event") != "end"]
        assert len(again) == len(body)
        with vic.stream("GET", f"/runs/{run_id}/events/stream",
                        headers={"Last-Event-ID": str(body[-2]["id"])}) as r:
            ids = [line[4:] for line in r.iter_lines() if line.startswith("id: ")]
        assert ids == [str(body[-1]["id"])]

        listed = vic.get("/runs", params={"flow": "hello", "status": "succeeded"}).json()
        assert listed["total"] == 1 and listed["runs"][0]["run_id"] == run_id
        assert vic.get("/runs", params={"status": "failed"}).json()["total"] == 0
        logs = vic.get(f"/runs/{run_id}/nodes/greet/logs").json()["logs"]
        assert "hello Flowdesk" in "".join(line["text"] for line in logs)
        attempts = vic.get(f"/runs/{run_id}/attempts", params={"node": "greet"}).json()
        assert [a["status"] for a in attempts["attempts"]] == ["succeeded"]


def test_invalid_flow_is_422_with_problems_and_nothing_is_stored(server: LiveServer) -> None:
    server.add_user("dee", "designer")
    bad = hello_flow()
    bad["edges"].append({"from": "end", "to": "start"})  # a cycle
    bad["nodes"].append({"id": "lost", "kind": "shell", "config": {"command": ["true"]}})
    with server.as_user("dee") as dee:
        r = dee.post("/flows", json=bad)
        assert r.status_code == 422
        body = r.json()
        assert isinstance(body["detail"], str) and "hello" in body["detail"]
        assert len(body["problems"]) >= 2
        assert any(p.get("node") == "lost" for p in body["problems"])
        unknown_key = {**hello_flow(), "colour": "blue"}
        r = dee.post("/flows", json=unknown_key)
        assert r.status_code == 422 and "colour" in r.json()["detail"]
        r = dee.post("/flows", content=b"{not json", headers={"content-type":
                                                             "application/json"})
        assert r.status_code == 422 and "JSON" in r.json()["detail"]
        assert dee.get("/flows").json()["flows"] == []
        assert dee.get("/flows/hello").status_code == 404


def test_run_errors_are_one_sentence(server: LiveServer) -> None:
    server.add_user("dee", "designer")
    with server.as_user("dee") as dee:
        dee.post("/flows", json=hello_flow())
        r = dee.post("/runs", json={"flow": "nope"})
        assert r.status_code == 404 and "nope" in r.json()["detail"]
        r = dee.post("/runs", json={"flow": "hello", "inputs": {"who": 3}})
        assert r.status_code == 422 and "who" in r.json()["detail"]
        r = dee.post("/runs", json={"flow": "hello", "inputs": {"colour": "x"}})
        assert r.status_code == 422 and "colour" in r.json()["detail"]
        assert dee.get("/runs/0123456789abcdef").status_code == 404
        assert dee.post("/flows/hello/archive").json() == {"name": "hello", "archived": True}
        r = dee.post("/runs", json={"flow": "hello"})
        assert r.status_code == 409 and "archived" in r.json()["detail"]
        assert dee.get("/runs").json()["total"] == 0


def test_approval_by_role_then_the_run_finishes(server: LiveServer) -> None:
    server.add_user("dee", "designer")
    server.add_user("ops", "operator")
    server.add_user("vic", "viewer")
    with server.as_user("dee") as dee, server.as_user("ops") as ops, \
            server.as_user("vic") as vic:
        dee.post("/flows", json=approval_flow(role="designer"))
        run_id = dee.post("/runs", json={"flow": "gated"}).json()["run_id"]
        wait_status(vic, run_id, {"waiting"})
        pending = vic.get("/approvals").json()["approvals"]
        assert pending == [{"run_id": run_id, "node_id": "ok", "prompt": "Ship it?",
                            "role": "designer", "since": pending[0]["since"]}]
        # the approval names "designer": an operator may not decide it, a designer may
        r = ops.post(f"/approvals/{run_id}/ok", json={"approved": True})
        assert r.status_code == 403 and "designer" in r.json()["detail"]
        r = vic.post(f"/approvals/{run_id}/ok", json={"approved": True})
        assert r.status_code == 403
        r = dee.post(f"/approvals/{run_id}/ok", json={"approved": True, "comment": "go"})
        assert r.status_code == 200 and r.json()["by"] == "dee"
        doc = wait_status(vic, run_id, {"succeeded", "failed"})
        assert doc["status"] == "succeeded" and doc["outputs"] == {"by": "dee"}
        r = dee.post(f"/approvals/{run_id}/ok", json={"approved": False})
        assert r.status_code == 409


def test_cancel_and_retry(server: LiveServer) -> None:
    server.add_user("ops", "operator")
    server.add_user("dee", "designer")
    with server.as_user("dee") as dee, server.as_user("ops") as ops:
        dee.post("/flows", json=hello_flow("slow", command=["sleep", "30"]))
        run_id = ops.post("/runs", json={"flow": "slow"}).json()["run_id"]
        wait_status(ops, run_id, {"running"})
        assert dee.post(f"/runs/{run_id}/cancel").status_code == 403
        r = ops.post(f"/runs/{run_id}/cancel")
        assert r.status_code == 202
        assert wait_status(ops, run_id, {"cancelled", "failed"})["status"] == "cancelled"
        assert ops.post(f"/runs/{run_id}/cancel").status_code == 409

        dee.post("/flows", json=hello_flow("flaky", command=["false"]))
        run_id = ops.post("/runs", json={"flow": "flaky"}).json()["run_id"]
        assert wait_status(ops, run_id, {"failed", "succeeded"})["status"] == "failed"
        assert ops.post(f"/runs/{run_id}/retry").status_code == 202
        doc = wait_status(ops, run_id, {"failed", "succeeded"})
        assert doc["status"] == "failed"
        assert len(ops.get(f"/runs/{run_id}/attempts", params={"node": "greet"}
                           ).json()["attempts"]) == 2


def test_all_runs_stream_follows_new_events(server: LiveServer) -> None:
    server.add_user("dee", "designer")
    with server.as_user("dee") as dee:
        dee.post("/flows", json=hello_flow())
        seen: list[dict[str, Any]] = []
        with dee.stream("GET", "/events/stream", timeout=60) as r:
            run_id = dee.post("/runs", json={"flow": "hello"}).json()["run_id"]
            for line in r.iter_lines():
                if line.startswith("data: "):
                    seen.append(json.loads(line[6:]))
                    if seen[-1]["type"] == "run_status" and \
                            seen[-1]["data"]["status"] == "succeeded":
                        break
        assert {e["run_id"] for e in seen} == {run_id}
        assert seen[0]["data"]["status"] == "pending"


def test_body_size_limit(server: LiveServer) -> None:
    server.add_user("dee", "designer")
    with server.as_user("dee") as dee:
        big = hello_flow()
        big["description"] = "x" * (2 * 1024 * 1024)
        r = dee.post("/flows", json=big)
        assert r.status_code == 413 and "larger" in r.json()["detail"]

        def chunks() -> Any:
            for _ in range(40):
                yield b"x" * 65536

        r = dee.post("/flows", content=chunks(), headers={"content-type": "application/json"})
        assert r.status_code == 413
        assert dee.get("/flows").status_code == 200
