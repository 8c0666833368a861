"""Login throttling per user name and per client address, counted in the store.

Keeping the counts in the store means several server processes share them: an
attacker gains nothing by spreading guesses over servers. After ``threshold``
consecutive failures (5 by default, at most 10) a key is locked for 1 s,
doubling with each further failure up to 30 s; while it is locked every login
for it is refused with 429 and a ``Retry-After`` — the right password too. A
successful login clears the counts of its user and its address; counts not
touched for a day are forgotten.
"""

from __future__ import annotations

import math
import time

from sqlalchemy import Engine, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from engine.store import write_transaction
from engine.store.schema import login_failures

MAX_LOCK_S = 30
STALE_S = 24 * 3600  # failures older than this no longer count


def _keys(username: str, address: str | None) -> list[str]:
    keys = [f"user:{username[:200]}"]
    if address:
        keys.append(f"addr:{address[:100]}")
    return keys


class LoginThrottle:
    def __init__(self, engine: Engine, *, threshold: int = 5, base_s: float = 1.0,
                 max_s: float = MAX_LOCK_S) -> None:
        if not 1 <= threshold <= 10:
            raise ValueError("the login failure threshold must be between 1 and 10")
        self.engine = engine
        self.threshold, self.base_s, self.max_s = threshold, base_s, min(max_s, MAX_LOCK_S)

    def retry_after(self, username: str, address: str | None) -> int | None:
        """Whole seconds until a login may be tried again, or None when not locked."""
        now = time.time()
        with self.engine.connect() as conn:
            until = conn.execute(select(login_failures.c.locked_until).where(
                login_failures.c.key.in_(_keys(username, address)))).scalars().all()
        latest = max((u for u in until if u), default=0.0)
        if latest <= now:
            return None
        return max(1, min(MAX_LOCK_S, math.ceil(latest - now)))

    def _lock_for(self, failures: int) -> float | None:
        if failures < self.threshold:
            return None
        return min(self.max_s, self.base_s * 2 ** (failures - self.threshold))

    def failure(self, username: str, address: str | None) -> int | None:
        """Count one failure for the user and the address; the lock it causes, if any."""
        now = time.time()
        with write_transaction(self.engine) as conn:  # forget stale counts (bounded table)
            conn.execute(delete(login_failures).where(
                login_failures.c.updated_at < now - STALE_S,
                (login_failures.c.locked_until.is_(None))
                | (login_failures.c.locked_until < now)))
        for key in _keys(username, address):
            for _try in range(3):
                try:
                    with write_transaction(self.engine) as conn:
                        done = conn.execute(update(login_failures)
                                            .where(login_failures.c.key == key)
                                            .values(failures=login_failures.c.failures + 1,
                                                    updated_at=now)).rowcount
                        if not done:
                            conn.execute(insert(login_failures).values(
                                key=key, failures=1, locked_until=None, updated_at=now))
                        count = conn.execute(select(login_failures.c.failures)
                                             .where(login_failures.c.key == key)).scalar_one()
                        lock = self._lock_for(int(count))
                        if lock is not None:
                            conn.execute(update(login_failures)
                                         .where(login_failures.c.key == key)
                                         .values(locked_until=now + lock))
                    break
                except IntegrityError:  # a concurrent first failure inserted it: count again
                    continue
        return self.retry_after(username, address)

    def success(self, username: str, address: str | None) -> None:
        with write_transaction(self.engine) as conn:
            conn.execute(delete(login_failures).where(
                login_failures.c.key.in_(_keys(username, address))))
