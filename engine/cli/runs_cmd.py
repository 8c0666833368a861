"""``run``, ``runs``, ``show``, ``cancel``, ``approve``, ``resume``: running flows from a shell.

Exit codes of the commands that execute a run (``run``, ``approve``,
``resume``): 0 succeeded, 1 failed or cancelled, 3 waiting for an approval,
2 bad input, invalid flow or unusable store.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from datetime import datetime
from typing import Any

from engine.cli import CliError, add_store_option

EXIT = {"succeeded": 0, "failed": 1, "cancelled": 1, "waiting": 3, "running": 1,
        "pending": 1}


def register(sub: Any) -> None:
    p = sub.add_parser("run", help="run a flow file to its end (or until it waits)")
    p.add_argument("file", metavar="FILE")
    p.add_argument("--input", "-i", action="append", default=[], metavar="NAME=VALUE",
                   help="a run input (repeatable); converted to the declared type")
    p.add_argument("--json", action="store_true", help="print the run as JSON")
    p.add_argument("--detach", action="store_true",
                   help="only enqueue the run for workers and print its id")
    add_store_option(p)
    p.set_defaults(handler=run_cmd)

    p = sub.add_parser("runs", help="list runs, newest first")
    p.add_argument("--json", action="store_true")
    p.add_argument("--status", choices=("pending", "running", "waiting", "succeeded", "failed",
                                        "cancelled"))
    p.add_argument("--limit", type=int, default=20, metavar="N")
    add_store_option(p)
    p.set_defaults(handler=runs_cmd)

    p = sub.add_parser("show", help="show one run and its nodes")
    p.add_argument("run", metavar="RUN")
    p.add_argument("--json", action="store_true")
    add_store_option(p)
    p.set_defaults(handler=show_cmd)

    p = sub.add_parser("cancel", help="cancel a run, or one node of it")
    p.add_argument("run", metavar="RUN")
    p.add_argument("--node", metavar="ID", help="cancel only this node; the run goes on")
    add_store_option(p)
    p.set_defaults(handler=cancel_cmd)

    p = sub.add_parser("approve", help="decide an approval a run is waiting for")
    p.add_argument("run", metavar="RUN")
    p.add_argument("node", metavar="NODE")
    p.add_argument("--reject", action="store_true", help="reject instead of approve")
    p.add_argument("--comment", metavar="TEXT")
    p.add_argument("--json", action="store_true")
    add_store_option(p)
    p.set_defaults(handler=approve_cmd)

    p = sub.add_parser("resume", help="continue unfinished runs whose process is gone")
    p.add_argument("run", metavar="RUN", nargs="?")
    p.add_argument("--json", action="store_true")
    add_store_option(p)
    p.set_defaults(handler=resume_cmd)


def _open(args: argparse.Namespace) -> Any:
    from engine.runs import RunStore
    from engine.store import StoreError

    try:
        return RunStore.open(args.store)
    except StoreError as exc:
        raise CliError(str(exc), 2) from None


def _parse_pairs(pairs: list[str]) -> dict[str, str]:
    raw: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise CliError(f"--input needs NAME=VALUE, not {pair!r}", 2)
        raw[name.strip()] = value
    return raw


def _user() -> str:
    """Who started or decided: $USER, else the account's name (cron and services set no $USER)."""
    name = os.environ.get("USER") or os.environ.get("USERNAME")
    if name:
        return name
    import getpass

    try:
        return getpass.getuser()
    except (OSError, KeyError):
        return "unknown"


def run_cmd(args: argparse.Namespace) -> int:
    from engine.executor import execute_run
    from engine.flowfile import FlowFileError, load_flow
    from engine.runs import InputError, parse_inputs
    from engine.validate import validate

    try:
        flow = load_flow(args.file)
    except FlowFileError as exc:
        raise CliError(str(exc), 2) from None
    problems = validate(flow)
    errors = [p for p in problems if p.is_error]
    if errors:
        for p in errors:
            print(p.format(args.file), file=sys.stderr)
        raise CliError(f"{args.file} is not a valid flow ({len(errors)} "
                       f"problem{'s' if len(errors) != 1 else ''})", 2)
    try:
        inputs = parse_inputs(flow, _parse_pairs(args.input))
    except InputError as exc:
        raise CliError(str(exc), 2) from None
    store = _open(args)
    try:
        run_id = store.create_run(flow, inputs, source=os.path.abspath(args.file),
                                  created_by=_user(), detached=args.detach)
        if args.detach:
            print(json.dumps({"run_id": run_id}) if args.json else run_id)
            return 0
        if not args.json:
            print(f"run {run_id} started", file=sys.stderr)
        status = execute_run(store, run_id)
        return _report(store, run_id, status, args.json)
    finally:
        store.close()


def _report(store: Any, run_id: str, status: str, as_json: bool) -> int:
    doc = store.get_run(run_id)
    if as_json:
        print(json.dumps(doc, indent=2))
    else:
        _print_run(doc)
    return EXIT.get(status, 1)


