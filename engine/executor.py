"""The executor: runs one run to an end state (or until it waits), durably, on asyncio.

The store is the truth. :class:`~engine.executor_state.RunState` applies the
rules and records changes; this module decides when to run what and commits:

* ``start``, ``set``, ``branch`` and ``end`` are computed in the loop itself;
  their changes are batched and committed together (up to a few hundred nodes
  per transaction), because nothing outside the process can see or depend on
  them before the commit, and a crash before it simply computes them again.
* A node with side effects (``shell``, ``python``, ``http``, ``subflow``) is
  committed as ``running`` (with its attempt row) before its task starts, and
  its outcome is committed with its edge decisions in one transaction.
* ``delay`` is a durable timer (``node_states.ready_at``) and ``approval``
  waits for a decision written by any process; neither holds a concurrency slot.

Another process talks to a running executor through the store only: it sets
``cancel_requested`` or writes an approval decision, and the executor polls for
those every 200 ms while the run is active. Ownership (``runs.owner``, a lease
renewed every 10 s) lets ``resume`` take over runs whose process is gone.
"""

from __future__ import annotations

import asyncio
import json
import os
import threading
import time
from collections import deque
from pathlib import Path
from typing import Any

from sqlalchemy import and_, or_, select, update

from engine.errors import describe_exception
from engine.executor_state import NO_SLOT_KINDS, NodeRun, RunState
from engine.expressions import ExpressionError, render
from engine.kinds.base import NodeContext, NodeFailed
from engine.model import Flow
from engine.runs import (
    LEASE_S,
    TERMINAL_RUN,
    RunBusy,
    RunNotFound,
    RunStore,
    new_owner,
    owner_alive,
)
from engine.store import write_transaction
from engine.store.schema import node_states, runs

__all__ = ["configure_lease", "continue_run", "execute_run", "resume_runs", "run_flow"]

POLL_S = 0.2          # how often a live run looks for cancel requests and decisions
HEARTBEAT_S = 10.0    # lease renewal; a lease lasts LEASE_S
FLUSH_EVERY = 500     # most inline nodes per transaction


def _fault_point() -> tuple[str, str] | None:
    """A crash to simulate, for tests: ``FLOWDESK_FAULT_INJECT=POINT:NODE``.

    POINT is ``before_launch`` (the node's running state is committed, its work
    has not started), ``before_commit`` (its work is done, its outcome is not
    committed) or ``after_commit`` (its outcome is committed). The process then
    ends at once with exit code 70, as if killed.
    """
    spec = os.environ.get("FLOWDESK_FAULT_INJECT", "")
    point, _, node = spec.partition(":")
    return (point, node) if point and node else None


FAULT = _fault_point()


def _crash_here() -> None:
    os._exit(70)


class _ChildWaiting:
    """A subflow's child run is waiting for an approval."""

    def __init__(self, child_id: str) -> None:
        self.child_id = child_id


class _ChildPaused:
    """A subflow's child run was paused because the executor is stopping."""


def claim_run(conn: Any, run_id: str, owner: str, now: float) -> Any:
    """Make ``owner`` the run's owner unless a live process owns it; returns the row."""
    q = select(runs).where(runs.c.id == run_id)
    if conn.dialect.name == "postgresql":
        q = q.with_for_update()
    row = conn.execute(q).first()
    if row is None:
        raise RunNotFound(f"no run with id '{run_id}'")
    if row.status in TERMINAL_RUN:
        return row
    if row.owner and row.owner != owner and owner_alive(row.owner, row.lease_until, now):
        raise RunBusy(f"run '{run_id}' is being executed by another process ({row.owner})")
    conn.execute(update(runs).where(runs.c.id == run_id).values(
        owner=owner, lease_until=now + LEASE_S))
    return row


def render_config(n: NodeRun, scope: Any) -> dict[str, Any]:
    """The node's config with templates rendered; ``python.code`` is never rendered."""
    cfg = n.node.cfg
    if n.kind == "python":
        return {k: (v if k == "code" else render(v, scope)) for k, v in cfg.items()}
    return render(cfg, scope)


