"""A run store that lives on a Flowdesk server: the app's remote mode talks to it.

:class:`RemoteRunStore` answers the same methods with the same shapes as
:class:`engine.runs.RunStore`, over the server's API, and raises the same
exception types where the app catches them (``RunNotFound``, ``ValueError``).
The server executes the runs, so ``runs_locally`` is false and nothing here
runs a flow. :class:`EventFollower` reads the server's event stream in a
thread and reconnects after a dropped connection from the last id it saw, so
no event is lost or doubled; ``events_after`` answers from what it received.
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import httpx

from engine.client import AuthError, ClientError, ServerClient
from engine.model import Flow
from engine.runs import RunBusy, RunNotFound

__all__ = ["DeployRefused", "EventFollower", "RemoteRunStore"]

PAGE = 5000
BUFFER_MAX = 20_000
ROLE_NEEDS = {
    "deploy": (("designer", "admin"), "deploy flows", "designer or admin"),
    "run": (("operator", "designer", "admin"), "start runs", "operator, designer or admin"),
    "operate": (("operator", "admin"), "cancel, retry or approve runs", "operator or admin"),
}


class DeployRefused(ValueError):
    """The server refused a flow (422); ``problems`` lists every one it found."""

    def __init__(self, message: str, problems: list[dict[str, Any]]) -> None:
        super().__init__(message)
        self.problems = problems


def _q(part: str) -> str:
    return quote(part, safe="")


class EventFollower:
    """Follows ``/events/stream`` (or one run's stream) in a thread, reconnecting as needed.

    Every event with an id above the last one seen is kept (ascending, no
    doubles) and handed to ``on_events``; after a broken connection the
    follower asks again from that id (``?after=`` and ``Last-Event-ID``). An
    :class:`AuthError` ends it and is handed to ``on_auth_lost``.
    """

    def __init__(self, client: ServerClient, *, after: int = 0, run_id: str | None = None,
                 on_events: Callable[[list[dict[str, Any]]], None] | None = None,
                 on_auth_lost: Callable[[AuthError], None] | None = None,
                 retry_s: float = 0.5) -> None:
        self.client = client
        self.run_id = run_id
        self.base = after          # every event after this id is in (or was) in the buffer
        self.last_id = after
        self.on_events = on_events
        self.on_auth_lost = on_auth_lost
        self.retry_s = retry_s
        self.connections = 0
        self.ended = False         # a run stream's ``end`` arrived
        self.error: BaseException | None = None
        self.problem: str | None = None  # why the last connection attempt failed, if it did
        self._buffer: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._sock: socket.socket | None = None
        self._thread = threading.Thread(target=self._run, name="remote-events", daemon=True)

    def start(self) -> EventFollower:
        self._thread.start()
        return self

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop following: wakes a read blocked on a quiet stream by shutting its socket."""
        self._stop.set()
        sock = self._sock
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout)

    def events_after(self, after: int, run_id: str | None = None,
                     limit: int = 1000) -> list[dict[str, Any]] | None:
        """What arrived after ``after``; ``None`` when the buffer does not reach back that far."""
        with self._lock:
            if after < self.base:
                return None
            out = [e for e in self._buffer if e["id"] > after
                   and (run_id is None or e["run_id"] == run_id)]
        return out[:limit]

    # -- the thread -------------------------------------------------------------------
    def _path(self) -> str:
        return f"/runs/{_q(self.run_id)}/events/stream" if self.run_id else "/events/stream"

    def _run(self) -> None:
        while not self._stop.is_set() and not self.ended:
            before = self.connections
            try:
                with self.client.event_stream(self._path(), params={"after": self.last_id},
                                              last_event_id=self.last_id) as resp:
                    self.connections += 1
                    self.problem = None
                    self._sock = _socket_of(resp)
                    if self._stop.is_set():
                        return
                    self._read(resp)
            except AuthError as exc:
                self.error = exc
                if self.on_auth_lost is not None:
                    self.on_auth_lost(exc)
                return
            except (ClientError, httpx.HTTPError, OSError) as exc:
                # a dropped connection: ask again from the last id seen; one that
                # could not even be opened is a problem the app shows
                if self.connections == before:
                    self.problem = str(exc) or type(exc).__name__
            finally:
                self._sock = None
            self._stop.wait(self.retry_s)

    def _read(self, resp: httpx.Response) -> None:
        kind, data = "", ""
        for line in resp.iter_lines():
            if self._stop.is_set():
                return
            if line == "":
                if data:
                    self._dispatch(kind, data)
                kind, data = "", ""
            elif line.startswith("event:"):
                kind = line[6:].strip()
            elif line.startswith("data:"):
                data += line[5:].strip()
            # ``id:``, ``retry:`` and ``: keep-alive`` carry nothing the data lacks

    def _dispatch(self, kind: str, data: str) -> None:
        try:
            event = json.loads(data)
        except ValueError:
            return
        if kind == "end":
            self.ended = True
            return
        if not isinstance(event, dict) or not isinstance(event.get("id"), int):
            return
        with self._lock:
            if event["id"] <= self.last_id:
                return  # already seen (a reconnect overlapping what arrived)
            self.last_id = event["id"]
            self._buffer.append(event)
            if len(self._buffer) > BUFFER_MAX:
                dropped = self._buffer[: len(self._buffer) - BUFFER_MAX // 2]
                self._buffer = self._buffer[len(dropped):]
                self.base = dropped[-1]["id"]
        if self.on_events is not None:
            self.on_events([event])

    def received(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._buffer)


def _socket_of(resp: httpx.Response) -> socket.socket | None:
    stream = resp.extensions.get("network_stream")
    if stream is None:
        return None
    try:
        sock = stream.get_extra_info("socket")
    except Exception:  # noqa: BLE001 - only used to wake a blocked read
        return None
    return sock if isinstance(sock, socket.socket) else None


class RemoteRunStore:
    """The server's runs, with :class:`engine.runs.RunStore`'s face."""

    runs_locally = False

    def __init__(self, client: ServerClient,
                 on_auth_lost: Callable[[AuthError], None] | None = None) -> None:
        self.client = client
        self.on_auth_lost = on_auth_lost
        self.follower: EventFollower | None = None
        self._definitions: dict[tuple[str, int], dict[str, Any]] = {}
        self._lock = threading.Lock()

    # -- plumbing -----------------------------------------------------------------------
    def _call(self, method: str, path: str, *, run_id: str | None = None,
              **kwargs: Any) -> Any:
        try:
            return self.client.request(method, path, **kwargs)
        except AuthError as exc:
            if self.on_auth_lost is not None:
                self.on_auth_lost(exc)
            raise
        except ClientError as exc:
            message = str(exc).split(": ", 1)[-1] if exc.status else str(exc)
            if exc.status == 404 and run_id is not None and "node" not in message:
                raise RunNotFound(f"no run with id '{run_id}'") from None
            if exc.status == 403:
                raise PermissionError(f"the server refused: {message}") from None
            if exc.status in (400, 404, 409, 422):
                raise ValueError(message) from None
            raise

    def replace_client(self, client: ServerClient) -> None:
        """Carry on with a new session (after signing in again); the follower restarts."""
        old = self.client
        self.client = client
        follower = self.follower
        if follower is not None:
            follower.stop()
            self.follower = None
            self._follow(follower.last_id)
        if old is not client:
            old.close()

    def close(self) -> None:
        if self.follower is not None:
            self.follower.stop()
            self.follower = None

    # -- permissions --------------------------------------------------------------------
    def refusal(self, action: str) -> str | None:
        """Why the signed-in user may not do ``action`` (deploy/run/operate), or ``None``."""
        roles, what, who = ROLE_NEEDS[action]
        mine = self.client.roles
        if any(r in roles for r in mine):
            return None
        shown = ", ".join(mine) or "no role"
        return f"Your role on this server ({shown}) may not {what}; it needs {who}."

    def approval_refusal(self, role: str | None) -> str | None:
        """Why the user may not decide an approval naming ``role``, or ``None``.

        The server's rule (engine/server/routes_approvals.py): the approval's own role
        when it names one, else operator; admin always.
        """
        mine = set(self.client.roles)
        needed = role or "operator"
        if "admin" in mine or needed in mine:
            return None
        shown = ", ".join(sorted(mine)) or "no role"
        return (f"Your role on this server ({shown}) may not decide this approval; it needs "
                f"{needed} or admin.")

    # -- flows --------------------------------------------------------------------------
    def deploy(self, flow: Flow) -> tuple[str, int]:
        """Deploy ``flow`` as the next version of its name; 422 → :class:`DeployRefused`."""
        try:
            body = self.client.request("POST", "/flows", json=flow.to_dict())
        except AuthError as exc:
            if self.on_auth_lost is not None:
                self.on_auth_lost(exc)
            raise
        except ClientError as exc:
            if exc.status == 422 and isinstance(exc.body, dict):
                problems = list(exc.body.get("problems") or [])
                raise DeployRefused(str(exc.body.get("detail") or exc), problems) from None
            if exc.status == 403:
                raise PermissionError(f"the server refused: {exc}") from None
            raise
        return str(body["name"]), int(body["version"])

    def list_flows(self) -> list[dict[str, Any]]:
        return list(self._call("GET", "/flows")["flows"])

    def flow_versions(self, name: str) -> list[dict[str, Any]]:
        return list(self._call("GET", f"/flows/{_q(name)}/versions")["versions"])

    def get_flow(self, name: str, version: int | None = None) -> dict[str, Any]:
        """One deployed version (the latest when ``version`` is None), with its definition."""
        path = f"/flows/{_q(name)}" + (f"/versions/{int(version)}" if version else "")
        doc = dict(self._call("GET", path))
        with self._lock:
            self._definitions[(str(doc["name"]), int(doc["version"]))] = doc["definition"]
        return doc

    def _known_version(self, flow: Flow) -> int | None:
        """A version already read whose definition is exactly ``flow`` (run again, old versions)."""
        definition = flow.to_dict()
        with self._lock:
            found = [v for (n, v), d in self._definitions.items()
                     if n == flow.name and d == definition]
        return max(found) if found else None

    def deployed_flow(self, name: str) -> tuple[dict[str, Any], int] | None:
        try:
            doc = self.get_flow(name)
        except ValueError:
            return None
        return doc["definition"], int(doc["version"])

    def _definition(self, name: str, version: int) -> dict[str, Any]:
        key = (name, version)
        with self._lock:
            cached = self._definitions.get(key)
        if cached is None:
            cached = self.get_flow(name, version)["definition"]
            with self._lock:
                self._definitions[key] = cached
        return cached

    # -- creating -----------------------------------------------------------------------
    def create_run(self, flow: Flow, inputs: dict[str, Any], *, source: str | None = None,
                   flow_version: int | None = None, created_by: str | None = None,
                   **_ignored: Any) -> str:
        """Start a run of the deployed version of ``flow`` (the server executes it).

        Nothing is deployed here: without ``flow_version`` the open flow must be
        the same as a version read before (opened, or a run's snapshot) or as the
        latest deployed version of its name.
        """
        if flow_version is None:
            flow_version = self._known_version(flow)
        if flow_version is None:
            deployed = self.deployed_flow(flow.name)
            if deployed is None:
                raise ValueError(f"the flow '{flow.name}' is not deployed on the server: "
                                 "deploy it first (File → Deploy to server)")
            definition, flow_version = deployed
            if definition != flow.to_dict():
                raise ValueError(f"the open flow differs from version {flow_version} of "
                                 f"'{flow.name}' on the server: deploy it first "
                                 "(File → Deploy to server)")
        body = self._call("POST", "/runs", json={"flow": flow.name, "version": flow_version,
                                                 "inputs": inputs})
        return str(body["run_id"])

    # -- reading ------------------------------------------------------------------------
    def get_run(self, run_id: str) -> dict[str, Any]:
        return dict(self._call("GET", f"/runs/{_q(run_id)}", run_id=run_id))

    def run_row(self, run_id: str) -> dict[str, Any]:
        """The run with its flow definition (read from the deployed version)."""
        run = self.get_run(run_id)
        row = dict(run)
        row["id"] = run["run_id"]
        version = run.get("flow_version")
        row["definition"] = (self._definition(run["flow_name"], int(version))
                             if version else {"format": "flowdesk/1", "name": run["flow_name"],
                                              "nodes": [{"id": n, "kind": "set"}
                                                        for n in run.get("nodes", {})],
                                              "edges": []})
        row.setdefault("source", None)
        row.setdefault("owner", None)
        row.setdefault("lease_until", None)
        return row

    def list_runs(self, *, status: str | None = None, flow: str | None = None,
                  search: str | None = None, limit: int = 100, offset: int = 0
                  ) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        while len(out) < limit:
            params = {k: v for k, v in (("status", status), ("flow", flow),
                                         ("search", search)) if v}
            want = min(500, limit - len(out))
            page = self._call("GET", "/runs", params={**params, "limit": want,
                                                      "offset": offset + len(out)})["runs"]
            out.extend(page)
            if len(page) < want:
                break
        return out

    def count_runs(self, *, status: str | None = None, flow: str | None = None,
                   search: str | None = None) -> int:
        params = {k: v for k, v in (("status", status), ("flow", flow), ("search", search))
                  if v}
        return int(self._call("GET", "/runs", params={**params, "limit": 1})["total"])

    def _follow(self, after: int) -> EventFollower:
        self.follower = EventFollower(self.client, after=after,
                                      on_auth_lost=self.on_auth_lost).start()
        return self.follower

    def events_after(self, after_id: int = 0, *, run_id: str | None = None,
                     limit: int = 1000) -> list[dict[str, Any]]:
        """Events after an id: the whole log's from the live stream (what the app follows);
        one run's, or when the stream does not reach back that far, from ``/events``."""
        follower = self.follower
        if follower is None and run_id is None:
            follower = self._follow(after_id)
        if follower is not None and follower.alive and run_id is None:
            got = follower.events_after(after_id, run_id, limit)
            if got is not None:
                if not got and follower.problem:
                    raise ClientError(follower.problem)  # the app says the server is away
                return got
        path = f"/runs/{_q(run_id)}/events" if run_id else "/events"
        body = self._call("GET", path, run_id=run_id,
                          params={"after": after_id, "limit": min(limit, PAGE)})
        return list(body["events"])

    def last_event_id(self) -> int:
        """The newest event id: the newest run's last event, then forward to the end."""
        last = 0
        newest = self.list_runs(limit=1)
        if newest:
            body = self._call("GET", f"/runs/{_q(newest[0]['run_id'])}/events",
                              params={"after": 0, "limit": PAGE})
            last = int(body["last_id"])
        while True:
            body = self._call("GET", "/events", params={"after": last, "limit": PAGE})
            last = int(body["last_id"])
            if len(body["events"]) < PAGE:
                return last

    def attempts(self, run_id: str, node_id: str | None = None) -> list[dict[str, Any]]:
        params = {"node": node_id} if node_id else None
        return list(self._call("GET", f"/runs/{_q(run_id)}/attempts", run_id=run_id,
                               params=params)["attempts"])

    def node_logs(self, run_id: str, node_id: str) -> list[dict[str, Any]]:
        return list(self._call("GET", f"/runs/{_q(run_id)}/nodes/{_q(node_id)}/logs",
                               run_id=run_id)["logs"])

    def pending_approvals(self) -> list[dict[str, Any]]:
        return list(self._call("GET", "/approvals")["approvals"])

    def owner_is_alive(self, run_id: str) -> bool:
        return True  # the server owns every run it executes

    def unfinished_runs(self) -> list[dict[str, Any]]:
        return []  # the server resumes its own runs; the app never takes them over

    # -- changing -----------------------------------------------------------------------
    def request_cancel(self, run_id: str, node_id: str | None = None) -> None:
        body = {"node": node_id} if node_id else None
        self._call("POST", f"/runs/{_q(run_id)}/cancel", run_id=run_id, json=body)

    def decide_approval(self, run_id: str, node_id: str, approved: bool, by: str,
                        comment: str | None = None) -> None:
        self._call("POST", f"/approvals/{_q(run_id)}/{_q(node_id)}", run_id=run_id,
                   json={"approved": bool(approved), "comment": comment})

    def retry_failed(self, run_id: str) -> None:
        try:
            self._call("POST", f"/runs/{_q(run_id)}/retry", run_id=run_id)
        except ValueError as exc:
            if "still owned" in str(exc):
                raise RunBusy(str(exc)) from None
            raise
