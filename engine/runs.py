"""Everything that reads or writes runs in a store: the one door to run data.

The executor (:mod:`engine.executor`), the CLI, the desktop app and the server
all read and change runs through :class:`RunStore`, so the shapes they see are
the same: ``get_run`` is exactly the document ``flowdesk run --json`` prints.
Times are stored as UTC epoch seconds and turned into ISO 8601 (UTC,
microseconds) here, at the edge.

Inputs are checked here too: :func:`parse_inputs` converts ``NAME=VALUE``
strings from a command line, :func:`check_inputs` checks values that are
already JSON-typed (app, server); both raise :class:`InputError` with one
sentence naming the input, before anything runs.
"""

from __future__ import annotations

import json
import os
import socket
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection, Engine, func, select, update

from engine.flowfile import input_value_ok
from engine.model import Flow
from engine.store import open_engine, write_transaction
from engine.store.schema import attempts, edge_states, events, logs, node_states, runs

__all__ = ["InputError", "RunBusy", "RunNotFound", "RunStore", "check_inputs", "iso",
           "parse_inputs"]

RUN_STATES = ("pending", "running", "waiting", "succeeded", "failed", "cancelled")
TERMINAL_RUN = frozenset({"succeeded", "failed", "cancelled"})
TERMINAL_NODE = frozenset({"succeeded", "failed", "skipped", "cancelled"})
LEASE_S = 30.0


class RunNotFound(KeyError):
    """An unknown run id; ``str()`` is one sentence."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "no such run"


class RunBusy(RuntimeError):
    """The run is being executed by another live process."""


class InputError(ValueError):
    """A missing, unknown or mistyped run input; the message names the input."""


# -- times and owners ----------------------------------------------------------------------

def iso(t: float | None) -> str | None:
    """Epoch seconds as ISO 8601 in UTC with microseconds (``None`` stays ``None``)."""
    if t is None:
        return None
    return datetime.fromtimestamp(t, UTC).isoformat(timespec="microseconds")


def new_owner() -> str:
    """An owner id for one executor: ``host:pid:random``."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def owner_alive(owner: str | None, lease_until: float | None, now: float | None = None) -> bool:
    """Whether the process named by ``owner`` may still be executing the run.

    On this host the process id decides (a dead pid is gone at once); on another host
    only the lease can tell, so an expired lease means gone.
    """
    if not owner:
        return False
    now = time.time() if now is None else now
    host, _, rest = owner.partition(":")
    pid_text = rest.partition(":")[0]
    if host == socket.gethostname() and pid_text.isdigit():
        pid = int(pid_text)
        if pid == os.getpid():
            return True
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return _not_zombie(pid)
    return lease_until is not None and lease_until > now