class RunExecution:
    """Drives one loaded run on the current event loop."""

    def __init__(self, store: RunStore, state: RunState, stop: threading.Event | None) -> None:
        self.store = store
        self.state = state
        self.stop = stop
        self.wake = asyncio.Event()
        self.completed: deque[tuple[str, int, tuple[Any, ...]]] = deque()
        self.tasks: set[asyncio.Task[Any]] = set()
        self.slots_used = 0
        self.slot_queue: deque[str] = deque()
        self.to_launch: list[tuple[NodeRun, int, bool]] = []
        self.last_poll = 0.0
        self.last_beat = time.time()
        self.released = False
        self.crash_after_commit = False

    # -- committing -------------------------------------------------------------------
    def flush(self) -> None:
        if self.state.has_writes:
            with write_transaction(self.store.engine) as conn:
                self._fence(conn)
                self.state.flush(conn)
        if FAULT is not None and (self.crash_after_commit or (
                FAULT[0] == "before_launch"
                and any(n.id == FAULT[1] for n, _, _ in self.to_launch))):
            _crash_here()
        for n, seq, reattach in self.to_launch:
            self._launch(n, seq, reattach)
        self.to_launch = []

    def _launch(self, n: NodeRun, seq: int, reattach: bool) -> None:
        uses_slot = n.kind not in NO_SLOT_KINDS
        task = asyncio.get_running_loop().create_task(self._attempt(n, seq, reattach))
        n.task = task
        self.tasks.add(task)
        if uses_slot:
            self.slots_used += 1
        task.add_done_callback(lambda t: self._task_done(n.id, seq, uses_slot, t))

    def _task_done(self, node_id: str, seq: int, uses_slot: bool, task: asyncio.Task[Any]
                   ) -> None:
        self.tasks.discard(task)
        if uses_slot:
            self.slots_used -= 1
        n = self.state.nodes[node_id]
        if n.task is task:
            n.task = None
        if not task.cancelled():
            exc = task.exception()
            outcome = task.result() if exc is None else ("fail", describe_exception(exc), None)
            self.completed.append((node_id, seq, outcome))
        self.wake.set()

    # -- the loop ---------------------------------------------------------------------
    async def drive(self) -> str:
        st = self.state
        now = time.time()
        for n in st.recover(now):
            self.to_launch.append((n, n.seq, True))
            n.status = "running"
            st.mark(n)
        if st.status != "running":
            extra = {"started_at": now} if st.started_at is None else {}
            st.set_run(now, status="running", error=None, **extra)
        self.poll(now)
        self.flush()
        try:
            while True:
                self.step()
                if st.unfinished == 0:
                    return self.finish()
                if self.stop is not None and self.stop.is_set():
                    return await self.pause()
                if not (st.ready or self.tasks or self.slot_queue or self.completed
                        or st.has_timers()):
                    return self.wait_state()
                if st.ready or self.completed:
                    await asyncio.sleep(0)
                else:
                    timeout = POLL_S
                    due = st.next_timer()
                    if due is not None:
                        timeout = min(timeout, max(0.0, due - time.time()))
                    # Not asyncio.wait_for: on 3.11 it can swallow a cancel (Ctrl-C) that
                    # arrives just as the event is set.
                    self.wake.clear()
                    timer = asyncio.get_running_loop().call_later(timeout, self.wake.set)
                    try:
                        await self.wake.wait()
                    finally:
                        timer.cancel()
                now = time.time()
                if now - self.last_poll >= POLL_S:
                    self.poll(now)
        except asyncio.CancelledError:
            if self.stop is not None and self.stop.is_set():
                await self.pause()
            else:  # our parent (a subflow node) was cancelled
                st.cancel_run(time.time())
                self.finish()
            raise
        finally:
            for t in list(self.tasks):
                t.cancel()
            if self.tasks:
                await asyncio.gather(*self.tasks, return_exceptions=True)
            self.release()

    def step(self) -> None:
        """Apply finished attempts and due timers, then start everything runnable."""
        st = self.state
        now = time.time()
        while self.completed:
            node_id, seq, outcome = self.completed.popleft()
            n = st.nodes[node_id]
            if n.seq != seq or n.status != "running":
                continue  # cancelled meanwhile
            self.apply(n, outcome, now)
        for node_id in st.due_timers(now):
            n = st.nodes[node_id]
            if n.kind == "delay" and n.open_attempt:
                st.succeed(n, None, now)
            else:
                st.ready.append(node_id)
        count = 0
        while self.slot_queue and self.slots_used + len(self.to_launch) < st.concurrency:
            n = st.nodes[self.slot_queue.popleft()]
            if self._startable(n):
                self.start_work(n, now)
        while st.ready:
            n = st.nodes[st.ready.popleft()]
            if not self._startable(n):
                continue
            kind = n.kind
            if kind in ("start", "set", "end", "branch"):
                self.run_inline(n, now)
                count += 1
                if count >= FLUSH_EVERY:
                    self.flush()
                    count = 0
                    now = time.time()
            elif kind == "delay":
                self.start_delay(n, now)
            elif kind == "approval":
                self.start_approval(n, now)
            elif self.slots_used + len(self.to_launch) >= st.concurrency:
                self.slot_queue.append(n.id)
            else:
                self.start_work(n, now)
        self.flush()

    @staticmethod
    def _startable(n: NodeRun) -> bool:
        return n.status in ("pending", "running") and not n.open_attempt and n.task is None

    def apply(self, n: NodeRun, outcome: tuple[Any, ...], now: float) -> None:
        st = self.state
        if FAULT is not None and FAULT[1] == n.id:
            if FAULT[0] == "before_commit":
                _crash_here()
            self.crash_after_commit = FAULT[0] == "after_commit"
        if outcome[0] == "ok":
            value = outcome[1]
            if isinstance(value, _ChildWaiting):
                n.status = "waiting"
                n.output = {"waiting_for": "subflow", "child_run_id": value.child_id}
                st.mark(n)
                st.node_event(n, now, child_run_id=value.child_id)
            elif isinstance(value, _ChildPaused):
                pass
            else:
                st.succeed(n, value, now)
        else:
            st.fail(n, outcome[1], now, output=outcome[2])

    # -- kinds ------------------------------------------------------------------------
    def run_inline(self, n: NodeRun, now: float) -> None:
        st = self.state
        st.begin_attempt(n, now, quiet=True)
        try:
            cfg = n.node.cfg
            if n.kind == "start":
                out: Any = dict(st.inputs)
            elif n.kind == "set":
                out = render(cfg.get("vars", {}), st.scope)
            elif n.kind == "end":
                out = render(cfg.get("outputs", {}), st.scope)
            else:
                out = None
            if out:
                _check_json(out)
        except ExpressionError as exc:
            st.fail(n, str(exc), now)
            return
        except NodeFailed as exc:
            st.fail(n, exc.message, now)
            return
        st.succeed(n, out, now)

    def start_delay(self, n: NodeRun, now: float) -> None:
        st = self.state
        st.begin_attempt(n, now)
        try:
            seconds = render(n.node.cfg.get("seconds", 0), st.scope)
        except ExpressionError as exc:
            st.fail(n, str(exc), now)
            return
        if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or seconds < 0:
            st.fail(n, f"seconds must be a number of at least 0, not {seconds!r}", now)
            return
        n.ready_at = now + float(seconds)
        st.mark(n)
        st.add_timer(n.ready_at, n.id)

    def start_approval(self, n: NodeRun, now: float) -> None:
        st = self.state
        st.begin_attempt(n, now, quiet=True, status="waiting")
        try:
            prompt = render(n.node.cfg.get("prompt", ""), st.scope)
        except ExpressionError as exc:
            st.fail(n, str(exc), now, final=True)
            return
        n.output = {"waiting_for": "approval", "prompt": prompt,
                    "role": n.node.cfg.get("role")}
        st.mark(n)
        st.node_event(n, now, prompt=prompt)

    def decide(self, n: NodeRun, decision: dict[str, Any], now: float) -> None:
        if n.status != "waiting" or n.kind != "approval":
            return
        out = {"approved": bool(decision.get("approved")), "by": decision.get("by"),
               "comment": decision.get("comment")}
        if out["approved"]:
            self.state.succeed(n, out, now)
        else:
            why = f"rejected by {out['by']}" + (f": {out['comment']}" if out["comment"] else "")
            self.state.fail(n, why, now, output=out, final=True)

    def start_work(self, n: NodeRun, now: float) -> None:
        seq = self.state.begin_attempt(n, now)
        self.to_launch.append((n, seq, False))

    async def _attempt(self, n: NodeRun, seq: int, reattach: bool) -> tuple[Any, ...]:
        """Run one attempt of a kind with side effects; the outcome as a tuple."""
        st = self.state
        timeout = n.node.timeout_s
        try:
            if n.kind == "subflow":
                coro: Any = self.subflow(n, reattach)
            else:
                from engine.kinds import implementation

                config = render_config(n, st.scope)
                try:
                    impl = implementation(n.kind)
                except ModuleNotFoundError:
                    raise NodeFailed(f"the '{n.kind}' kind is not available in this "
                                     "installation") from None
                ctx = NodeContext(
                    run_id=st.run_id, node_id=n.id, attempt=seq, config=config,
                    scope=_snapshot(st.scope), flow_dir=st.flow_dir,
                    log=lambda stream, text: st.log(n.id, seq, stream, text))
                coro = impl.execute(ctx)
            value = await (asyncio.wait_for(coro, timeout) if timeout else coro)
            if not isinstance(value, (_ChildWaiting, _ChildPaused)):
                _check_json(value)
            return ("ok", value, None)
        except NodeFailed as exc:
            return ("fail", exc.message, exc.output)
        except TimeoutError:
            return ("fail", f"timed out after {timeout:g} s", None)
        except ExpressionError as exc:
            return ("fail", str(exc), None)

    async def subflow(self, n: NodeRun, reattach: bool) -> Any:
        st = self.state
        child_id = _existing_child(self.store, st.run_id, n.id) if reattach else None
        if child_id is None:
            cfg = render(n.node.cfg, st.scope)
            max_depth = cfg.get("max_depth", 20)
            if st.depth + 1 > max_depth:
                raise NodeFailed(f"the subflow nesting limit (max_depth {max_depth}) is passed")
            flow, source, version = resolve_subflow(self.store, str(cfg.get("flow", "")),
                                                    st.flow_dir)
            try:
                child_id = self.store.create_run(
                    flow, cfg.get("inputs") or {}, source=source, flow_version=version,
                    parent_run_id=st.run_id, parent_node_id=n.id, depth=st.depth + 1)
            except ValueError as exc:
                raise NodeFailed(f"the subflow cannot start: {exc}") from None
        status = await _execute(self.store, child_id, st.owner, self.stop)
        if status == "waiting":
            return _ChildWaiting(child_id)
        if status in ("running", "pending"):
            return _ChildPaused()
        child = self.store.run_row(child_id)
        if status == "succeeded":
            return child["outputs"] or {}
        raise NodeFailed(f"the subflow run {child_id} {status}: {child['error'] or status}")

    # -- talking to other processes ---------------------------------------------------
    def poll(self, now: float) -> None:
        """Read cancel requests and approval decisions written by other processes."""
        st = self.state
        self.last_poll = now
        waiting_subflows = [n for n in st.nodes.values()
                            if n.kind == "subflow" and n.status == "waiting"]
        with self.store.engine.connect() as conn:
            cancel = conn.execute(select(runs.c.cancel_requested).where(
                runs.c.id == st.run_id)).scalar()
            rows = conn.execute(select(
                node_states.c.node_id, node_states.c.cancel_requested, node_states.c.decision
            ).where(node_states.c.run_id == st.run_id, or_(
                node_states.c.cancel_requested.is_(True),
                and_(node_states.c.status == "waiting", node_states.c.decision.isnot(None))))
            ).all()
            wake_children = [n for n in waiting_subflows
                             if _child_can_go_on(conn, n.output.get("child_run_id"))]
        if cancel:
            st.cancel_run(now)
            return
        for r in rows:
            n = st.nodes.get(r.node_id)
            if n is None or n.status in ("succeeded", "failed", "skipped", "cancelled"):
                continue
            if r.cancel_requested:
                st.cancel(n, "cancelled on request", now)
            elif isinstance(r.decision, dict):
                self.decide(n, r.decision, now)
        for n in wake_children:
            n.status = "running"
            st.mark(n)
            self.to_launch.append((n, n.seq, True))
        if now - self.last_beat >= HEARTBEAT_S:
            self.heartbeat(now)

    def _fence(self, conn: Any) -> None:
        """Write only while this process still owns the run, renewing the lease as we go.

        A worker that stalled past its lease (a long GC pause, a frozen VM) may
        have been replaced; its late commit would then race the new owner's.
        Checking the owner in the same transaction as the writes fences it out.
        """
        done = conn.execute(update(runs).where(
            runs.c.id == self.state.run_id, runs.c.owner == self.state.owner
        ).values(lease_until=time.time() + LEASE_S)).rowcount
        if not done:
            raise RunBusy(f"run '{self.state.run_id}' was taken over by another process")

    def heartbeat(self, now: float) -> None:
        self.last_beat = now
        with write_transaction(self.store.engine) as conn:
            done = conn.execute(update(runs).where(
                runs.c.id == self.state.run_id, runs.c.owner == self.state.owner
            ).values(lease_until=now + LEASE_S)).rowcount
        if not done:
            raise RunBusy(f"run '{self.state.run_id}' was taken over by another process")

    # -- leaving ----------------------------------------------------------------------
    def finish(self) -> str:
        st = self.state
        now = time.time()
        if st.cancelled:
            status, error = "cancelled", "cancelled"
        elif st.failure:
            status, error = "failed", st.failure
        else:
            status, error = "succeeded", None
        st.set_run(now, status=status, error=error, outputs=st.outputs, finished_at=now,
                   owner=None, lease_until=None)
        self.flush()
        self.released = True
        return status

    def wait_state(self) -> str:
        st = self.state
        now = time.time()
        st.set_run(now, status="waiting", owner=None, lease_until=None)
        self.flush()
        self.released = True
        return "waiting"

    async def pause(self) -> str:
        """Stop working on the run but leave it resumable (``stop`` was set)."""
        st = self.state
        now = time.time()
        for n in st.nodes.values():
            if n.task is not None:
                n.task.cancel()
                st.interrupt(n, now)
                n.task = None
        if self.tasks:
            await asyncio.gather(*self.tasks, return_exceptions=True)
        st.set_run(now, owner=None, lease_until=None)
        self.to_launch = []
        self.flush()
        self.released = True
        return st.status

    def release(self) -> None:
        if self.released:
            return
        self.released = True
        try:
            with write_transaction(self.store.engine) as conn:
                conn.execute(update(runs).where(
                    runs.c.id == self.state.run_id, runs.c.owner == self.state.owner
                ).values(owner=None, lease_until=None))
        except Exception:  # noqa: BLE001 - the lease expires anyway
            pass


