"""Who is calling and what they may do: bearer tokens and per-endpoint roles.

Every endpoint declares its roles with :func:`allow` (or :func:`public`); the
declaration shows in the OpenAPI document as ``x-roles`` and a test walks
``app.routes`` checking that every endpoint has one and that it holds for
every role. ``admin`` may do everything.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from engine.auth.users import ROLES, AuthError, User

READ = ("viewer", "operator", "designer", "admin")
DEPLOY = ("designer", "admin")
RUN = ("operator", "designer", "admin")
OPERATE = ("operator", "admin")
ADMIN = ("admin",)
ANY = READ

bearer = HTTPBearer(auto_error=False, description="An access token from POST /auth/login")


@dataclass(frozen=True)
class Caller:
    """The signed-in user of a request and the claims of their access token."""

    user: User
    claims: dict[str, Any]
    address: str | None

    @property
    def name(self) -> str:
        return self.user.username


def client_address(request: Request) -> str | None:
    return request.client.host if request.client else None


def _unauthorized(message: str) -> HTTPException:
    return HTTPException(401, message, headers={"WWW-Authenticate": "Bearer"})


def current_caller(request: Request,
                   creds: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
                   ) -> Caller:
    if creds is None or creds.scheme.lower() != "bearer" or not creds.credentials:
        raise _unauthorized("sign in first: this needs an access token "
                            "(Authorization: Bearer …)")
    state = request.app.state.flowdesk
    try:
        user, claims = state.tokens.authenticate(creds.credentials)
    except AuthError as exc:
        raise _unauthorized(str(exc)) from None
    request.state.user = user.username
    return Caller(user, claims, client_address(request))


CallerDep = Annotated[Caller, Depends(current_caller)]


def _require(roles: tuple[str, ...]) -> Any:
    async def check(caller: CallerDep) -> Caller:  # no I/O: async saves a thread hop
        if not caller.user.has_any(roles):
            raise HTTPException(403, f"this needs one of the roles {', '.join(roles)}; "
                                     f"'{caller.name}' has {', '.join(caller.user.roles)}")
        return caller
    return check


def allow(*roles: str) -> dict[str, Any]:
    """Route options declaring and enforcing the roles that may call an endpoint."""
    for role in roles:
        assert role in ROLES, role
    return {"openapi_extra": {"x-roles": list(roles)},
            "dependencies": [Depends(_require(tuple(roles)))]}


def public() -> dict[str, Any]:
    """Route options for the few endpoints that need no token (health, login, refresh)."""
    return {"openapi_extra": {"x-roles": ["public"]}}
