"""Turning any exception into the one clear sentence a user sees."""

from __future__ import annotations


def describe_exception(exc: BaseException) -> str:
    """One sentence for ``exc``: its own message for our errors, a short form otherwise."""
    from sqlalchemy.exc import DBAPIError

    if isinstance(exc, DBAPIError):
        orig = str(exc.orig).strip().splitlines()[0] if exc.orig else type(exc).__name__
        return f"the store failed: {orig}"
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    if isinstance(exc, (ValueError, RuntimeError, LookupError)) and text:
        return text
    if isinstance(exc, OSError):
        return f"{exc.strerror or text}: {exc.filename}" if exc.filename else text or repr(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
