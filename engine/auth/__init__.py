"""Users, roles, passwords, tokens, login throttling and the audit log of a store.

The server uses all of it; ``flowdesk user …`` uses :mod:`engine.auth.users`.
Everything lives in the store, so several server processes sharing one store
share users, token revocations and login failure counts.
"""

from engine.auth.users import ROLES, AuthError, User, UserError

__all__ = ["ROLES", "AuthError", "User", "UserError"]