def _duration(start: str | None, end: str | None) -> str:
    if not start or not end:
        return ""
    seconds = (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds()
    return f"{seconds * 1000:.0f} ms" if seconds < 1 else f"{seconds:.1f} s"


def _print_run(doc: dict[str, Any]) -> None:
    took = _duration(doc.get("started_at"), doc.get("finished_at"))
    line = f"run {doc['run_id']} ({doc['flow_name']}): {doc['status']}"
    if took:
        line += f" in {took}"
    print(line)
    if doc.get("error"):
        print(f"  error: {doc['error']}")
    width = max((len(n) for n in doc["nodes"]), default=4)
    for node_id, n in doc["nodes"].items():
        tries = n["attempts"]
        extra = f"{tries} attempt{'s' if tries != 1 else ''}"
        took = _duration(n["started_at"], n["finished_at"])
        if took:
            extra += f", {took}"
        text = f"  {node_id:<{width}}  {n['status']:<9}  {extra}"
        if n.get("error") and n["status"] in ("failed", "cancelled"):
            text += f"  ({n['error']})"
        print(text)
    if doc.get("status") == "waiting":
        for node_id, n in doc["nodes"].items():
            out = n.get("output")
            if n["status"] == "waiting" and isinstance(out, dict) and out.get("prompt"):
                print(f"  waiting for approval of '{node_id}': {out['prompt']}")
                print(f"  decide with: flowdesk approve {doc['run_id']} {node_id} "
                      "[--reject] [--comment TEXT]")
    if doc.get("outputs"):
        print(f"  outputs: {json.dumps(doc['outputs'])}")


def runs_cmd(args: argparse.Namespace) -> int:
    if args.limit < 1:
        raise CliError("--limit must be at least 1", 2)
    store = _open(args)
    try:
        rows = store.list_runs(status=args.status, limit=args.limit)
    finally:
        store.close()
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    if not rows:
        print("no runs")
    for r in rows:
        took = _duration(r["started_at"], r["finished_at"])
        print(f"{r['run_id']}  {r['status']:<9}  {r['created_at'][:19].replace('T', ' ')}  "
              f"{r['flow_name']}" + (f"  ({took})" if took else ""))
    return 0


def _get(store: Any, run_id: str) -> dict[str, Any]:
    from engine.runs import RunNotFound

    try:
        return store.get_run(run_id)
    except RunNotFound as exc:
        raise CliError(str(exc), 2) from None


def show_cmd(args: argparse.Namespace) -> int:
    store = _open(args)
    try:
        doc = _get(store, args.run)
    finally:
        store.close()
    if args.json:
        print(json.dumps(doc, indent=2))
    else:
        _print_run(doc)
    return 0


def cancel_cmd(args: argparse.Namespace) -> int:
    from engine.executor import continue_run

    store = _open(args)
    try:
        doc = _get(store, args.run)
        if args.node is not None and args.node not in doc["nodes"]:  # a typo, like an unknown run
            raise CliError(f"run '{args.run}' has no node '{args.node}'", 2)
        try:
            store.request_cancel(args.run, args.node)
        except ValueError as exc:
            raise CliError(str(exc), 1) from None
        if args.node is None:
            status = store.get_run(args.run)["status"]
            print(f"run {args.run}: " + ("cancelled" if status == "cancelled"
                                         else "cancel requested"))
            return 0
        if store.owner_is_alive(args.run) or doc["detached"] and doc["started_at"] is None:
            print(f"node '{args.node}' of run {args.run}: cancel requested")
            return 0
        # Nobody is executing the run: carry the cancel out and continue it here.
        _, status = continue_run(store, args.run)
        print(f"node '{args.node}' of run {args.run}: cancelled; the run is {status}")
        return 0
    finally:
        store.close()


def approve_cmd(args: argparse.Namespace) -> int:
    from engine.executor import continue_run

    store = _open(args)
    try:
        _get(store, args.run)
        try:
            store.decide_approval(args.run, args.node, not args.reject, _user(), args.comment)
        except ValueError as exc:
            raise CliError(str(exc), 2) from None
        verdict = "rejected" if args.reject else "approved"
        print(f"node '{args.node}' of run {args.run}: {verdict}", file=sys.stderr)
        if store.owner_is_alive(args.run):
            return 0  # the live executor picks the decision up
        run_id, status = continue_run(store, args.run)
        return _report(store, run_id, status, args.json)
    finally:
        store.close()


def resume_cmd(args: argparse.Namespace) -> int:
    from engine.executor import resume_runs
    from engine.runs import RunBusy, RunNotFound

    store = _open(args)
    try:
        try:
            done = resume_runs(store, args.run)
        except RunNotFound as exc:
            raise CliError(str(exc), 2) from None
        except RunBusy as exc:
            raise CliError(str(exc), 1) from None
        if args.run is not None:
            run_id, status = done[0]
            return _report(store, run_id, status, args.json)
        if args.json:
            print(json.dumps([{"run_id": r, "status": s} for r, s in done], indent=2))
        elif not done:
            print("no run needed resuming")
        for run_id, status in done if not args.json else []:
            print(f"run {run_id}: {status}")
        codes = [EXIT.get(s, 1) for _, s in done]
        return max(codes, default=0) if 1 in codes or 3 not in codes else 3
    finally:
        store.close()
