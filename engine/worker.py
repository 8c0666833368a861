"""``flowdesk worker``: claim runs from a shared store, execute them, hand them back on stop.

A worker claims whole RUNS, not single nodes. One transaction picks runnable
runs (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so concurrent workers never
wait on each other's rows; on SQLite the store's ``BEGIN IMMEDIATE`` write lock
serialises the claim) and writes this worker's owner id and a lease into them.
Each claimed run is then driven by :func:`engine.executor.execute_run` in a
thread of its own, which renews the lease by heartbeat and, when it takes over a
run from a dead owner, records the cut-off attempts as ``interrupted`` and runs
those nodes again. Because one process drives all the nodes of a run, joins are
decided by a single process and durable timers fire once.

A run is claimable when it is not finished, not a subflow's child (its parent
re-attaches to it), and either unowned and meant for workers (detached, or
already started by someone who let go of it) or owned by someone whose lease
has expired, or by a process of this machine that is gone (a dead process id is
certain, so there is no need to wait for its lease). A run that ``flowdesk run`` has just created but not yet claimed
(unowned, not detached, never started) is never taken. A waiting run is
claimed only when something can move it on: a decided approval or a node
cancel request in it or in a child run.

A run whose only remaining work is a far timer (a ``delay`` or a retry
backoff at least :data:`PARK_AFTER_S` away) is *parked*: paused and let go, so
it holds no slot; the claim query leaves it alone until :data:`WAKE_BEFORE_S`
before the timer is due, and the new owner fires the timer at its stored time.

On SIGTERM or SIGINT the worker stops claiming, pauses every run it holds
(running attempts are recorded ``interrupted``) and clears their owner and
lease, so another worker takes them at once instead of after the lease.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections import Counter
from typing import Any

from sqlalchemy import and_, exists, or_, select, update
from sqlalchemy.exc import SQLAlchemyError

from engine.errors import describe_exception
from engine.runs import TERMINAL_NODE, TERMINAL_RUN, RunBusy, RunStore, owner_alive
from engine.store import write_transaction
from engine.store.schema import node_states, runs

__all__ = ["DEFAULT_CONCURRENCY", "DEFAULT_LEASE_S", "Worker", "WorkerError", "claim_runs",
           "dead_local_owners", "worker_owner"]

DEFAULT_CONCURRENCY = 4
DEFAULT_LEASE_S = 30.0
POLL_S = 0.5           # how often an idle worker looks for work
ERROR_BACKOFF_S = 5.0  # how long a run that raised is left alone by this worker (first time)
MAX_BACKOFF_S = 300.0  # … doubling each time it raises again
PARK_AFTER_S = 30.0    # a run whose next step is a timer this far off is let go until then
WAKE_BEFORE_S = 2.0    # … and claimed again this long before the timer is due

log = logging.getLogger("flowdesk.worker")


class WorkerError(ValueError):
    """A bad worker setting; ``str()`` is one sentence."""


def worker_owner(host: str | None = None) -> str:
    """This worker's owner id, ``host:pid:token``.

    ``host`` defaults to ``$FLOWDESK_WORKER_HOST`` or the machine's name. Give each
    worker that shares a host name but not a process-id namespace (containers with
    host networking) its own name, because on "its own" host a process id decides
    whether an owner lives; on any other host only the lease does.
    """
    host = host or os.environ.get("FLOWDESK_WORKER_HOST") or socket.gethostname()
    if ":" in host or not host.strip():
        raise WorkerError(f"the worker host name must be non-empty and without ':', "
                          f"not {host!r}")
    return f"{host}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _can_go_on(run_id: Any) -> Any:
    """SQL: the run, or one of its child runs, has a decided approval or a node cancel."""
    moved = or_(and_(node_states.c.status == "waiting", node_states.c.decision.isnot(None)),
                and_(node_states.c.cancel_requested.is_(True),  # stays set once carried out
                     node_states.c.status.notin_(tuple(TERMINAL_NODE))))
    child = runs.alias("child")
    in_child = (select(node_states.c.run_id).join(child, child.c.id == node_states.c.run_id)
                .where(child.c.parent_run_id == run_id, moved))
    finished_child = select(child.c.id).where(
        child.c.parent_run_id == run_id, child.c.status.in_(tuple(TERMINAL_RUN)),
        exists(select(node_states.c.node_id).where(
            node_states.c.run_id == run_id, node_states.c.status == "waiting",
            node_states.c.node_id == child.c.parent_node_id)))
    return or_(exists(select(node_states.c.node_id).where(node_states.c.run_id == run_id,
                                                          moved)),
               exists(in_child), exists(finished_child))


def _timer_bound(run_id: Any, within: float) -> Any:
    """SQL: the run has running nodes, and every one waits on a timer (a ``delay`` or a
    retry backoff) that is due later than ``within`` (an epoch time)."""
    running = and_(node_states.c.run_id == run_id, node_states.c.status == "running")
    busy = select(node_states.c.node_id).where(running, or_(
        node_states.c.ready_at.is_(None), node_states.c.ready_at <= within))
    return and_(exists(select(node_states.c.node_id).where(running)), ~exists(busy))


def parkable(store: RunStore, run_ids: list[str], now: float | None = None,
             after_s: float = PARK_AFTER_S) -> list[str]:
    """Of ``run_ids``, those with nothing to do for ``after_s`` but wait on timers."""
    if not run_ids:
        return []
    now = time.time() if now is None else now
    q = select(runs.c.id).where(runs.c.id.in_(run_ids), runs.c.status == "running",
                                _timer_bound(runs.c.id, now + after_s))
    with store.engine.connect() as conn:
        return [r.id for r in conn.execute(q)]


def dead_local_owners(store: RunStore, now: float | None = None) -> list[str]:
    """Unfinished runs owned by a process of this machine that is gone, lease or not.

    On one machine a dead process id is certain, so its runs need not wait for the
    lease to run out (``flowdesk resume`` decides the same way).
    """
    now = time.time() if now is None else now
    q = (select(runs.c.id, runs.c.owner, runs.c.lease_until)
         .where(runs.c.status.in_(("pending", "running", "waiting")),
                runs.c.parent_run_id.is_(None),
                runs.c.owner.like(f"{_like_escape(socket.gethostname())}:%", escape="\\"),
                runs.c.lease_until >= now))
    with store.engine.connect() as conn:
        rows = conn.execute(q).all()
    return [r.id for r in rows if not owner_alive(r.owner, r.lease_until, now)]


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def claim_runs(store: RunStore, owner: str, limit: int, *, lease_s: float,
               now: float | None = None, skip: frozenset[str] = frozenset(),
               orphans: list[str] | tuple[str, ...] = ()) -> list[str]:
    """Claim up to ``limit`` runs for ``owner`` in one transaction; their ids, oldest first.

    ``skip`` holds runs not to claim: those this worker is executing, and those it
    backs off from after an error.

    ``orphans`` are runs whose owner is known to be gone although its lease has not
    run out (see :func:`dead_local_owners`); they are checked again under the lock.
    """
    if limit < 1:
        return []
    now = time.time() if now is None else now
    meant_for_workers = and_(runs.c.owner.is_(None),
                             or_(runs.c.detached.is_(True), runs.c.started_at.isnot(None)),
                             # a parked run (only a far timer to wait for) sleeps until due
                             or_(runs.c.status != "running",
                                 ~_timer_bound(runs.c.id, now + WAKE_BEFORE_S),
                                 _can_go_on(runs.c.id)))
    lease_gone = and_(runs.c.owner.isnot(None), runs.c.lease_until < now)
    if orphans:
        lease_gone = or_(lease_gone, runs.c.id.in_(list(orphans)))
    # Our own runs that no thread of ours drives any more (it stopped on a store
    # error): nobody else may take them while we live, so we must.
    lease_gone = or_(lease_gone, runs.c.owner == owner)
    q = (select(runs.c.id, runs.c.owner, runs.c.lease_until)
         .where(runs.c.parent_run_id.is_(None),
                or_(runs.c.status.in_(("pending", "running")),
                    and_(runs.c.status == "waiting", _can_go_on(runs.c.id))),
                or_(meant_for_workers, lease_gone))
         .order_by(runs.c.created_at, runs.c.id)
         .limit(limit + 4))  # a few spare: a live owner here may have let its lease lapse
    if skip:
        q = q.where(runs.c.id.notin_(sorted(skip)))
    with write_transaction(store.engine) as conn:
        if conn.dialect.name == "postgresql":
            q = q.with_for_update(skip_locked=True, of=runs)
        rows = conn.execute(q).all()
        chosen = [r.id for r in rows if not r.owner or r.owner == owner
                  or not owner_alive(r.owner, r.lease_until, now)][:limit]
        if chosen:
            conn.execute(update(runs).where(runs.c.id.in_(chosen)).values(
                owner=owner, lease_until=now + lease_s))
    return chosen


def _env_seconds(name: str, default: float) -> float:
    text = os.environ.get(name)
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        raise WorkerError(f"{name} must be a number of seconds, not {text!r}") from None
    if not value >= WAKE_BEFORE_S * 2:
        raise WorkerError(f"{name} must be at least {WAKE_BEFORE_S * 2:g} seconds, "
                          f"not {value:g}")
    return value


class Worker:
    """Claims runs from ``store`` and executes up to ``concurrency`` of them at once."""

    def __init__(self, store: RunStore, *, concurrency: int = DEFAULT_CONCURRENCY,
                 lease_s: float = DEFAULT_LEASE_S, heartbeat_s: float | None = None,
                 poll_s: float = POLL_S, host: str | None = None) -> None:
        if concurrency < 1:
            raise WorkerError(f"the concurrency must be at least 1, not {concurrency}")
        if lease_s < 1:
            raise WorkerError(f"the lease must last at least 1 second, not {lease_s:g}")
        from engine.executor import configure_lease

        self.owner = worker_owner(host)
        # Process ids tell whether an owner on this machine lives, unless this worker
        # was given a host name of its own (it may not share our process-id namespace).
        self._local = self.owner.partition(":")[0] == socket.gethostname()
        configure_lease(lease_s, heartbeat_s)  # the executor's heartbeat renews our claims
        self.store = store
        self.concurrency = concurrency
        self.lease_s = lease_s
        self.poll_s = poll_s
        self.stop = threading.Event()       # graceful stop: pause runs, release leases
        self.finished: Counter[str] = Counter()  # end states of runs this worker drove
        self._wake = threading.Event()
        self._lock = threading.Lock()
        self._active: dict[str, threading.Thread] = {}
        self._skip_until: dict[str, float] = {}
        self._errors: Counter[str] = Counter()  # unexpected errors per run, for the backoff
        self._stops: dict[str, threading.Event] = {}  # per run: pause it (stop or park)
        self._parked: set[str] = set()
        self._park = True
        self._park_after_s = _env_seconds("FLOWDESK_PARK_AFTER_S", PARK_AFTER_S)
        self._last_park_check = 0.0

    # -- the loop ---------------------------------------------------------------------
    def run(self, *, once: bool = False) -> None:
        """Claim and execute until :meth:`request_stop` (or, with ``once``, until idle)."""
        from engine import executor

        log.info("worker %s started: concurrency %d, lease %g s, heartbeat %g s", self.owner,
                 self.concurrency, self.lease_s, executor.HEARTBEAT_S)
        store_down = False
        self._park = not once  # a one-off drain finishes what it takes
        try:
            while not self.stop.is_set():
                self._park_idle_runs()
                free = self.concurrency - self.active()
                claimed: list[str] = []
                if free > 0:
                    try:
                        orphans = dead_local_owners(self.store) if self._local else []
                        claimed = claim_runs(self.store, self.owner, free,
                                             lease_s=self.lease_s, skip=self._skipped(),
                                             orphans=orphans)
                        if store_down:
                            log.info("the store answers again")
                            store_down = False
                    except SQLAlchemyError as exc:
                        if once:
                            raise  # a one-off drain reports the failure instead of waiting
                        if not store_down:
                            log.error("cannot claim runs: %s (trying again)",
                                      describe_exception(exc))
                            store_down = True
                        self.stop.wait(ERROR_BACKOFF_S)
                        continue
                for run_id in claimed:
                    self._start(run_id)
                if once and free > 0 and not claimed and not self.active():
                    break
                if claimed and len(claimed) == free:
                    continue  # there may be more: look again once a slot frees up
                self._wake.wait(self.poll_s)
                self._wake.clear()
        finally:
            self._join_all()
        log.info("worker %s stopped: %s", self.owner, self.summary())

    def request_stop(self) -> None:
        """Stop claiming; running runs pause at their next step and are handed back."""
        self.stop.set()
        with self._lock:
            for event in self._stops.values():
                event.set()
        self._wake.set()

    def _park_idle_runs(self) -> None:
        """Let go of runs that only wait on a far timer, so they hold no slot meanwhile;
        any worker claims them again shortly before the timer is due."""
        now = time.time()
        if not self._park or now - self._last_park_check < 1.0:
            return
        self._last_park_check = now
        with self._lock:
            candidates = [r for r in self._active if r not in self._parked]
        try:
            idle = parkable(self.store, candidates, now, self._park_after_s)
        except SQLAlchemyError:
            return  # the claim below reports a store that is down
        with self._lock:
            for run_id in idle:
                if run_id in self._stops:
                    self._parked.add(run_id)
                    self._stops[run_id].set()

    def active(self) -> int:
        with self._lock:
            return len(self._active)

    def summary(self) -> str:
        total = sum(self.finished.values())
        parts = ", ".join(f"{n} {s}" for s, n in sorted(self.finished.items()))
        return f"{total} run{'s' if total != 1 else ''} done" + (f" ({parts})" if parts else "")

    # -- one run ----------------------------------------------------------------------
    def _start(self, run_id: str) -> None:
        thread = threading.Thread(target=self._execute, args=(run_id,), daemon=True,
                                  name=f"flowdesk-run-{run_id[:8]}")
        stop = threading.Event()
        with self._lock:
            self._active[run_id] = thread
            self._stops[run_id] = stop
            if self.stop.is_set():
                stop.set()
        thread.start()

    def _execute(self, run_id: str) -> None:
        from engine.executor import execute_run

        try:
            log.info("run %s claimed", run_id)
            status = execute_run(self.store, run_id, stop=self._stops[run_id],
                                 owner=self.owner)
            if status not in TERMINAL_RUN and status != "waiting":
                why = "handed back" if self.stop.is_set() else "parked until its timer is due"
                log.info("run %s %s (%s)", run_id, why, status)
                return
            with self._lock:
                self.finished[status] += 1
            log.info("run %s %s", run_id, status)
        except RunBusy as exc:
            log.info("run %s left to its owner: %s", run_id, exc)
        except Exception as exc:  # noqa: BLE001 - a run must not take the worker down
            log.error("run %s stopped: %s (handed back)", run_id, describe_exception(exc))
            self._release(run_id)
            with self._lock:
                self._errors[run_id] += 1
                backoff = min(MAX_BACKOFF_S, ERROR_BACKOFF_S * 2 ** (self._errors[run_id] - 1))
                self._skip_until[run_id] = time.time() + backoff
        finally:
            with self._lock:
                self._active.pop(run_id, None)
                self._stops.pop(run_id, None)
                self._parked.discard(run_id)
            self._wake.set()

    def _release(self, run_id: str) -> None:
        """Let go of a run after an unexpected error, so any worker may try it again."""
        try:
            with write_transaction(self.store.engine) as conn:
                conn.execute(update(runs).where(runs.c.id == run_id,
                                                runs.c.owner == self.owner).values(
                    owner=None, lease_until=None))
        except SQLAlchemyError:
            pass  # the lease expires anyway

    def _skipped(self) -> frozenset[str]:
        now = time.time()
        with self._lock:
            for run_id in [r for r, t in self._skip_until.items() if t <= now]:
                del self._skip_until[run_id]
            return frozenset(self._skip_until) | frozenset(self._active)

    def _join_all(self) -> None:
        while True:
            with self._lock:
                threads = list(self._active.values())
            if not threads:
                return
            for t in threads:
                t.join()
