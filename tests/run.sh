#!/usr/bin/env bash
# Runs the whole suite. When a D-Bus session and gnome-keyring are available, the
# tests run inside a throwaway session with an unlocked Secret Service, so the
# keyring tests talk to a real keyring (see docs/development.md).
set -euo pipefail
PY=${1:-python3}
shift || true
if [ -z "${DBUS_SESSION_BUS_ADDRESS:-}" ] && command -v dbus-run-session >/dev/null \
        && command -v gnome-keyring-daemon >/dev/null; then
    exec dbus-run-session -- bash -c '
        export FLOWDESK_KEYRING_HOME=$(mktemp -d)
        export XDG_DATA_HOME=$FLOWDESK_KEYRING_HOME XDG_RUNTIME_DIR=$FLOWDESK_KEYRING_HOME
        eval "$(printf %s flowdesk-test | gnome-keyring-daemon --unlock --components=secrets)"
        export GNOME_KEYRING_CONTROL
        export FLOWDESK_REAL_KEYRING=1
        exec "$0" -m pytest "$@"' "$PY" "$@"
fi
exec "$PY" -m pytest "$@"
