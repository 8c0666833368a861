"""``/users`` and ``/roles`` (admin only): accounts, roles, passwords."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Path, Request, Response
from pydantic import BaseModel, Field

from engine.auth import audit, users
from engine.server.security import ADMIN, CallerDep, allow

router = APIRouter(tags=["users"])

UserName = Path(min_length=1, max_length=200)

ROLE_TEXT = {
    "admin": "everything, including users, roles and the audit log",
    "designer": "deploy flows and start runs; read everything else",
    "operator": "start, cancel and retry runs, decide approvals; read everything else",
    "viewer": "read flows, runs, events and approvals",
}


class UserOut(BaseModel):
    username: str
    roles: list[str]
    disabled: bool


class UserList(BaseModel):
    users: list[UserOut]


class NewUser(BaseModel):
    username: str = Field(min_length=1, max_length=200)
    password: str = Field(min_length=1, max_length=1024)
    roles: list[str] = Field(min_length=1, max_length=4)


class RolesBody(BaseModel):
    roles: list[str] = Field(min_length=1, max_length=4)


class SetPasswordBody(BaseModel):
    password: str = Field(min_length=1, max_length=1024)


class DisabledBody(BaseModel):
    disabled: bool


class Role(BaseModel):
    name: str
    description: str


class RoleList(BaseModel):
    roles: list[Role]


def _user_error(exc: users.UserError) -> HTTPException:
    text = str(exc)
    if text.startswith("there is no user"):
        return HTTPException(404, text)
    if "already exists" in text:
        return HTTPException(409, text)
    return HTTPException(422, text)


@router.get("/roles", response_model=RoleList, **allow(*ADMIN))
def list_roles() -> Any:
    """The roles a user can have and what each allows."""
    return {"roles": [{"name": r, "description": ROLE_TEXT[r]} for r in users.ROLES]}


@router.get("/users", response_model=UserList, **allow(*ADMIN))
def list_users(request: Request) -> Any:
    """Every user with their roles."""
    return {"users": [u.to_dict() for u in users.list_users(request.app.state.flowdesk.engine)]}


@router.post("/users", status_code=201, response_model=UserOut, **allow(*ADMIN))
def add_user(body: NewUser, request: Request, caller: CallerDep) -> Any:
    """Create a user with a password and roles."""
    engine = request.app.state.flowdesk.engine
    try:
        user = users.add_user(engine, body.username, body.password, body.roles)
    except users.UserError as exc:
        raise _user_error(exc) from None
    audit.record(engine, "user_added", actor=caller.name, target=user.username,
                 address=caller.address, detail={"roles": list(user.roles)})
    return user.to_dict()


@router.get("/users/{username}", response_model=UserOut, **allow(*ADMIN))
def get_user(request: Request, username: str = UserName) -> Any:
    """One user."""
    try:
        return users.require_user(request.app.state.flowdesk.engine, username).to_dict()
    except users.UserError as exc:
        raise _user_error(exc) from None


@router.put("/users/{username}/roles", response_model=UserOut, **allow(*ADMIN))
def set_roles(body: RolesBody, request: Request, caller: CallerDep,
              username: str = UserName) -> Any:
    """Replace a user's roles."""
    engine = request.app.state.flowdesk.engine
    try:
        user = users.set_roles(engine, username, body.roles)
    except users.UserError as exc:
        raise _user_error(exc) from None
    audit.record(engine, "roles_changed", actor=caller.name, target=username,
                 address=caller.address, detail={"roles": list(user.roles)})
    return user.to_dict()


@router.put("/users/{username}/password", status_code=204, response_class=Response,
            **allow(*ADMIN))
def reset_password(body: SetPasswordBody, request: Request, caller: CallerDep,
                   username: str = UserName) -> Response:
    """Set a user's password; every session of that user is revoked."""
    engine = request.app.state.flowdesk.engine
    try:
        users.set_password(engine, username, body.password)
    except users.UserError as exc:
        raise _user_error(exc) from None
    audit.record(engine, "password_reset", actor=caller.name, target=username,
                 address=caller.address)
    return Response(status_code=204)


@router.put("/users/{username}/disabled", response_model=UserOut, **allow(*ADMIN))
def set_disabled(body: DisabledBody, request: Request, caller: CallerDep,
                 username: str = UserName) -> Any:
    """Disable (revoking every session) or enable a user."""
    engine = request.app.state.flowdesk.engine
    try:
        user = users.set_disabled(engine, username, body.disabled)
    except users.UserError as exc:
        raise _user_error(exc) from None
    audit.record(engine, "user_disabled" if body.disabled else "user_enabled",
                 actor=caller.name, target=username, address=caller.address)
    return user.to_dict()