def _not_zombie(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


# -- inputs ---------------------------------------------------------------------------------

def _declared(flow: Flow) -> dict[str, dict[str, Any]]:
    return flow.inputs or {}


def parse_inputs(flow: Flow, raw: dict[str, str]) -> dict[str, Any]:
    """Convert ``NAME=VALUE`` strings to the declared types, apply defaults, check all."""
    declared = _declared(flow)
    values: dict[str, Any] = {}
    for name, text in raw.items():
        decl = declared.get(name)
        if decl is None:
            raise InputError(_unknown_input(flow, name))
        values[name] = _convert(name, decl.get("type", "string"), text)
    return check_inputs(flow, values)


def _unknown_input(flow: Flow, name: str) -> str:
    known = ", ".join(_declared(flow)) or "none"
    return f"the flow has no input '{name}' (its inputs: {known})"


def _convert(name: str, typ: str, text: str) -> Any:
    if typ == "string":
        return text
    if typ == "boolean":
        low = text.strip().lower()
        if low in ("true", "1"):
            return True
        if low in ("false", "0"):
            return False
        raise InputError(f"input '{name}' must be a boolean (true, false, 1 or 0), not {text!r}")
    if typ == "integer":
        try:
            return int(text.strip())
        except ValueError:
            raise InputError(f"input '{name}' must be an integer, not {text!r}") from None
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        value = _Invalid
    if typ == "number":
        if value is _Invalid or not input_value_ok("number", value):
            raise InputError(f"input '{name}' must be a number, not {text!r}")
        return value
    if value is _Invalid or not input_value_ok(typ, value):
        article = "an" if typ in ("object", "array") else "a"
        raise InputError(f"input '{name}' must be {article} {typ} in JSON, not {text!r}")
    return value


_Invalid = object()


def check_inputs(flow: Flow, values: dict[str, Any]) -> dict[str, Any]:
    """Check JSON-typed inputs against the declaration; returns them with defaults applied."""
    if not isinstance(values, dict):
        raise InputError("the inputs must be an object of name -> value")
    declared = _declared(flow)
    out: dict[str, Any] = {}
    for name in values:
        if name not in declared:
            raise InputError(_unknown_input(flow, name))
    for name, decl in declared.items():
        typ = decl.get("type", "string")
        if name in values:
            value = values[name]
            if not input_value_ok(typ, value):
                raise InputError(f"input '{name}' must be of type {typ}, not "
                                 f"{json.dumps(value)[:60]}")
            out[name] = value
        elif "default" in decl:
            out[name] = decl["default"]
        else:
            raise InputError(f"input '{name}' is required ({typ}): give it with "
                             f"--input {name}=VALUE")
    return out


# -- the store ------------------------------------------------------------------------------

def _event_row(run_id: str, type_: str, data: dict[str, Any], node_id: str | None = None,
               ts: float | None = None) -> dict[str, Any]:
    return {"run_id": run_id, "ts": time.time() if ts is None else ts, "type": type_,
            "node_id": node_id, "data": data}


def insert_events(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """Append events as the last statement of a transaction.

    On PostgreSQL an advisory lock held until commit makes event ids commit in
    increasing order, so a reader polling ``events_after(last_id)`` never misses a
    row that a slower transaction committed later with a lower id.
    """
    if not rows:
        return
    if conn.dialect.name == "postgresql":
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(724501)"))
    conn.execute(events.insert(), rows)


class RunStore:
    """Reads and writes runs; every method is one short transaction."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @classmethod
    def open(cls, url: str | None = None) -> RunStore:
        return cls(open_engine(url))

    def close(self) -> None:
        self.engine.dispose()

    # -- creating ---------------------------------------------------------------------
    def create_run(self, flow: Flow, inputs: dict[str, Any], *, source: str | None = None,
                   flow_version: int | None = None, created_by: str | None = None,
                   detached: bool = False, parent_run_id: str | None = None,
                   parent_node_id: str | None = None, depth: int = 0) -> str:
        """Validate ``flow`` and ``inputs`` and record a pending run; returns its id."""
        from engine.validate import validate

        errors = [p for p in validate(flow) if p.is_error]
        if errors:
            raise ValueError("the flow is not valid: " + "; ".join(
                p.format(source or flow.name) for p in errors))
        values = check_inputs(flow, inputs)
        run_id = uuid.uuid4().hex
        now = time.time()
        with write_transaction(self.engine) as conn:
            conn.execute(runs.insert().values(
                id=run_id, flow_name=flow.name, flow_version=flow_version, source=source,
                definition=flow.to_dict(), inputs=values, status="pending",
                created_at=now, updated_at=now, created_by=created_by,
                parent_run_id=parent_run_id, parent_node_id=parent_node_id, depth=depth,
                detached=detached, cancel_requested=False))
            conn.execute(node_states.insert(), [
                {"run_id": run_id, "node_id": n.id, "status": "pending", "attempts": 0,
                 "taken": 0, "dead": 0, "cancel_requested": False} for n in flow.nodes])
            insert_events(conn, [_event_row(run_id, "run_status", {"status": "pending"},
                                            ts=now)])
        return run_id

    # -- reading ----------------------------------------------------------------------
    def _run_row(self, conn: Connection, run_id: str) -> Any:
        row = conn.execute(select(runs).where(runs.c.id == run_id)).first()
        if row is None:
            raise RunNotFound(f"no run with id '{run_id}'")
        return row

    def run_row(self, run_id: str) -> dict[str, Any]:
        """The raw ``runs`` row (epoch times, definition included)."""
        with self.engine.connect() as conn:
            return dict(self._run_row(conn, run_id)._mapping)

    def get_run(self, run_id: str) -> dict[str, Any]:
        with self.engine.connect() as conn:
            run = self._run_row(conn, run_id)
            states = conn.execute(select(node_states).where(node_states.c.run_id == run_id)
                                  ).all()
        order = {n["id"]: i for i, n in enumerate(run.definition.get("nodes", []))}
        nodes: dict[str, Any] = {}
        for s in sorted(states, key=lambda s: order.get(s.node_id, len(order))):
            nodes[s.node_id] = {"status": s.status, "attempts": s.attempts,
                                "output": s.output, "started_at": iso(s.started_at),
                                "finished_at": iso(s.finished_at), "error": s.error}
        return {"run_id": run.id, "status": run.status, "outputs": run.outputs,
                "nodes": nodes, "flow_name": run.flow_name, "flow_version": run.flow_version,
                "source": run.source, "inputs": run.inputs, "error": run.error,
                "created_at": iso(run.created_at), "started_at": iso(run.started_at),
                "finished_at": iso(run.finished_at), "created_by": run.created_by,
                "parent_run_id": run.parent_run_id, "parent_node_id": run.parent_node_id,
                "detached": bool(run.detached), "owner": run.owner}

    def _filters(self, status: str | None, flow: str | None, search: str | None) -> list[Any]:
        where: list[Any] = []
        if status:
            where.append(runs.c.status == status)
        if flow:
            where.append(runs.c.flow_name == flow)
        if search:
            pattern = f"%{search.lower()}%"
            where.append(sa.or_(func.lower(runs.c.flow_name).like(pattern),
                                runs.c.id.like(pattern)))
        return where

    def list_runs(self, *, status: str | None = None, flow: str | None = None,
                  search: str | None = None, limit: int = 100, offset: int = 0
                  ) -> list[dict[str, Any]]:
        q = (select(runs.c.id, runs.c.flow_name, runs.c.status, runs.c.created_at,
                    runs.c.started_at, runs.c.finished_at, runs.c.created_by)
             .where(*self._filters(status, flow, search))
             .order_by(runs.c.created_at.desc(), runs.c.id.desc()).limit(limit).offset(offset))
        with self.engine.connect() as conn:
            rows = conn.execute(q).all()
        return [{"run_id": r.id, "flow_name": r.flow_name, "status": r.status,
                 "created_at": iso(r.created_at), "started_at": iso(r.started_at),
                 "finished_at": iso(r.finished_at), "created_by": r.created_by} for r in rows]

    def count_runs(self, *, status: str | None = None, flow: str | None = None,
                   search: str | None = None) -> int:
        q = select(func.count()).select_from(runs).where(*self._filters(status, flow, search))
        with self.engine.connect() as conn:
            return int(conn.execute(q).scalar_one())

    def events_after(self, after_id: int = 0, *, run_id: str | None = None,
                     limit: int = 1000) -> list[dict[str, Any]]:
        q = select(events).where(events.c.id > after_id)
        if run_id is not None:
            q = q.where(events.c.run_id == run_id)
        q = q.order_by(events.c.id).limit(limit)
        with self.engine.connect() as conn:
            rows = conn.execute(q).all()
        return [{"id": r.id, "run_id": r.run_id, "ts": iso(r.ts), "type": r.type,
                 "node_id": r.node_id, "data": r.data} for r in rows]

    def last_event_id(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.max(events.c.id))).scalar() or 0)

    def attempts(self, run_id: str, node_id: str | None = None) -> list[dict[str, Any]]:
        q = select(attempts).where(attempts.c.run_id == run_id)
        if node_id is not None:
            q = q.where(attempts.c.node_id == node_id)
        with self.engine.connect() as conn:
            rows = conn.execute(q.order_by(attempts.c.id)).all()
        return [{"node_id": r.node_id, "attempt": r.attempt, "status": r.status,
                 "started_at": iso(r.started_at), "finished_at": iso(r.finished_at),
                 "error": r.error, "worker": r.worker} for r in rows]

    def node_logs(self, run_id: str, node_id: str) -> list[dict[str, Any]]:
        q = (select(logs).where(logs.c.run_id == run_id, logs.c.node_id == node_id)
             .order_by(logs.c.id))
        with self.engine.connect() as conn:
            rows = conn.execute(q).all()
        return [{"attempt": r.attempt, "stream": r.stream, "text": r.text, "ts": iso(r.ts)}
                for r in rows]

    def pending_approvals(self) -> list[dict[str, Any]]:
        q = (select(node_states.c.run_id, node_states.c.node_id, node_states.c.output,
                    node_states.c.started_at)
             .join(runs, runs.c.id == node_states.c.run_id)
             .where(node_states.c.status == "waiting", node_states.c.decision.is_(None),
                    runs.c.status.in_(("running", "waiting")))
             .order_by(node_states.c.started_at))
        with self.engine.connect() as conn:
            rows = conn.execute(q).all()
        out = []
        for r in rows:
            info = r.output if isinstance(r.output, dict) else {}
            if info.get("waiting_for") != "approval":
                continue
            out.append({"run_id": r.run_id, "node_id": r.node_id, "prompt": info.get("prompt"),
                        "role": info.get("role"), "since": iso(r.started_at)})
        return out

    def owner_is_alive(self, run_id: str) -> bool:
        row = self.run_row(run_id)
        return owner_alive(row["owner"], row["lease_until"])

    # -- changing from outside ----------------------------------------------------------
    def request_cancel(self, run_id: str, node_id: str | None = None) -> None:
        """Ask for a run (or one node) to be cancelled.

        A live executor notices within 200 ms. When no live process owns the run, a
        whole-run cancel is carried out here; a single-node cancel waits for the next
        executor (``flowdesk cancel --node`` continues the run itself).
        """
        now = time.time()
        with write_transaction(self.engine) as conn:
            run = self._run_row(conn, run_id)
            if run.status in TERMINAL_RUN:
                raise ValueError(f"run '{run_id}' has already {run.status}")
            if node_id is not None:
                state = conn.execute(select(node_states.c.status).where(
                    node_states.c.run_id == run_id, node_states.c.node_id == node_id)).first()
                if state is None:
                    raise ValueError(f"run '{run_id}' has no node '{node_id}'")
                if state.status in TERMINAL_NODE:
                    raise ValueError(f"node '{node_id}' has already {state.status}")
                conn.execute(update(node_states).where(
                    node_states.c.run_id == run_id, node_states.c.node_id == node_id
                ).values(cancel_requested=True))
                return
            conn.execute(update(runs).where(runs.c.id == run_id).values(
                cancel_requested=True, updated_at=now))
            if owner_alive(run.owner, run.lease_until, now):
                return
            insert_events(conn, self._cancel_now(conn, run_id, now))

    def _cancel_now(self, conn: Connection, run_id: str, now: float) -> list[dict[str, Any]]:
        """Mark an unowned run and its unfinished nodes (and child runs) cancelled.

        Returns the events to append; the caller appends them last (see insert_events).
        """
        evs: list[dict[str, Any]] = []
        open_nodes = conn.execute(select(node_states.c.node_id, node_states.c.attempts).where(
            node_states.c.run_id == run_id,
            node_states.c.status.notin_(tuple(TERMINAL_NODE)))).all()
        for n in open_nodes:
            evs.append(_event_row(run_id, "node_status", {
                "status": "cancelled", "attempt": n.attempts, "finished_at": iso(now),
                "error": "cancelled"}, n.node_id, now))
        conn.execute(update(node_states).where(
            node_states.c.run_id == run_id, node_states.c.status.notin_(tuple(TERMINAL_NODE))
        ).values(status="cancelled", finished_at=now, error="cancelled"))
        conn.execute(update(attempts).where(
            attempts.c.run_id == run_id, attempts.c.status == "running"
        ).values(status="cancelled", finished_at=now, error="cancelled"))
        conn.execute(update(runs).where(runs.c.id == run_id).values(
            status="cancelled", error="cancelled", finished_at=now, updated_at=now,
            owner=None, lease_until=None))
        evs.append(_event_row(run_id, "run_status", {"status": "cancelled",
                                                     "error": "cancelled"}, ts=now))
        children = conn.execute(select(runs.c.id).where(
            runs.c.parent_run_id == run_id, runs.c.status.notin_(tuple(TERMINAL_RUN)))).all()
        for child in children:
            evs.extend(self._cancel_now(conn, child.id, now))
        return evs

    def decide_approval(self, run_id: str, node_id: str, approved: bool, by: str,
                        comment: str | None = None) -> None:
        now = time.time()
        with write_transaction(self.engine) as conn:
            run = self._run_row(conn, run_id)
            q = select(node_states).where(node_states.c.run_id == run_id,
                                          node_states.c.node_id == node_id)
            if conn.dialect.name == "postgresql":
                q = q.with_for_update()
            state = conn.execute(q).first()
            if state is None:
                raise ValueError(f"run '{run_id}' has no node '{node_id}'")
            info = state.output if isinstance(state.output, dict) else {}
            if (state.status != "waiting" or info.get("waiting_for") != "approval"
                    or run.status in TERMINAL_RUN):
                raise ValueError(f"node '{node_id}' of run '{run_id}' is not waiting for an "
                                 f"approval (it is {state.status})")
            if state.decision is not None:
                raise ValueError(f"node '{node_id}' of run '{run_id}' has already been "
                                 "decided")
            decision = {"approved": bool(approved), "by": by, "comment": comment}
            conn.execute(update(node_states).where(
                node_states.c.run_id == run_id, node_states.c.node_id == node_id
            ).values(decision=decision))
            insert_events(conn, [_event_row(run_id, "approval", decision, node_id, now)])

    def retry_failed(self, run_id: str) -> None:
        """Put a failed or cancelled run back to pending for another try.

        Succeeded nodes keep their results; every other node (the failed and
        cancelled ones and those after them) is pending again, and the edge
        decisions made by those nodes are forgotten.
        """
        now = time.time()
        with write_transaction(self.engine) as conn:
            run = self._run_row(conn, run_id)
            if run.status not in ("failed", "cancelled"):
                raise ValueError(f"only a failed or cancelled run can be retried; run "
                                 f"'{run_id}' is {run.status}")
            if owner_alive(run.owner, run.lease_until, now):
                raise RunBusy(f"run '{run_id}' is still owned by {run.owner}")
            definition = run.definition
            edges = definition.get("edges", [])
            states = {s.node_id: s for s in conn.execute(select(node_states).where(
                node_states.c.run_id == run_id)).all()}
            keep = {nid for nid, s in states.items() if s.status == "succeeded"}
            reset = [nid for nid in states if nid not in keep]
            kept_edges = {r.edge_index: r.state for r in conn.execute(select(edge_states).where(
                edge_states.c.run_id == run_id)).all() if edges[r.edge_index]["from"] in keep}
            conn.execute(edge_states.delete().where(edge_states.c.run_id == run_id))
            if kept_edges:
                conn.execute(edge_states.insert(), [
                    {"run_id": run_id, "edge_index": i, "state": s}
                    for i, s in kept_edges.items()])
            taken = dict.fromkeys(states, 0)
            dead = dict.fromkeys(states, 0)
            for i, s in kept_edges.items():
                target = edges[i]["to"]
                if s == "taken":
                    taken[target] += 1
                else:
                    dead[target] += 1
            rows = [{"r": run_id, "n": nid, "t": taken[nid], "d": dead[nid]} for nid in reset]
            if rows:
                conn.execute(update(node_states).where(
                    node_states.c.run_id == sa.bindparam("r"),
                    node_states.c.node_id == sa.bindparam("n")
                ).values(status="pending", attempts=0, output=sa.null(), error=None,
                         started_at=None, finished_at=None, ready_at=None, decision=sa.null(),
                         claimed_by=None, lease_until=None, cancel_requested=False,
                         taken=sa.bindparam("t"), dead=sa.bindparam("d")), rows)
            conn.execute(update(runs).where(runs.c.id == run_id).values(
                status="pending", error=None, outputs=None, finished_at=None, updated_at=now,
                cancel_requested=False, owner=None, lease_until=None))
            evs = [_event_row(run_id, "node_status", {"status": "pending", "attempt": 0},
                              nid, now) for nid in reset]
            evs.append(_event_row(run_id, "run_status", {"status": "pending"}, ts=now))
            insert_events(conn, evs)

    def unfinished_runs(self) -> list[dict[str, Any]]:
        """Runs not in an end state: id, status, owner, lease, detached, parent."""
        q = (select(runs.c.id, runs.c.status, runs.c.owner, runs.c.lease_until,
                    runs.c.detached, runs.c.parent_run_id, runs.c.started_at)
             .where(runs.c.status.in_(("pending", "running", "waiting")))
             .order_by(runs.c.created_at))
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(q).all()]

    def deployed_flow(self, name: str) -> tuple[dict[str, Any], int] | None:
        """The highest non-archived version of a deployed flow: (definition, version)."""
        from engine.store.schema import flows

        q = (select(flows.c.definition, flows.c.version)
             .where(flows.c.name == name, flows.c.archived.is_(False))
             .order_by(flows.c.version.desc()).limit(1))
        with self.engine.connect() as conn:
            row = conn.execute(q).first()
        return (row.definition, row.version) if row else None
