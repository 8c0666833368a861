"""The ``flowdesk`` console script.

With no command it opens the desktop app; ``export`` goes to the designer;
every other command goes to the engine's command line without importing Qt,
so headless commands start fast and a server needs no Qt.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("gui", "open") or (args[0].endswith(".flow.json")
                                                   and len(args) == 1):
        from app.main import run_app

        return run_app(args[1:] if args and args[0] in ("gui", "open") else args)
    if args[0] == "export":
        from designer.export import export_main

        return export_main(args[1:])
    from engine.cli import main as engine_main

    return engine_main(args)


if __name__ == "__main__":
    sys.exit(main())
