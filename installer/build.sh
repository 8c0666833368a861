#!/usr/bin/env bash
# Build the Flowdesk wheel and source archive into installer/dist/.
#
#   installer/build.sh             # isolated build (pip fetches setuptools>=69 from the index)
#   installer/build.sh --offline   # no network: uses the setuptools and wheel of $PYTHON
#
# The wheel is built from the source archive, which proves the archive is complete.
# PYTHON picks the interpreter (default: .venv/bin/python if present, else python3).
# Any other arguments go to `python -m build`.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
out="$root/installer/dist"
if [[ -z "${PYTHON:-}" ]]; then
    if [[ -x "$root/.venv/bin/python" ]]; then PYTHON="$root/.venv/bin/python"; else PYTHON=python3; fi
fi

if ! "$PYTHON" -c "import build" 2>/dev/null; then
    echo "build.sh: '$PYTHON -m build' is not available; install it with: $PYTHON -m pip install build" >&2
    exit 1
fi

# Build from a clean copy of the tracked-and-working files, so the checkout gets no
# build/ or egg-info folders and a half-written file elsewhere cannot leak in.
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
for name in engine designer app resources pyproject.toml README.md; do
    cp -r "$root/$name" "$work/$name"
done
find "$work" -name __pycache__ -type d -prune -exec rm -rf {} +

args=()
for arg in "$@"; do
    if [[ "$arg" == --offline ]]; then args+=(--no-isolation --skip-dependency-check); else args+=("$arg"); fi
done

mkdir -p "$out"
"$PYTHON" -m build --outdir "$out" "${args[@]}" "$work"
echo
echo "Built:"
ls -1 "$out"/flowdesk-*