def _check_json(value: Any) -> None:
    """An output must be JSON: it is stored, and later nodes read it."""
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise NodeFailed(f"the node's output is not JSON ({exc})") from None


def _snapshot(scope: dict[str, Any]) -> dict[str, Any]:
    """A copy of the expression scope that later changes of the run do not alter."""
    return {"inputs": scope["inputs"], "vars": dict(scope["vars"]),
            "nodes": {k: dict(v) for k, v in scope["nodes"].items()}, "run": scope["run"]}


def _existing_child(store: RunStore, run_id: str, node_id: str) -> str | None:
    with store.engine.connect() as conn:
        return conn.execute(select(runs.c.id).where(
            runs.c.parent_run_id == run_id, runs.c.parent_node_id == node_id
        ).order_by(runs.c.created_at.desc()).limit(1)).scalar()


def _child_can_go_on(conn: Any, child_id: str | None) -> bool:
    """Whether a waiting run (a subflow's child) can go on: it ended, or has a decision."""
    if not child_id:
        return True
    row = conn.execute(select(runs.c.status, runs.c.owner, runs.c.lease_until).where(
        runs.c.id == child_id)).first()
    if row is None or row.status in TERMINAL_RUN:
        return True
    if owner_alive(row.owner, row.lease_until):
        return False
    decided = conn.execute(select(node_states.c.node_id).where(
        node_states.c.run_id == child_id, node_states.c.status == "waiting",
        or_(node_states.c.decision.isnot(None), node_states.c.cancel_requested.is_(True)))
    ).first()
    return decided is not None


