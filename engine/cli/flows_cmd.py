"""``flowdesk validate FILE…``: the validator's problems, one line each."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any


def register(sub: Any) -> None:
    p = sub.add_parser("validate", help="check flow files and list their problems")
    p.add_argument("files", nargs="+", metavar="FILE")
    p.add_argument("--json", action="store_true", help="print the problems as JSON")
    p.set_defaults(handler=validate_cmd)


def validate_cmd(args: argparse.Namespace) -> int:
    from engine.flowfile import FlowFileError, load_flow
    from engine.validate import validate

    code = 0
    report: list[dict[str, Any]] = []
    for path in args.files:
        try:
            flow = load_flow(path)
        except FlowFileError as exc:
            code = 2
            report.append({"file": path, "readable": False, "valid": False,
                           "problems": [{"severity": "error", "message": exc.detail,
                                         **({"node": exc.node} if exc.node else {}),
                                         **({"field": exc.field} if exc.field else {})}]})
            if not args.json:
                print(str(exc), file=sys.stderr)
            continue
        problems = validate(flow, base_dir=Path(path).parent)
        errors = [p for p in problems if p.is_error]
        if errors and code == 0:
            code = 1
        report.append({"file": path, "readable": True, "valid": not errors,
                       "problems": [p.to_dict() for p in problems]})
        if not args.json:
            for p in problems:
                print(p.format(path))
    if args.json:
        print(json.dumps(report, indent=2))
    return code
