"""The ``flowdesk`` command line (everything except the GUI and ``export``).

Each command lives in a module of this package that defines
``register(subparsers)``; a command's handler takes the parsed arguments and
returns the exit code. Modules import their heavy dependencies inside the
handlers, so ``flowdesk validate`` starts fast and no command imports Qt.

A handler reports a failure by raising :class:`CliError` (one clear sentence
and an exit code); anything else unexpected is printed as one sentence too,
with the traceback only under ``--debug``.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

COMMAND_MODULES = (
    "engine.cli.flows_cmd",
    "engine.cli.runs_cmd",
    "engine.cli.worker_cmd",
    "engine.cli.backup_cmd",
    "engine.cli.serve_cmd",
    "engine.cli.user_cmd",
)


class CliError(Exception):
    """A failure to report as one sentence on stderr, with an exit code."""

    def __init__(self, message: str, code: int = 2) -> None:
        super().__init__(message)
        self.code = code


def add_store_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--store", metavar="URL",
                        help="store URL (sqlite:///path.db, postgresql+psycopg://…); "
                             "default: $FLOWDESK_STORE or the user data folder")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # usage errors: exit 2, one line
        self.exit(2, f"{self.prog}: error: {message}\n")


def build_parser(extra: Sequence[str] = ()) -> argparse.ArgumentParser:
    parser = _Parser(prog="flowdesk", description="Design and run workflows.")
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:  # a command whose module has not landed yet
                continue
            raise
        module.register(sub)
    for name, help_text in extra:  # type: ignore[misc]
        sub.add_parser(name, help=help_text, add_help=False)
    return parser


def main(argv: Sequence[str] | None = None, *,
         extra: Sequence[tuple[str, str]] = ()) -> int:
    """Run one command; ``extra`` names commands handled before us (listed in --help)."""
    parser = build_parser(extra)
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help()
        return 2
    try:
        code = int(args.handler(args) or 0)
        sys.stdout.flush()
        return code
    except BrokenPipeError:
        return _output_closed()
    except CliError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.code
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        if args.debug:
            raise
        from engine.errors import describe_exception

        print(f"error: {describe_exception(exc)}", file=sys.stderr)
        return 2


def _output_closed() -> int:
    """The reader of our output went away (``flowdesk runs | head``): end quietly.

    Standard output is pointed at /dev/null so the interpreter's final flush
    does not complain, and the exit code is the shell's for SIGPIPE.
    """
    import os

    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
    return 141


if __name__ == "__main__":
    sys.exit(main())