def resolve_subflow(store: RunStore, ref: str, flow_dir: Path | None
                    ) -> tuple[Flow, str | None, int | None]:
    """A subflow reference: a file relative to the parent's folder, else a deployed name."""
    from engine.flowfile import FlowFileError, flow_from_dict, load_flow

    path = (flow_dir or Path.cwd()) / ref
    if ref and path.is_file():
        try:
            return load_flow(path), str(path.resolve()), None
        except FlowFileError as exc:
            raise NodeFailed(f"the subflow file cannot be read: {exc}") from None
    deployed = store.deployed_flow(ref)
    if deployed is not None:
        definition, version = deployed
        try:
            return flow_from_dict(definition, ref), None, version
        except FlowFileError as exc:
            raise NodeFailed(f"the deployed flow '{ref}' cannot be read: {exc}") from None
    raise NodeFailed(f"no flow file '{ref}' next to this flow and no deployed flow of that "
                     "name")


async def _execute(store: RunStore, run_id: str, owner: str,
                   stop: threading.Event | None) -> str:
    now = time.time()
    with write_transaction(store.engine) as conn:
        row = claim_run(conn, run_id, owner, now)
        if row.status in TERMINAL_RUN:
            return str(row.status)
        state = RunState.load(conn, run_id, owner)
    return await RunExecution(store, state, stop).drive()


