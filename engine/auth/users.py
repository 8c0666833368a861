"""Users and their roles, kept in the store's ``users`` table.

Roles: ``admin`` (everything), ``designer`` (deploy and run), ``operator``
(run, cancel, retry, approve) and ``viewer`` (read). A password change revokes
every refresh-token family of the user and every access token issued before it.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass

from sqlalchemy import Engine, insert, select, update
from sqlalchemy.exc import IntegrityError

from engine.auth.passwords import MAX_PASSWORD_LENGTH, hash_password, verify_password
from engine.store import write_transaction
from engine.store.schema import refresh_tokens, users

ROLES = ("admin", "designer", "operator", "viewer")
NAME_RE = re.compile(r"^[A-Za-z0-9_.@-]{1,200}$")
MIN_PASSWORD_LENGTH = 8


class UserError(ValueError):
    """A bad user name, role or password, or a user that does not exist; one sentence."""


class AuthError(Exception):
    """Credentials or a token that do not let the caller in (always answered as 401)."""


@dataclass(frozen=True)
class User:
    username: str
    roles: tuple[str, ...]
    disabled: bool = False
    tokens_valid_after: float | None = None

    def has_any(self, roles: set[str] | frozenset[str] | tuple[str, ...]) -> bool:
        return "admin" in self.roles or bool(set(self.roles) & set(roles))

    def to_dict(self) -> dict[str, object]:
        return {"username": self.username, "roles": list(self.roles), "disabled": self.disabled}


def check_name(name: str) -> str:
    if not isinstance(name, str) or not NAME_RE.match(name):
        raise UserError(f"'{name}' is not a valid user name (use 1-200 letters, digits, "
                        "'_', '.', '@' or '-')")
    return name


def check_roles(roles: list[str] | tuple[str, ...]) -> list[str]:
    out: list[str] = []
    for role in roles:
        if role not in ROLES:
            raise UserError(f"'{role}' is not a role (choose from {', '.join(ROLES)})")
        if role not in out:
            out.append(role)
    return out


def check_password(password: str) -> str:
    if not isinstance(password, str) or len(password) < MIN_PASSWORD_LENGTH:
        raise UserError(f"the password must have at least {MIN_PASSWORD_LENGTH} characters")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise UserError(f"the password must have at most {MAX_PASSWORD_LENGTH} characters")
    return password


def user_from_row(row: object) -> User:
    m = row._mapping  # type: ignore[attr-defined]
    return User(m["username"], tuple(m["roles"] or ()), bool(m["disabled"]),
                m["tokens_valid_after"])


def add_user(engine: Engine, name: str, password: str, roles: list[str]) -> User:
    """Create a user; :class:`UserError` if the name is taken or anything is invalid."""
    check_name(name)
    roles = check_roles(roles)
    if not roles:
        raise UserError("a user needs at least one role")
    digest = hash_password(check_password(password))
    now = time.time()
    try:
        with write_transaction(engine) as conn:
            conn.execute(insert(users).values(username=name, password_hash=digest, roles=roles,
                                              disabled=False, created_at=now, updated_at=now))
    except IntegrityError:
        raise UserError(f"a user named '{name}' already exists") from None
    return User(name, tuple(roles))


def get_user(engine: Engine, name: str) -> User | None:
    with engine.connect() as conn:
        row = conn.execute(select(users).where(users.c.username == name)).first()
    return user_from_row(row) if row else None


def require_user(engine: Engine, name: str) -> User:
    user = get_user(engine, name)
    if user is None:
        raise UserError(f"there is no user named '{name}'")
    return user


def list_users(engine: Engine) -> list[User]:
    with engine.connect() as conn:
        return [user_from_row(r) for r in conn.execute(select(users).order_by(users.c.username))]


def count_users(engine: Engine) -> int:
    return len(list_users(engine))


def set_roles(engine: Engine, name: str, roles: list[str]) -> User:
    roles = check_roles(roles)
    if not roles:
        raise UserError("a user needs at least one role")
    with write_transaction(engine) as conn:
        done = conn.execute(update(users).where(users.c.username == name)
                            .values(roles=roles, updated_at=time.time())).rowcount
    if not done:
        raise UserError(f"there is no user named '{name}'")
    return require_user(engine, name)


def set_disabled(engine: Engine, name: str, disabled: bool) -> User:
    now = time.time()
    with write_transaction(engine) as conn:
        done = conn.execute(update(users).where(users.c.username == name).values(
            disabled=disabled, updated_at=now,
            **({"tokens_valid_after": now} if disabled else {}))).rowcount
        if disabled:
            conn.execute(update(refresh_tokens).where(refresh_tokens.c.username == name)
                         .values(revoked=True))
    if not done:
        raise UserError(f"there is no user named '{name}'")
    return require_user(engine, name)


def set_password(engine: Engine, name: str, password: str) -> None:
    """Change the password and revoke every session of the user."""
    digest = hash_password(check_password(password))
    now = time.time()
    with write_transaction(engine) as conn:
        done = conn.execute(update(users).where(users.c.username == name).values(
            password_hash=digest, updated_at=now, tokens_valid_after=now)).rowcount
        conn.execute(update(refresh_tokens).where(refresh_tokens.c.username == name)
                     .values(revoked=True))
    if not done:
        raise UserError(f"there is no user named '{name}'")


def authenticate(engine: Engine, name: str, password: str) -> User | None:
    """The user if the password is right (rehashing it if the parameters changed), else None.

    An unknown user costs the same argon2 check as a wrong password.
    """
    with engine.connect() as conn:
        row = conn.execute(select(users).where(users.c.username == name)).first()
    stored = row._mapping["password_hash"] if row else None
    ok, rehash = verify_password(stored, password)
    if not ok or row is None:
        return None
    user = user_from_row(row)
    if user.disabled:
        return None
    if rehash:
        with write_transaction(engine) as conn:
            conn.execute(update(users).where(users.c.username == name)
                         .values(password_hash=hash_password(password)))
    return user
