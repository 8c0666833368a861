"""Refresh tokens in the OS keyring, and only there.

One keyring entry per server and user (service ``flowdesk:<server url>``,
user name as the account). The app never writes a token to disk itself: when
the keyring backend is a plaintext file (``keyrings.alt``), the fail/null
backend, a backend keyring itself rates below 1 (not recommended), or one that
raises, :func:`keyring_problem` says so (the one rule, also for profile passwords) and the app offers a
login for this session only.
"""

from __future__ import annotations

import keyring
from keyring.backend import KeyringBackend
from keyring.errors import KeyringError

SERVICE_PREFIX = "flowdesk:"

# Backends that keep secrets readable on disk or do not keep them at all.
_UNSAFE_MODULES = ("keyrings.alt", "keyring.backends.fail", "keyring.backends.null")


def _backends(kr: KeyringBackend) -> list[KeyringBackend]:
    inner = getattr(kr, "backends", None)
    return list(inner) if inner else [kr]


def keyring_problem() -> str | None:
    """Why tokens cannot be kept in the keyring here, or ``None`` when they can."""
    try:
        kr = keyring.get_keyring()
    except Exception as exc:  # a broken keyring configuration
        return f"the system keyring cannot be used ({exc})"
    backends = _backends(kr)
    if not backends:
        return "no system keyring is available"
    first = backends[0]
    module = type(first).__module__
    if module.startswith(_UNSAFE_MODULES):
        name = type(first).__name__
        if module.startswith("keyrings.alt"):
            return (f"the keyring backend {name} stores secrets in a plain file, so Flowdesk "
                    "will not keep a token in it")
        return "no system keyring is available (install and unlock a Secret Service such as " \
               "gnome-keyring or KWallet)"
    try:
        weak = float(getattr(first, "priority", 1)) < 1
    except (TypeError, ValueError):
        weak = False
    if weak:
        return (f"the keyring backend {type(first).__name__} is not a recommended secure store "
                "(priority below 1)")
    return None


def service_for(server_url: str) -> str:
    return f"{SERVICE_PREFIX}{server_url}"


class TokenVault:
    """Keeps the refresh token of (server, user) in the OS keyring."""

    def __init__(self, server_url: str, username: str) -> None:
        self.service = service_for(server_url)
        self.username = username

    def save(self, token: str | None) -> None:
        """Store ``token``; ``None`` deletes the entry. Refuses an unsafe backend."""
        if token is None:
            self.delete()
            return
        problem = keyring_problem()
        if problem:
            raise KeyringError(problem)
        keyring.set_password(self.service, self.username, token)

    def load(self) -> str | None:
        if keyring_problem():
            return None
        try:
            return keyring.get_password(self.service, self.username)
        except KeyringError:
            return None

    def delete(self) -> None:
        try:
            keyring.delete_password(self.service, self.username)
        except KeyringError:
            pass