def execute_run(store: RunStore, run_id: str, *, stop: threading.Event | None = None,
                owner: str | None = None) -> str:
    """Run ``run_id`` until it succeeds, fails, is cancelled or waits; the final status.

    Blocking, with its own event loop, so it may be called from any thread. Raises
    :class:`~engine.runs.RunBusy` when another live process owns the run. When
    ``stop`` is set the executor interrupts running attempts and returns, leaving
    the run resumable. ``owner`` is the owner id to execute as (a worker passes the
    id it claimed the run with); by default a new one.
    """
    return asyncio.run(_execute(store, run_id, owner or new_owner(), stop))


def configure_lease(lease_s: float, heartbeat_s: float | None = None) -> None:
    """Set this process's lease length and heartbeat (``flowdesk worker --lease-s``).

    The heartbeat defaults to a third of the lease (at most 10 s), so two renewals
    can be missed before another process may take a run over.
    """
    global LEASE_S, HEARTBEAT_S
    LEASE_S = float(lease_s)
    HEARTBEAT_S = float(heartbeat_s) if heartbeat_s is not None else min(10.0, LEASE_S / 3)


def continue_run(store: RunStore, run_id: str) -> tuple[str, str]:
    """Execute a run, then the parents waiting on it: ``(outermost run id, its status)``."""
    status = execute_run(store, run_id)
    current = run_id
    while status in TERMINAL_RUN:
        parent = store.run_row(current)["parent_run_id"]
        if not parent:
            break
        prow = store.run_row(parent)
        if prow["status"] in TERMINAL_RUN or owner_alive(prow["owner"], prow["lease_until"]):
            return parent, prow["status"]
        current, status = parent, execute_run(store, parent)
    return current, status


