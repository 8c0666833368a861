"""``python -m engine.cli``: the engine's command line without the app (no Qt)."""

import sys

from engine.cli import main

sys.exit(main())
