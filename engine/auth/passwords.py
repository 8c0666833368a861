"""Password hashing with argon2id (argon2-cffi's defaults, above OWASP's floor).

``verify`` also says whether the stored hash should be upgraded, so a change of
parameters reaches every user at their next login.
"""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

_hasher = PasswordHasher()
# A real hash of a random password: checking against it when the user does not
# exist costs the same time as a real check, so timing does not reveal names.
_dummy_hash: str | None = None

MAX_PASSWORD_LENGTH = 1024


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(stored_hash: str | None, password: str) -> tuple[bool, bool]:
    """``(matches, needs_rehash)``; a missing hash still costs one verification."""
    if len(password) > MAX_PASSWORD_LENGTH:
        return False, False
    global _dummy_hash
    if stored_hash is None and _dummy_hash is None:
        _dummy_hash = _hasher.hash("flowdesk-no-such-user-dummy-password")
    try:
        _hasher.verify(stored_hash or _dummy_hash or "", password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False, False
    if stored_hash is None:
        return False, False
    return True, _hasher.check_needs_rehash(stored_hash)
