"""Where the bundled icons and example flows are, in a checkout and in an installed wheel.

The files live in the top-level ``resources/`` folder of the repository; a wheel
ships that folder as the data-only package ``flowdesk_resources`` (see
``pyproject.toml``). Both the designer (icons) and the app (examples) look them
up here, so the two cannot disagree. No Qt: the app imports this freely.
"""

from __future__ import annotations

from importlib.util import find_spec
from pathlib import Path

__all__ = ["PACKAGE", "resource_dir", "resource_path"]

PACKAGE = "flowdesk_resources"
_CHECKOUT_DIR = Path(__file__).resolve().parents[1] / "resources"


def resource_dir() -> Path:
    """The installed ``flowdesk_resources`` folder, else the checkout's ``resources/``.

    ``find_spec`` locates the package without running it. An editable install
    made before the package existed has no such package; the checkout folder
    is then the right answer.
    """
    try:
        spec = find_spec(PACKAGE)
    except (ImportError, ValueError):
        spec = None
    if spec is not None and spec.submodule_search_locations:
        for location in spec.submodule_search_locations:
            folder = Path(location)
            if folder.is_dir():
                return folder
    return _CHECKOUT_DIR


def resource_path(*parts: str) -> Path:
    """A path inside the resources folder, e.g. ``resource_path("icons", "start.svg")``.

    The path may not exist (a kind without an icon); callers check.
    """
    return resource_dir().joinpath(*parts)
