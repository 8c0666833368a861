"""Passwords: argon2id, and an old hash is upgraded at the next successful login."""

from __future__ import annotations

from argon2 import PasswordHasher
from sqlalchemy import select, update

from engine.auth.users import add_user, authenticate
from engine.store import open_engine, write_transaction
from engine.store.schema import users


def _stored(engine: object, name: str) -> str:
    with engine.connect() as conn:  # type: ignore[attr-defined]
        return str(conn.execute(select(users.c.password_hash)
                                .where(users.c.username == name)).scalar_one())


def test_hashes_are_argon2id_and_weak_ones_are_rehashed_on_login(sqlite_url: str) -> None:
    engine = open_engine(sqlite_url)
    try:
        add_user(engine, "ann", "a fine password", ["viewer"])
        assert _stored(engine, "ann").startswith("$argon2id$")
        weak = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1)
        with write_transaction(engine) as conn:
            conn.execute(update(users).where(users.c.username == "ann")
                         .values(password_hash=weak.hash("a fine password")))
        assert "m=8192,t=1,p=1" in _stored(engine, "ann")
        assert authenticate(engine, "ann", "a wrong password") is None
        assert "m=8192,t=1,p=1" in _stored(engine, "ann")  # a failure changes nothing
        assert authenticate(engine, "ann", "a fine password") is not None
        upgraded = _stored(engine, "ann")
        assert "m=8192" not in upgraded and not PasswordHasher().check_needs_rehash(upgraded)
        assert authenticate(engine, "ann", "a fine password") is not None
        assert authenticate(engine, "nobody", "a fine password") is None
    finally:
        engine.dispose()
