"""The two ways a backup operation says no, each with one clear sentence."""

from __future__ import annotations


class BackupError(Exception):
    """An archive that cannot be made, read or trusted; the message is one sentence."""


class BackupRefused(BackupError):
    """A restore that would lose data (a non-empty store without force); nothing was changed."""
