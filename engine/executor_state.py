"""One run's state in memory, the rules that move it, and the batch that makes it durable.

:class:`RunState` mirrors a run's rows (nodes, edges, attempts) and applies the
semantics of DESIGN.md: edge decisions, joins, dead-path elimination,
cancellation and failure. Every change it makes is also recorded in a batch
that :meth:`RunState.flush` writes in one transaction; the executor flushes
before anything outside the process can depend on a change (before a kind
with side effects starts, before it reports a status). Nothing here runs a
kind or waits: that is :mod:`engine.executor`'s job, so a future worker can
load a state, decide what is runnable, run one attempt and flush the same way.
"""

from __future__ import annotations

import heapq
import time
from collections import deque
from pathlib import Path
from typing import Any

import networkx as nx
from sqlalchemy import Connection, bindparam, select, update

from engine.expressions import ExpressionError, evaluate
from engine.flowfile import flow_from_dict
from engine.model import Edge, Node
from engine.runs import TERMINAL_NODE, insert_events, iso
from engine.store.schema import attempts, edge_states, logs, node_states, runs

INLINE_KINDS = frozenset({"start", "end", "set", "branch"})
NO_SLOT_KINDS = INLINE_KINDS | {"delay", "approval"}

_UPDATE_NODE = update(node_states).where(
    node_states.c.run_id == bindparam("b_run"), node_states.c.node_id == bindparam("b_node")
).values(status=bindparam("b_status"), attempts=bindparam("b_attempts"),
         output=bindparam("b_output"), error=bindparam("b_error"),
         started_at=bindparam("b_started"), finished_at=bindparam("b_finished"),
         ready_at=bindparam("b_ready"), taken=bindparam("b_taken"), dead=bindparam("b_dead"),
         claimed_by=bindparam("b_claimed"))

_UPDATE_ATTEMPT = update(attempts).where(
    attempts.c.run_id == bindparam("b_run"), attempts.c.node_id == bindparam("b_node"),
    attempts.c.attempt == bindparam("b_attempt")
).values(status=bindparam("b_status"), finished_at=bindparam("b_finished"),
         error=bindparam("b_error"))


class NodeRun:
    """One node's state within a run."""

    __slots__ = ("id", "node", "kind", "status", "attempts", "seq", "output", "error",
                 "started_at", "finished_at", "ready_at", "taken", "dead", "n_in", "out",
                 "fired", "open_attempt", "task", "need", "max_attempts", "claimed_by")

    def __init__(self, node: Node) -> None:
        self.id = node.id
        self.node = node
        self.kind = node.kind
        self.status = "pending"
        self.attempts = 0          # attempts that count against max_attempts
        self.seq = 0               # attempt rows so far, interrupted ones included
        self.output: Any = None
        self.error: str | None = None
        self.started_at: float | None = None
        self.finished_at: float | None = None
        self.ready_at: float | None = None
        self.taken = 0
        self.dead = 0
        self.n_in = 0
        self.out: list[int] = []
        self.fired = False
        self.open_attempt = False
        self.task: Any = None
        self.claimed_by: str | None = None
        join = node.join
        self.need: int | None = join["min"] if isinstance(join, dict) else (
            1 if join == "any" else None)
        self.max_attempts = int((node.retry or {}).get("max_attempts", 1))

    def backoff(self, failed_attempts: int) -> float:
        retry = self.node.retry or {}
        return float(retry.get("backoff_s", 0)) * float(
            retry.get("backoff_factor", 1)) ** (failed_attempts - 1)


