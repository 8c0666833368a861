"""Access tokens (JWT, HS256 pinned) and rotating refresh tokens, per DESIGN.md.

Access tokens: header ``typ: at+jwt`` and a ``kid``; claims ``exp iat iss aud
sub jti`` all required; at most 15 minutes; 30 s leeway at most. A refresh
token is an opaque random string, never a JWT, so it can never pass as an
access token; only its sha256 is stored. Each refresh token works once: using
it marks it used with one atomic ``UPDATE … WHERE used = false``, so of two
concurrent uses exactly one wins, and the loser's attempt (a reuse) revokes the
whole family. Logout revokes the family and the access token's ``jti``.

Signing keys: ``FLOWDESK_JWT_SECRET`` (at least 32 bytes; every server behind a
load balancer sets the same one) or keys generated on first start and kept in
the store's ``settings`` table. :func:`rotate_signing_key` adds a new current
key; older keys keep verifying tokens until they are dropped.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import jwt
from sqlalchemy import Engine, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from engine.auth import audit
from engine.auth.users import AuthError, User, get_user, user_from_row
from engine.store import write_transaction
from engine.store.schema import refresh_tokens, revoked_tokens, settings, users

ALGORITHM = "HS256"
ACCESS_TYPE = "at+jwt"
MAX_ACCESS_TTL = 15 * 60
MAX_LEEWAY = 30
KEYS_SETTING = "jwt_signing_keys"
KEEP_KEYS = 3
KEY_RELOAD_S = 60.0
UNKNOWN_KID_RELOAD_S = 2.0  # forged kids must not cost a query each
REQUIRED_CLAIMS = ["exp", "iat", "iss", "aud", "sub", "jti"]


class KeyConfigError(ValueError):
    """A signing key that cannot be used (for instance a short FLOWDESK_JWT_SECRET)."""


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass
class SigningKeys:
    """The key that signs (``current``) and every key that still verifies, by kid."""

    current: str
    keys: dict[str, bytes] = field(default_factory=dict)
    from_env: bool = False


def _env_keys() -> SigningKeys | None:
    secret = os.environ.get("FLOWDESK_JWT_SECRET")
    if secret is None:
        return None
    raw = secret.encode()
    if len(raw) < 32:
        raise KeyConfigError("FLOWDESK_JWT_SECRET must be at least 32 bytes long "
                             f"(it has {len(raw)})")
    kid = "env-" + hashlib.sha256(raw).hexdigest()[:12]
    return SigningKeys(kid, {kid: raw}, from_env=True)


def _stored_keys(engine: Engine) -> SigningKeys | None:
    with engine.connect() as conn:
        value = conn.execute(select(settings.c.value).where(settings.c.key == KEYS_SETTING)
                             ).scalar_one_or_none()
    if not value:
        return None
    return SigningKeys(value["current"],
                       {kid: bytes.fromhex(k["secret"]) for kid, k in value["keys"].items()})


def _new_key() -> tuple[str, dict[str, Any]]:
    return uuid.uuid4().hex[:16], {"secret": secrets.token_hex(32), "created_at": time.time()}


def load_signing_keys(engine: Engine) -> SigningKeys:
    """The environment's key, else the store's keys, generating them on first start."""
    env = _env_keys()
    if env is not None:
        return env
    keys = _stored_keys(engine)
    if keys is not None:
        return keys
    kid, key = _new_key()
    try:
        with write_transaction(engine) as conn:
            conn.execute(insert(settings).values(key=KEYS_SETTING,
                                                 value={"current": kid, "keys": {kid: key}}))
    except IntegrityError:
        pass  # another server generated them at the same moment: use theirs
    stored = _stored_keys(engine)
    assert stored is not None
    return stored


def rotate_signing_key(engine: Engine) -> str:
    """Make a new key current in the store; keep the last few for verification. Returns its kid."""
    kid, key = _new_key()
    with write_transaction(engine) as conn:
        value = conn.execute(select(settings.c.value).where(settings.c.key == KEYS_SETTING)
                             ).scalar_one_or_none()
        if value is None:
            conn.execute(insert(settings).values(key=KEYS_SETTING,
                                                 value={"current": kid, "keys": {kid: key}}))
            return kid
        keys = dict(value["keys"])
        keys[kid] = key
        newest = sorted(keys, key=lambda k: keys[k]["created_at"])[-KEEP_KEYS:]
        conn.execute(update(settings).where(settings.c.key == KEYS_SETTING).values(
            value={"current": kid, "keys": {k: keys[k] for k in newest}}))
    return kid


class TokenService:
    """Issues, checks, rotates and revokes the tokens of one store."""

    def __init__(self, engine: Engine, *, issuer: str = "flowdesk",
                 audience: str = "flowdesk-api", access_ttl: int = MAX_ACCESS_TTL,
                 refresh_ttl: int = 30 * 24 * 3600, leeway: int = 10) -> None:
        if not 0 < access_ttl <= MAX_ACCESS_TTL:
            raise KeyConfigError(f"access tokens may live at most {MAX_ACCESS_TTL} s")
        if not 0 <= leeway <= MAX_LEEWAY:
            raise KeyConfigError(f"the leeway may be at most {MAX_LEEWAY} s")
        self.engine = engine
        self.issuer, self.audience = issuer, audience
        self.access_ttl, self.refresh_ttl, self.leeway = access_ttl, refresh_ttl, leeway
        self._lock = threading.Lock()
        self.keys = load_signing_keys(engine)
        self._loaded_at = time.monotonic()

    def reload_keys(self) -> None:
        """Read the keys from the store again (done every minute, and on an unknown kid)."""
        with self._lock:
            self.keys = load_signing_keys(self.engine)
            self._loaded_at = time.monotonic()

    # --- access tokens ---------------------------------------------------------------------

    def _key_for(self, kid: Any) -> bytes | None:
        if not isinstance(kid, str):
            return None
        key = self.keys.keys.get(kid)
        if key is None and not self.keys.from_env \
                and time.monotonic() - self._loaded_at > UNKNOWN_KID_RELOAD_S:
            self.reload_keys()  # another server may have rotated: look again (not too often)
            key = self.keys.keys.get(kid)
        return key

    def access_token(self, username: str) -> tuple[str, int]:
        if not self.keys.from_env and time.monotonic() - self._loaded_at > KEY_RELOAD_S:
            self.reload_keys()  # pick up a rotation made by another server
        now = int(time.time())
        claims = {"iss": self.issuer, "aud": self.audience, "sub": username, "iat": now,
                  "exp": now + self.access_ttl, "jti": uuid.uuid4().hex}
        kid = self.keys.current
        token = jwt.encode(claims, self.keys.keys[kid], algorithm=ALGORITHM,
                           headers={"typ": ACCESS_TYPE, "kid": kid})
        return token, self.access_ttl

    def decode_access(self, token: str) -> dict[str, Any]:
        """The claims of a valid, unexpired access token (signature, type and claims checked)."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise AuthError("the access token is malformed") from None
        if header.get("alg") != ALGORITHM or header.get("typ") != ACCESS_TYPE:
            raise AuthError("the token is not an access token")
        key = self._key_for(header.get("kid"))
        if key is None:
            raise AuthError("the access token was signed with an unknown key")
        try:
            claims = jwt.decode(token, key, algorithms=[ALGORITHM], audience=self.audience,
                                issuer=self.issuer, leeway=self.leeway,
                                options={"require": REQUIRED_CLAIMS, "verify_signature": True,
                                         "strict_aud": True})
        except jwt.ExpiredSignatureError:
            raise AuthError("the access token has expired") from None
        except jwt.PyJWTError:
            raise AuthError("the access token is not valid") from None
        iat, exp = claims["iat"], claims["exp"]
        if not (isinstance(iat, int) and isinstance(exp, int)) or exp - iat > MAX_ACCESS_TTL:
            raise AuthError("the access token is not valid")
        if iat > time.time() + self.leeway:
            raise AuthError("the access token is not valid yet")
        if not isinstance(claims["sub"], str) or not isinstance(claims["jti"], str):
            raise AuthError("the access token is not valid")
        return claims

    def authenticate(self, token: str) -> tuple[User, dict[str, Any]]:
        """The signed-in user behind an access token, also checking revocation in the store."""
        claims = self.decode_access(token)
        # One round trip: the user and whether this token's jti is revoked.
        query = (select(users, revoked_tokens.c.jti.label("revoked_jti"))
                 .select_from(users.outerjoin(revoked_tokens,
                                              revoked_tokens.c.jti == claims["jti"]))
                 .where(users.c.username == claims["sub"]))
        with self.engine.connect() as conn:
            row = conn.execute(query).first()
        if row is not None and row.revoked_jti is not None:
            raise AuthError("the access token has been revoked")
        user = user_from_row(row) if row is not None else None
        if user is None or user.disabled:
            raise AuthError("the access token's user no longer exists")
        if user.tokens_valid_after and claims["iat"] < int(user.tokens_valid_after):
            raise AuthError("the access token has been revoked")
        return user, claims

    # --- refresh tokens --------------------------------------------------------------------

    def _new_refresh(self, conn: Any, username: str, family: str) -> str:
        token = secrets.token_urlsafe(32)
        now = time.time()
        conn.execute(insert(refresh_tokens).values(
            token_hash=_hash(token), family=family, username=username, issued_at=now,
            expires_at=now + self.refresh_ttl, used=False, revoked=False))
        return token

    def _pair(self, username: str, refresh: str) -> dict[str, Any]:
        access, ttl = self.access_token(username)
        return {"access_token": access, "refresh_token": refresh, "token_type": "bearer",
                "expires_in": ttl}

    def issue(self, user: User) -> dict[str, Any]:
        """A fresh pair for a login: a new refresh-token family."""
        with write_transaction(self.engine) as conn:
            refresh = self._new_refresh(conn, user.username, uuid.uuid4().hex)
        return self._pair(user.username, refresh)

    def refresh(self, token: str, *, address: str | None = None) -> dict[str, Any]:
        """Rotate: the used token dies, a new one of the same family is returned.

        Reusing a token (or losing a concurrent race for it) revokes the whole family.
        """
        digest = _hash(token)
        now = time.time()
        reused: dict[str, Any] | None = None
        with write_transaction(self.engine) as conn:
            won = conn.execute(update(refresh_tokens).where(
                refresh_tokens.c.token_hash == digest, refresh_tokens.c.used.is_(False),
                refresh_tokens.c.revoked.is_(False), refresh_tokens.c.expires_at > now,
            ).values(used=True)).rowcount
            row = conn.execute(select(refresh_tokens.c.family, refresh_tokens.c.username,
                                      refresh_tokens.c.used, refresh_tokens.c.revoked)
                               .where(refresh_tokens.c.token_hash == digest)).first()
            if row is None:
                raise AuthError("the refresh token is not valid")
            family, username = row.family, row.username
            if won == 1:
                new = self._new_refresh(conn, username, family)
            else:
                if row.used:  # a replay: whoever holds the family now may be a thief
                    conn.execute(update(refresh_tokens).where(refresh_tokens.c.family == family)
                                 .values(revoked=True))
                    audit.record(conn, "refresh_reuse", actor=username, target=family,
                                 address=address)
                    reused = {"family": family}
                new = None
        if new is None:
            raise AuthError("the refresh token has been used already; its session is revoked"
                            if reused else "the refresh token has expired or been revoked")
        user = get_user(self.engine, username)
        if user is None or user.disabled:
            self.revoke_family(family)
            raise AuthError("the refresh token's user no longer exists")
        return self._pair(username, new)

    def revoke_family(self, family: str) -> None:
        with write_transaction(self.engine) as conn:
            conn.execute(update(refresh_tokens).where(refresh_tokens.c.family == family)
                         .values(revoked=True))

    def family_of(self, token: str) -> tuple[str, str] | None:
        """``(family, username)`` of a refresh token, or None if it is unknown."""
        with self.engine.connect() as conn:
            row = conn.execute(select(refresh_tokens.c.family, refresh_tokens.c.username)
                               .where(refresh_tokens.c.token_hash == _hash(token))).first()
        return (row.family, row.username) if row else None

    def revoke_access(self, claims: dict[str, Any]) -> None:
        """Refuse this access token from now on (until it would have expired anyway)."""
        now = time.time()
        with write_transaction(self.engine) as conn:
            conn.execute(delete(revoked_tokens).where(revoked_tokens.c.expires_at
                                                      < now - MAX_LEEWAY))
            exists = conn.execute(select(revoked_tokens.c.jti)
                                  .where(revoked_tokens.c.jti == claims["jti"])).first()
            if not exists:
                conn.execute(insert(revoked_tokens).values(
                    jti=claims["jti"], expires_at=float(claims["exp"]) + MAX_LEEWAY))
