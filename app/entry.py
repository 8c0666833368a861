"""The ``flowdesk`` console script.

With no command it opens the desktop app; ``export`` goes to the designer;
every other command goes to the engine's command line without importing Qt,
so headless commands start fast and a server needs no Qt.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

# Commands handled here, before the engine's command line; listed in its --help.
OWN_COMMANDS = (("gui", "open the desktop app (the default with no command; also: a .flow.json)"),
                ("export", "draw a flow as PNG or SVG with no display: export FILE OUT.png|OUT.svg"))


def display_problem() -> str | None:
    """Why no window can be opened here, or ``None`` (Qt would abort with a core dump)."""
    if not sys.platform.startswith("linux") or os.environ.get("QT_QPA_PLATFORM"):
        return None
    if os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"):
        return None
    return ("there is no display to open the window on: set DISPLAY (or "
            "QT_QPA_PLATFORM=offscreen); the other commands work without one, see "
            "'flowdesk --help'")


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("gui", "open") or (args[0].endswith(".flow.json")
                                                   and len(args) == 1):
        problem = display_problem()
        if problem:
            print(f"error: {problem}", file=sys.stderr)
            return 2
        from app.main import run_app

        return run_app(args[1:] if args and args[0] in ("gui", "open") else args)
    if args[0] == "export":
        from designer.export import export_main

        return export_main(args[1:])
    from engine.cli import main as engine_main

    return engine_main(args, extra=OWN_COMMANDS)


if __name__ == "__main__":
    sys.exit(main())