class RunState:
    """A run in memory plus its not-yet-committed changes (see module docstring)."""

    def __init__(self, run: Any, owner: str) -> None:
        self.run_id: str = run.id
        self.owner = owner
        self.definition: dict[str, Any] = run.definition
        self.flow = flow_from_dict(run.definition)
        self.source: str | None = run.source
        self.flow_dir = Path(run.source).resolve().parent if run.source else None
        self.depth: int = run.depth or 0
        self.parent_run_id: str | None = run.parent_run_id
        self.status: str = run.status
        self.started_at: float | None = run.started_at
        self.inputs: dict[str, Any] = run.inputs or {}
        self.concurrency = self.flow.effective_concurrency
        self.edges: list[Edge] = self.flow.edges
        self.nodes: dict[str, NodeRun] = {n.id: NodeRun(n) for n in self.flow.nodes}
        for i, e in enumerate(self.edges):
            self.nodes[e.source].out.append(i)
            self.nodes[e.target].n_in += 1
        self.edge_state: dict[int, str] = {}
        self.vars: dict[str, Any] = {}
        self.outputs: dict[str, Any] = {}
        self.node_scope: dict[str, dict[str, Any]] = {
            nid: {"output": None, "status": "pending"} for nid in self.nodes}
        self.scope = {"inputs": self.inputs, "vars": self.vars, "nodes": self.node_scope,
                      "run": {"id": self.run_id}}
        self.ready: deque[str] = deque()
        self.timers: list[tuple[float, int, str]] = []
        self._timer_seq = 0
        self.unfinished = len(self.nodes)
        self.failure: str | None = None
        self.cancelled = False
        self._postdom: dict[str, Any] | None = None
        # the batch
        self._dirty: set[str] = set()
        self._edge_rows: list[dict[str, Any]] = []
        self._att_new: dict[tuple[str, int], dict[str, Any]] = {}
        self._att_upd: dict[tuple[str, int], dict[str, Any]] = {}
        self._events: list[dict[str, Any]] = []
        self.log_rows: list[dict[str, Any]] = []
        self._run_changes: dict[str, Any] = {}

    # -- loading ----------------------------------------------------------------------
    @classmethod
    def load(cls, conn: Connection, run_id: str, owner: str) -> RunState:
        """Read a run's rows into memory and work out what is runnable after a restart."""
        run = conn.execute(select(runs).where(runs.c.id == run_id)).one()
        st = cls(run, owner)
        rows = conn.execute(select(node_states).where(node_states.c.run_id == run_id)).all()
        for r in rows:
            n = st.nodes.get(r.node_id)
            if n is None:
                continue
            n.status, n.attempts, n.output, n.error = r.status, r.attempts, r.output, r.error
            n.started_at, n.finished_at, n.ready_at = r.started_at, r.finished_at, r.ready_at
            n.taken, n.dead, n.claimed_by = r.taken, r.dead, r.claimed_by
            st.node_scope[n.id] = {"output": n.output, "status": n.status}
            if n.status in TERMINAL_NODE:
                st.unfinished -= 1
        for r in conn.execute(select(edge_states).where(edge_states.c.run_id == run_id)):
            st.edge_state[r.edge_index] = r.state
        last: dict[str, tuple[int, str]] = {}
        for r in conn.execute(select(attempts.c.node_id, attempts.c.attempt, attempts.c.status)
                              .where(attempts.c.run_id == run_id).order_by(attempts.c.id)):
            last[r.node_id] = (r.attempt, r.status)
        for nid, (seq, status) in last.items():
            if nid in st.nodes:
                st.nodes[nid].seq = seq
                st.nodes[nid].open_attempt = status == "running"
        done = sorted((n for n in st.nodes.values() if n.status == "succeeded"),
                      key=lambda n: n.finished_at or 0)
        for n in done:
            if n.kind == "set" and isinstance(n.output, dict):
                st.vars.update(n.output)
            elif n.kind == "end" and isinstance(n.output, dict):
                st.outputs.update(n.output)
        return st

    def recover(self, now: float) -> list[NodeRun]:
        """After a restart: what to re-launch. Returns nodes whose work must resume.

        A node cut off while running gets a new attempt (the cut-off one is marked
        ``interrupted`` and does not count); a delay keeps its due time; a subflow
        re-attaches to its child run (returned for the executor to re-launch).
        """
        relaunch: list[NodeRun] = []
        for n in self.nodes.values():
            if n.status == "pending":
                if self._join_fired(n):
                    n.fired = True
                    self.ready.append(n.id)
                elif self._join_impossible(n):
                    self._skip_from(n)
            elif n.status == "running":
                n.fired = True
                if n.kind == "delay":
                    self.add_timer(n.ready_at if n.ready_at is not None else now, n.id)
                elif n.kind == "subflow" and n.open_attempt:
                    relaunch.append(n)
                elif n.open_attempt:
                    self._finish_attempt(n, "interrupted", now, "the process running it "
                                         "stopped")
                    n.attempts -= 1
                    self.mark(n)
                    self.ready.append(n.id)
                else:  # between attempts: retry backoff
                    self.add_timer(n.ready_at if n.ready_at is not None else now, n.id)
            elif n.status == "waiting":
                n.fired = True
                if n.kind == "subflow":
                    relaunch.append(n)
        return relaunch

    # -- the batch --------------------------------------------------------------------
    def event(self, type_: str, data: dict[str, Any], node_id: str | None = None,
              ts: float | None = None) -> None:
        self._events.append({"run_id": self.run_id, "ts": ts or time.time(), "type": type_,
                             "node_id": node_id, "data": data})

    def set_run(self, now: float, **changes: Any) -> None:
        if "status" in changes:
            self.status = changes["status"]
            data: dict[str, Any] = {"status": self.status}
            if changes.get("error"):
                data["error"] = changes["error"]
            if self.status == "succeeded":
                data["outputs"] = self.outputs
            self.event("run_status", data, ts=now)
        self._run_changes.update(changes)
        self._run_changes["updated_at"] = now

    def mark(self, n: NodeRun) -> None:
        self._dirty.add(n.id)
        scope = self.node_scope[n.id]
        scope["status"] = n.status
        scope["output"] = n.output

    def node_event(self, n: NodeRun, now: float, **extra: Any) -> None:
        data: dict[str, Any] = {"status": n.status, "attempt": n.seq}
        if n.started_at is not None:
            data["started_at"] = iso(n.started_at)
        if n.finished_at is not None:
            data["finished_at"] = iso(n.finished_at)
        if n.error and n.status in ("failed", "cancelled"):
            data["error"] = n.error
        data.update(extra)
        self.event("node_status", data, n.id, now)

    def log(self, node_id: str, attempt: int, stream: str, text: str) -> None:
        now = time.time()
        self.log_rows.append({"run_id": self.run_id, "node_id": node_id, "attempt": attempt,
                              "stream": stream, "text": text, "ts": now})
        self.event("log", {"attempt": attempt, "stream": stream, "text": text}, node_id, now)

    @property
    def has_writes(self) -> bool:
        return bool(self._dirty or self._events or self._run_changes or self._edge_rows
                    or self._att_new or self._att_upd or self.log_rows)

    def flush(self, conn: Connection) -> None:
        """Write every recorded change in the caller's transaction."""
        if self._run_changes:
            conn.execute(update(runs).where(runs.c.id == self.run_id).values(
                **self._run_changes))
        if self._dirty:
            conn.execute(_UPDATE_NODE, [self._node_row(self.nodes[nid]) for nid in self._dirty])
        if self._edge_rows:
            conn.execute(edge_states.insert(), self._edge_rows)
        if self._att_new:
            conn.execute(attempts.insert(), list(self._att_new.values()))
        if self._att_upd:
            conn.execute(_UPDATE_ATTEMPT, list(self._att_upd.values()))
        if self.log_rows:
            rows, self.log_rows = self.log_rows, []
            conn.execute(logs.insert(), rows)
        insert_events(conn, self._events)
        self.clear_batch()

    def clear_batch(self) -> None:
        self._run_changes = {}
        self._dirty = set()
        self._edge_rows = []
        self._att_new = {}
        self._att_upd = {}
        self._events = []

    def _node_row(self, n: NodeRun) -> dict[str, Any]:
        return {"b_run": self.run_id, "b_node": n.id, "b_status": n.status,
                "b_attempts": n.attempts, "b_output": n.output, "b_error": n.error,
                "b_started": n.started_at, "b_finished": n.finished_at,
                "b_ready": n.ready_at, "b_taken": n.taken, "b_dead": n.dead,
                "b_claimed": n.claimed_by}

    # -- attempts ---------------------------------------------------------------------
    def begin_attempt(self, n: NodeRun, now: float, *, quiet: bool = False,
                      status: str = "running") -> int:
        """Record a new attempt of ``n`` (status running or waiting); returns its number."""
        n.seq += 1
        n.attempts += 1
        n.status = status
        n.open_attempt = True
        n.claimed_by = self.owner
        n.ready_at = None
        if n.started_at is None:
            n.started_at = now
        self._att_new[(n.id, n.seq)] = {"run_id": self.run_id, "node_id": n.id,
                                        "attempt": n.seq, "status": "running",
                                        "started_at": now, "finished_at": None,
                                        "error": None, "worker": self.owner}
        self.mark(n)
        if not quiet:
            self.node_event(n, now)
        return n.seq

    def _finish_attempt(self, n: NodeRun, status: str, now: float,
                        error: str | None = None) -> None:
        if not n.open_attempt:
            return
        n.open_attempt = False
        key = (n.id, n.seq)
        row = self._att_new.get(key)
        if row is not None:
            row.update(status=status, finished_at=now, error=error)
        else:
            self._att_upd[key] = {"b_run": self.run_id, "b_node": n.id, "b_attempt": n.seq,
                                  "b_status": status, "b_finished": now, "b_error": error}

    def interrupt(self, n: NodeRun, now: float) -> None:
        """The executor stops while ``n`` runs: the attempt is cut off and will run again."""
        if n.open_attempt and n.kind not in ("delay", "subflow", "approval"):
            self._finish_attempt(n, "interrupted", now, "the executor stopped")
            n.attempts -= 1
            self.mark(n)

    # -- outcomes ---------------------------------------------------------------------
    def succeed(self, n: NodeRun, output: Any, now: float) -> None:
        """``n`` succeeded: decide its edges, then commit the outcome to memory."""
        n.output = output
        self.node_scope[n.id] = {"output": output, "status": "succeeded"}
        saved = None
        if n.kind == "set" and isinstance(output, dict):  # its edges see the new vars
            saved = dict(self.vars)
            self.vars.update(output)
        try:
            decisions = self._decide(n)
        except ExpressionError as exc:
            if saved is not None:
                self.vars.clear()
                self.vars.update(saved)
            self.node_scope[n.id] = {"output": n.output, "status": n.status}
            self.fail(n, str(exc), now, final=True)
            return
        if n.kind == "branch":
            chosen = next(i for i, taken in decisions if taken)
            output = n.output = self.edges[chosen].target
        self._finish_attempt(n, "succeeded", now)
        n.status = "succeeded"
        n.finished_at = now
        n.error = None
        self.unfinished -= 1
        self.mark(n)
        self.node_event(n, now)
        if n.kind == "end" and isinstance(output, dict):
            self.outputs.update(output)
        self._propagate(decisions, now)
        for target in n.node.cancels or []:
            if target in self.nodes:
                self.cancel(self.nodes[target], f"cancelled by '{n.id}'", now)
        if n.kind == "end" and (n.node.cfg.get("terminate") is True):
            self.cancel_all(f"ended by '{n.id}' (terminate)", now)

    def fail(self, n: NodeRun, message: str, now: float, *, output: Any = None,
             final: bool = False) -> bool:
        """An attempt of ``n`` failed. Returns True when another attempt is scheduled."""
        self._finish_attempt(n, "failed", now, message)
        if not final and n.attempts < n.max_attempts:
            n.ready_at = now + n.backoff(n.attempts)
            n.status = "running"
            n.error = message
            self.mark(n)
            self.node_event(n, now, error=message, retry_at=iso(n.ready_at))
            self.add_timer(n.ready_at, n.id)
            return True
        n.status = "failed"
        n.error = message
        n.finished_at = now
        out = {"error": message}
        if isinstance(output, dict):
            out = {**output, "error": message}
        n.output = out
        self.unfinished -= 1
        self.mark(n)
        self.node_event(n, now)
        error_edges = [i for i in n.out if self.edges[i].is_error]
        if error_edges:
            self._propagate([(i, self.edges[i].is_error) for i in n.out], now)
        else:
            self.fail_run(f"node '{n.id}' failed: {message}", now)
        return False

    def fail_run(self, message: str, now: float) -> None:
        if self.failure is None:
            self.failure = message
        self.cancel_all("cancelled because the run failed", now)

    def cancel_run(self, now: float) -> None:
        self.cancelled = True
        self.cancel_all("cancelled", now)

    def cancel_all(self, reason: str, now: float) -> None:
        """Every unfinished node becomes cancelled (not skipped): the run is over."""
        for other in list(self.nodes.values()):
            self.cancel(other, reason, now, propagate=False)

    def cancel(self, n: NodeRun, reason: str, now: float, *, propagate: bool = True) -> None:
        """Cancel one unfinished node; its outgoing edges are dead, the run goes on."""
        if n.status in TERMINAL_NODE:
            return
        if n.task is not None:
            n.task.cancel()
        self._finish_attempt(n, "cancelled", now, reason)
        n.status = "cancelled"
        n.error = reason
        n.finished_at = now
        n.ready_at = None
        self.unfinished -= 1
        self.mark(n)
        self.node_event(n, now)
        if propagate:
            self._propagate([(i, False) for i in n.out], now)

    # -- edges and joins --------------------------------------------------------------
    def _decide(self, n: NodeRun) -> list[tuple[int, bool]]:
        """Which of ``n``'s outgoing edges are taken after it succeeded."""
        out = [self.edges[i] for i in n.out]
        if n.kind == "branch":
            chosen = default = None
            for i, e in zip(n.out, out, strict=True):
                if e.is_error:
                    continue
                if e.is_default:
                    default = i if default is None else default
                elif chosen is None and (e.when is None or _truthy(e.when, self.scope)):
                    chosen = i
            if chosen is None:
                chosen = default
            if chosen is None:
                raise ExpressionError("no edge condition is true and there is no default "
                                      "edge")
            return [(i, i == chosen) for i in n.out]
        decisions: list[tuple[int, bool]] = []
        any_when = False
        for i, e in zip(n.out, out, strict=True):
            if e.is_error or e.is_default:
                continue
            taken = e.when is None or _truthy(e.when, self.scope)
            any_when = any_when or (taken and e.when is not None)
            decisions.append((i, taken))
        for i, e in zip(n.out, out, strict=True):
            if e.is_error:
                decisions.append((i, False))
            elif e.is_default:
                decisions.append((i, not any_when))
        return decisions

    def _propagate(self, decisions: list[tuple[int, bool]], now: float) -> None:
        """Record edge decisions and update their targets, skipping dead paths (no recursion)."""
        work = deque(decisions)
        while work:
            i, taken = work.popleft()
            if i in self.edge_state:
                continue
            state = "taken" if taken else "dead"
            self.edge_state[i] = state
            self._edge_rows.append({"run_id": self.run_id, "edge_index": i, "state": state})
            self.event("edge", {"index": i, "state": state}, self.edges[i].source, now)
            t = self.nodes[self.edges[i].target]
            if taken:
                t.taken += 1
            else:
                t.dead += 1
            self._dirty.add(t.id)
            if t.status != "pending" or t.fired:
                continue
            if self._join_fired(t):
                t.fired = True
                self.ready.append(t.id)
                if t.node.cancel_others and t.need is not None:
                    self._cancel_dominated(t, now)
            elif self._join_impossible(t):
                t.status = "skipped"
                t.finished_at = now
                self.unfinished -= 1
                self.mark(t)
                self.node_event(t, now)
                work.extend((j, False) for j in t.out)

    def _skip_from(self, n: NodeRun) -> None:
        now = time.time()
        n.status = "skipped"
        n.finished_at = now
        self.unfinished -= 1
        self.mark(n)
        self.node_event(n, now)
        self._propagate([(j, False) for j in n.out], now)

    @staticmethod
    def _join_fired(n: NodeRun) -> bool:
        if n.n_in == 0:
            return n.kind == "start"
        if n.need is None:
            return n.taken + n.dead == n.n_in and n.taken >= 1
        return n.taken >= n.need

    @staticmethod
    def _join_impossible(n: NodeRun) -> bool:
        if n.n_in == 0:
            return n.kind != "start"
        if n.need is None:
            return n.dead == n.n_in
        return n.n_in - n.dead < n.need

    def _cancel_dominated(self, join: NodeRun, now: float) -> None:
        """cancel_others: cancel unfinished nodes that ``join`` post-dominates."""
        idom = self._post_dominators()
        victims: list[NodeRun] = []
        for n in self.nodes.values():
            if n is join or n.status in TERMINAL_NODE or n.id not in idom:
                continue
            v = n.id
            while True:
                parent = idom.get(v)
                if parent is None or parent == v:
                    break
                if parent == join.id:
                    victims.append(n)
                    break
                v = parent
        # All are cancelled first, so none of them is merely skipped by another's dead edge.
        for n in victims:
            self.cancel(n, f"cancelled by '{join.id}' (cancel_others)", now, propagate=False)
        for n in victims:
            self._propagate([(i, False) for i in n.out], now)

    def _post_dominators(self) -> dict[str, Any]:
        if self._postdom is None:
            exit_node = ("__exit__",)
            graph = nx.DiGraph()
            graph.add_node(exit_node)
            graph.add_nodes_from(self.nodes)
            graph.add_edges_from((e.target, e.source) for e in self.edges)
            graph.add_edges_from((exit_node, n.id) for n in self.nodes.values()
                                 if n.kind == "end")
            self._postdom = nx.immediate_dominators(graph, exit_node)
        return self._postdom

    # -- timers -----------------------------------------------------------------------
    def add_timer(self, at: float, node_id: str) -> None:
        self._timer_seq += 1
        heapq.heappush(self.timers, (at, self._timer_seq, node_id))

    def due_timers(self, now: float) -> list[str]:
        due = []
        while self.timers and self.timers[0][0] <= now:
            _, _, nid = heapq.heappop(self.timers)
            n = self.nodes[nid]
            if n.status == "running" and n.task is None:
                due.append(nid)
        return due

    def _timer_live(self, node_id: str) -> bool:
        n = self.nodes[node_id]
        return n.status == "running" and n.task is None

    def next_timer(self) -> float | None:
        """The earliest due time of a timer that still matters (cancelled ones are dropped)."""
        while self.timers and not self._timer_live(self.timers[0][2]):
            heapq.heappop(self.timers)
        return self.timers[0][0] if self.timers else None

    def has_timers(self) -> bool:
        return any(self._timer_live(nid) for _, _, nid in self.timers)


def _truthy(source: str, scope: dict[str, Any]) -> bool:
    return bool(evaluate(source, scope))


def runnable_nodes(conn: Connection, run_id: str, owner: str = "") -> list[str]:
    """Which nodes of a run may start now, decided from the store alone.

    This is the "decide" half that a worker needs (the executor keeps the same
    answer in memory as it goes): pending nodes whose join has fired, and nodes
    whose retry backoff or delay is due. Starting one is
    :meth:`RunState.begin_attempt` plus a flush, in the worker's own transaction.
    """
    state = RunState.load(conn, run_id, owner)
    now = time.time()
    state.recover(now)
    ready = [nid for nid in state.ready if state.nodes[nid].status in ("pending", "running")]
    ready += state.due_timers(now)
    return list(dict.fromkeys(ready))