def resume_runs(store: RunStore, run_id: str | None = None) -> list[tuple[str, str]]:
    """Take over unfinished runs whose owner is gone; ``[(run_id, final status)]``.

    Without ``run_id``, runs enqueued with ``--detach`` that never started are left
    to workers, and child runs are left to their parents (which re-attach).
    """
    if run_id is not None:
        row = store.run_row(run_id)
        if row["status"] in TERMINAL_RUN:
            return [(run_id, row["status"])]
        if owner_alive(row["owner"], row["lease_until"]):
            raise RunBusy(f"run '{run_id}' is being executed by another process "
                          f"({row['owner']})")
        return [continue_run(store, run_id)]
    out: list[tuple[str, str]] = []
    for row in store.unfinished_runs():
        if row["parent_run_id"] or (row["detached"] and row["started_at"] is None):
            continue
        if owner_alive(row["owner"], row["lease_until"]):
            continue
        if row["status"] == "waiting":
            with store.engine.connect() as conn:
                if not _child_can_go_on(conn, row["id"]):
                    continue  # still waiting for a decision: nothing to do
        try:
            out.append((row["id"], execute_run(store, row["id"])))
        except RunBusy:
            continue
    return out


def run_flow(flow: Flow, inputs: dict[str, Any], *, store: RunStore,
             source: str | None = None) -> str:
    """Create a run of ``flow`` and execute it; returns the run id."""
    run_id = store.create_run(flow, inputs, source=source)
    execute_run(store, run_id)
    return run_id
