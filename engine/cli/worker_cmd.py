"""``flowdesk worker``: a long-running process that claims and executes runs from a store.

Exit codes: 0 after a graceful stop (SIGTERM, SIGINT) or, with ``--once``, when
nothing claimable is left; 2 for a bad option or an unusable store.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
from typing import Any

from engine.cli import CliError, add_store_option


def register(sub: Any) -> None:
    p = sub.add_parser("worker", help="claim and execute runs from a shared store "
                                      "(many workers may share one PostgreSQL)")
    add_store_option(p)
    p.add_argument("--concurrency", type=int, default=None, metavar="N",
                   help="runs executed at once (default 4)")
    p.add_argument("--lease-s", type=float, default=None, metavar="S",
                   help="how long a claim lasts without a heartbeat (default "
                        "$FLOWDESK_LEASE_S or 30)")
    p.add_argument("--heartbeat-s", type=float, default=None, metavar="S",
                   help="how often the lease is renewed (default $FLOWDESK_HEARTBEAT_S or a "
                        "third of the lease, at most 10 s); at most half the lease")
    p.add_argument("--once", action="store_true",
                   help="execute what can be claimed now, then exit when idle")
    p.add_argument("--quiet", action="store_true", help="log only problems, not each run")
    p.set_defaults(handler=worker_cmd)


def _seconds(given: float | None, variable: str) -> float | None:
    """An option's value, else the environment variable's, else None."""
    if given is not None:
        return float(given)
    text = os.environ.get(variable)
    if not text:
        return None
    try:
        return float(text)
    except ValueError:
        raise CliError(f"{variable} must be a number of seconds, not {text!r}") from None


def _log_to_stderr(level: int) -> None:
    """The worker's own lines on stderr (not those of the libraries it uses)."""
    logger = logging.getLogger("flowdesk.worker")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s flowdesk worker: %(message)s"))
    logger.addHandler(handler)
    logger.setLevel(level)
    logger.propagate = False


def worker_cmd(args: argparse.Namespace) -> int:
    from engine.runs import RunStore
    from engine.store import StoreError, describe, resolve_url
    from engine.worker import DEFAULT_CONCURRENCY, DEFAULT_LEASE_S, Worker, WorkerError

    concurrency = DEFAULT_CONCURRENCY if args.concurrency is None else args.concurrency
    if concurrency < 1:
        raise CliError(f"--concurrency must be at least 1, not {concurrency}")
    lease = _seconds(args.lease_s, "FLOWDESK_LEASE_S")
    lease = DEFAULT_LEASE_S if lease is None else lease
    if not lease >= 1:  # also refuses nan
        raise CliError(f"--lease-s must be at least 1 second, not {lease:g}")
    beat = _seconds(args.heartbeat_s, "FLOWDESK_HEARTBEAT_S")
    if beat is not None and not 0.2 <= beat <= lease / 2:
        raise CliError(f"--heartbeat-s must be between 0.2 seconds and half the lease "
                       f"({lease / 2:g} s), not {beat:g}")
    _log_to_stderr(logging.WARNING if args.quiet else logging.INFO)
    url = resolve_url(args.store)
    try:
        store = RunStore.open(url)
    except StoreError as exc:
        raise CliError(str(exc)) from None
    try:
        try:
            worker = Worker(store, concurrency=concurrency, lease_s=lease, heartbeat_s=beat)
        except WorkerError as exc:
            raise CliError(str(exc)) from None
        logging.getLogger("flowdesk.worker").info("store %s", describe(url))
        stopping = {"asked": False}

        def on_signal(signum: int, _frame: Any) -> None:
            if stopping["asked"]:  # a second signal: leave now, leases expire on their own
                os._exit(1)
            stopping["asked"] = True
            logging.getLogger("flowdesk.worker").info(
                "%s: pausing runs and handing them back", signal.Signals(signum).name)
            worker.request_stop()

        old = {s: signal.signal(s, on_signal) for s in (signal.SIGTERM, signal.SIGINT)}
        try:
            worker.run(once=args.once)
        finally:
            for s, handler in old.items():
                signal.signal(s, handler)
        return 0
    finally:
        store.close()
