"""RemoteRunStore and EventFollower against a real server over a socket (SQLite store)."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from remote_kit import HELLO, PASSWORD, CutProxy, LiveServer

from engine.client import ServerClient
from engine.flowfile import load_flow
from engine.remote_store import DeployRefused, EventFollower, RemoteRunStore
from engine.runs import RunNotFound, RunStore


@pytest.fixture
def live(sqlite_url: str) -> Iterator[LiveServer]:
    server = LiveServer(sqlite_url).start()
    server.add_user("ada", "designer", "operator")
    server.add_user("val", "viewer")
    yield server
    server.stop()


def _wait(predicate, timeout: float = 20.0) -> None:  # noqa: ANN001
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.02)


def _client(url: str, user: str = "ada") -> ServerClient:
    client = ServerClient(url)
    client.login(user, PASSWORD)
    return client


def test_deploy_run_and_read_back(live: LiveServer) -> None:
    client = _client(live.url)
    store = RemoteRunStore(client)
    try:
        flow = load_flow(HELLO)
        assert store.deploy(flow) == ("hello", 1)
        assert [f["name"] for f in store.list_flows()] == ["hello"]
        run_id = store.create_run(flow, {"who": "Ada"})
        _wait(lambda: store.get_run(run_id)["status"] == "succeeded")
        run = store.get_run(run_id)
        assert run["outputs"] == {"greeting": "Hello, Ada!"}
        assert {n: s["status"] for n, s in run["nodes"].items()} == {
            "start": "succeeded", "greet": "succeeded", "end": "succeeded"}
        assert store.run_row(run_id)["definition"]["name"] == "hello"
        assert store.count_runs() == 1 and store.list_runs()[0]["run_id"] == run_id
        assert [a["node_id"] for a in store.attempts(run_id, "greet")] == ["greet"]
        events = store.events_after(0, run_id=run_id)
        assert events[-1]["type"] == "run_status" and events[-1]["data"]["status"] == "succeeded"
        assert store.last_event_id() == events[-1]["id"]
        with pytest.raises(RunNotFound):
            store.get_run("0" * 32)
        with pytest.raises(ValueError, match="only a failed or cancelled run"):
            store.retry_failed(run_id)
    finally:
        store.close()
        client.close()


def test_changed_or_undeployed_flow_is_refused_with_one_sentence(live: LiveServer) -> None:
    client = _client(live.url)
    store = RemoteRunStore(client)
    try:
        flow = load_flow(HELLO)
        with pytest.raises(ValueError, match="is not deployed on the server: deploy it first"):
            store.create_run(flow, {})
        store.deploy(flow)
        changed = load_flow(HELLO)
        changed.description = "edited"
        with pytest.raises(ValueError, match="differs from version 1 of 'hello'"):
            store.create_run(changed, {})
        assert store.count_runs() == 0
        # once version 2 is deployed, version 1 read earlier still runs as version 1
        store.get_flow("hello", 1)
        assert store.deploy(changed) == ("hello", 2)
        old = store.get_run(store.create_run(flow, {}))
        new = store.get_run(store.create_run(changed, {}))
        assert (old["flow_version"], new["flow_version"]) == (1, 2)
        doc = load_flow(HELLO).to_dict()
        doc["edges"] = []
        from engine.flowfile import flow_from_dict

        with pytest.raises(DeployRefused) as refused:
            store.deploy(flow_from_dict(doc))
        assert refused.value.problems, "every problem is listed"
        assert [v["version"] for v in store.flow_versions("hello")] == [1, 2]
    finally:
        store.close()
        client.close()


def test_viewer_is_told_what_the_role_does_not_allow(live: LiveServer) -> None:
    client = _client(live.url, "val")
    store = RemoteRunStore(client)
    try:
        assert store.refusal("run") and "viewer" in store.refusal("run")
        assert "operator or admin" in (store.refusal("operate") or "")
        with pytest.raises(PermissionError, match="the server refused"):
            store.deploy(load_flow(HELLO))
    finally:
        client.close()


def test_follower_resumes_after_dropped_connections_without_loss_or_doubles(
        live: LiveServer) -> None:
    """The proxy cuts the stream three times while runs are recorded; nothing is lost."""
    proxy = CutProxy(live.port)
    client = _client(proxy.url)
    local = RunStore(live.engine)
    flow = load_flow(HELLO)
    follower = EventFollower(client, after=local.last_event_id(), retry_s=0.05).start()
    try:
        for round_ in range(4):
            for _ in range(5):
                local.create_run(flow, {"who": str(round_)})
            want = local.last_event_id()
            _wait(lambda w=want: follower.last_id >= w)
            if round_ < 3:
                before = follower.connections
                proxy.cut()
                _wait(lambda b=before: follower.connections > b)
        got = [e["id"] for e in follower.received()]
        expected = [e["id"] for e in local.events_after(0, limit=100_000)]
        assert got == expected
        assert follower.connections >= 4
    finally:
        follower.stop()
        client.close()
        proxy.close()
    assert not follower.alive


def test_approve_cancel_and_retry_through_the_api(live: LiveServer) -> None:
    from engine.flowfile import flow_from_dict

    examples = HELLO.parent
    ada, val = _client(live.url), _client(live.url, "val")
    store, viewer = RemoteRunStore(ada), RemoteRunStore(val)
    try:
        approval = load_flow(examples / "approval.flow.json")
        store.deploy(approval)
        run_id = store.create_run(approval, {"release": "v9"})
        _wait(lambda: [a["node_id"] for a in store.pending_approvals()] == ["sign_off"])
        with pytest.raises(PermissionError, match="operator"):
            viewer.decide_approval(run_id, "sign_off", True, "val")
        store.decide_approval(run_id, "sign_off", True, "ignored", "ship it")
        _wait(lambda: store.get_run(run_id)["status"] == "succeeded")
        assert store.get_run(run_id)["outputs"] == {"published": True}
        with pytest.raises(ValueError, match="not waiting for an approval"):
            store.decide_approval(run_id, "sign_off", True, "ada")

        slow = flow_from_dict({"format": "flowdesk/1", "name": "slow", "nodes": [
            {"id": "start", "kind": "start"},
            {"id": "wait", "kind": "delay", "config": {"seconds": 30}},
            {"id": "end", "kind": "end"}], "edges": [
            {"from": "start", "to": "wait"}, {"from": "wait", "to": "end"}]})
        store.deploy(slow)
        slow_id = store.create_run(slow, {})
        _wait(lambda: store.get_run(slow_id)["nodes"]["wait"]["status"] == "running")
        with pytest.raises(PermissionError):
            viewer.request_cancel(slow_id)
        store.request_cancel(slow_id)
        _wait(lambda: store.get_run(slow_id)["status"] == "cancelled")
        assert store.get_run(slow_id)["nodes"]["wait"]["status"] == "cancelled"
        store.retry_failed(slow_id)
        _wait(lambda: store.get_run(slow_id)["nodes"]["wait"]["status"] == "running")
        store.request_cancel(slow_id)
        _wait(lambda: store.get_run(slow_id)["status"] == "cancelled")
        with pytest.raises(ValueError, match="already cancelled"):
            store.request_cancel(slow_id)
    finally:
        for c in (ada, val):
            c.close()


def test_follower_carries_on_across_a_server_restart(live: LiveServer, sqlite_url: str) -> None:
    """The server stops (its stream ends), events happen while it is down, a new one starts."""
    proxy = CutProxy(live.port)
    client = _client(proxy.url)
    local = RunStore(live.engine)
    flow = load_flow(HELLO)
    follower = EventFollower(client, after=local.last_event_id(), retry_s=0.05).start()
    second: LiveServer | None = None
    try:
        local.create_run(flow, {})
        _wait(lambda: follower.last_id >= local.last_event_id())
        live.stop()
        proxy.cut()
        for _ in range(3):
            local.create_run(flow, {})  # recorded while no server answers
        second = LiveServer(sqlite_url).start()
        proxy.target_port = second.port
        local.create_run(flow, {})
        _wait(lambda: follower.last_id >= local.last_event_id())
        got = [e["id"] for e in follower.received()]
        assert got == [e["id"] for e in local.events_after(0, limit=100_000)]
    finally:
        follower.stop()
        client.close()
        proxy.close()
        if second is not None:
            second.stop()
