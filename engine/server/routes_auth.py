"""``/auth``: login, refresh, logout, who am I, change my password."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request, Response
from pydantic import BaseModel, Field

from engine.auth import audit
from engine.auth.users import AuthError, UserError, authenticate, set_password
from engine.server.security import ANY, CallerDep, allow, client_address, public

router = APIRouter(prefix="/auth", tags=["auth"])


class LoginBody(BaseModel):
    username: str = Field(min_length=1, max_length=200)
    password: str = Field(min_length=1, max_length=1024)


class RefreshBody(BaseModel):
    refresh_token: str = Field(min_length=1, max_length=4096)


class TokenPair(BaseModel):
    access_token: str
    refresh_token: str
    token_type: str = "bearer"
    expires_in: int


class Me(BaseModel):
    username: str
    roles: list[str]


class ChangePasswordBody(BaseModel):
    current_password: str = Field(min_length=1, max_length=1024)
    new_password: str = Field(min_length=1, max_length=1024)


def _locked(seconds: int) -> HTTPException:
    return HTTPException(429, f"too many failed logins; try again in {seconds} s",
                         headers={"Retry-After": str(seconds)})


@router.post("/login", response_model=TokenPair, **public())
def login(body: LoginBody, request: Request) -> TokenPair:
    """Sign in with a user name and password (JSON); an unknown user and a wrong password
    get the same 401. Repeated failures lock the name and the address for a while (429)."""
    state = request.app.state.flowdesk
    address = client_address(request)
    wait = state.throttle.retry_after(body.username, address)
    if wait is not None:
        state.metrics.login("locked")
        raise _locked(wait)
    user = authenticate(state.engine, body.username, body.password)
    if user is None:
        state.throttle.failure(body.username, address)
        state.metrics.login("failed")
        audit.record(state.engine, "login_failed", actor=body.username[:200], address=address)
        raise HTTPException(401, "wrong user name or password",
                            headers={"WWW-Authenticate": "Bearer"})
    state.throttle.success(body.username, address)
    state.metrics.login("succeeded")
    audit.record(state.engine, "login", actor=user.username, address=address)
    return TokenPair(**state.tokens.issue(user))


@router.post("/refresh", response_model=TokenPair, **public())
def refresh(body: RefreshBody, request: Request) -> TokenPair:
    """Trade a refresh token for a new pair. Each refresh token works once; using one
    again revokes every token of its session."""
    state = request.app.state.flowdesk
    try:
        return TokenPair(**state.tokens.refresh(body.refresh_token,
                                                address=client_address(request)))
    except AuthError as exc:
        raise HTTPException(401, str(exc), headers={"WWW-Authenticate": "Bearer"}) from None


@router.post("/logout", status_code=204, response_class=Response, **allow(*ANY))
def logout(body: RefreshBody, request: Request,
           caller: CallerDep) -> Response:
    """End a session: revokes the refresh token's family and this access token."""
    state = request.app.state.flowdesk
    owner = state.tokens.family_of(body.refresh_token)
    if owner is not None and owner[1] != caller.name:
        raise HTTPException(403, "that refresh token belongs to another user")
    if owner is not None:
        state.tokens.revoke_family(owner[0])
    state.tokens.revoke_access(caller.claims)
    audit.record(state.engine, "logout", actor=caller.name, address=caller.address)
    return Response(status_code=204)


@router.get("/me", response_model=Me, **allow(*ANY))
def me(caller: CallerDep) -> Me:
    """The signed-in user and their roles."""
    return Me(username=caller.name, roles=list(caller.user.roles))


@router.post("/password", status_code=204, response_class=Response, **allow(*ANY))
def change_password(body: ChangePasswordBody, request: Request,
                    caller: CallerDep) -> Response:
    """Change your own password; every session of yours (this one too) is revoked."""
    state = request.app.state.flowdesk
    wait = state.throttle.retry_after(caller.name, caller.address)
    if wait is not None:
        raise _locked(wait)
    if authenticate(state.engine, caller.name, body.current_password) is None:
        state.throttle.failure(caller.name, caller.address)
        raise HTTPException(400, "the current password is wrong")
    try:
        set_password(state.engine, caller.name, body.new_password)
    except UserError as exc:
        raise HTTPException(422, str(exc)) from None
    audit.record(state.engine, "password_changed", actor=caller.name, target=caller.name,
                 address=caller.address)
    return Response(status_code=204)
