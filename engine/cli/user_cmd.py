"""``flowdesk user add/list/passwd/roles``: manage the users of a store.

Passwords come from standard input (``--password-stdin``): one line, of which
only the line ending is stripped, so they never show in ``ps`` or shell history.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from engine.cli import CliError, add_store_option


def register(sub: Any) -> None:
    p = sub.add_parser("user", help="manage the users of a store (for flowdesk serve)")
    users = p.add_subparsers(dest="user_command", metavar="ACTION", required=True)

    add = users.add_parser("add", help="create a user")
    add.add_argument("name")
    add.add_argument("--role", action="append", required=True, metavar="ROLE",
                     help="admin, designer, operator or viewer (repeat for several)")
    add.add_argument("--password-stdin", action="store_true", required=True,
                     help="read the password from the first line of standard input")
    add_store_option(add)
    add.set_defaults(handler=user_add)

    ls = users.add_parser("list", help="list users and their roles")
    ls.add_argument("--json", action="store_true")
    add_store_option(ls)
    ls.set_defaults(handler=user_list)

    pw = users.add_parser("passwd", help="set a user's password (revokes their sessions)")
    pw.add_argument("name")
    pw.add_argument("--password-stdin", action="store_true", required=True,
                    help="read the password from the first line of standard input")
    add_store_option(pw)
    pw.set_defaults(handler=user_passwd)

    roles = users.add_parser("roles", help="show or set a user's roles")
    roles.add_argument("name")
    roles.add_argument("--set", nargs="+", metavar="ROLE", help="replace the roles")
    add_store_option(roles)
    roles.set_defaults(handler=user_roles)


def read_password() -> str:
    """The first line of stdin without its line ending (nothing else is stripped)."""
    line = sys.stdin.readline()
    if line.endswith("\r\n"):
        line = line[:-2]
    elif line.endswith(("\n", "\r")):
        line = line[:-1]
    if not line:
        raise CliError("no password on standard input (give it as one line)")
    return line


def _engine(args: argparse.Namespace) -> Any:
    from engine.store import StoreError, open_engine

    try:
        return open_engine(args.store)
    except StoreError as exc:
        raise CliError(str(exc)) from None


def user_add(args: argparse.Namespace) -> int:
    from engine.auth import audit, users

    password = read_password()
    engine = _engine(args)
    try:
        user = users.add_user(engine, args.name, password, args.role)
    except users.UserError as exc:
        raise CliError(str(exc)) from None
    audit.record(engine, "user_added", actor="cli", target=user.username,
                 detail={"roles": list(user.roles)})
    print(f"added user '{user.username}' with roles {', '.join(user.roles)}")
    return 0


def user_list(args: argparse.Namespace) -> int:
    from engine.auth import users

    found = users.list_users(_engine(args))
    if args.json:
        print(json.dumps([u.to_dict() for u in found], indent=2))
        return 0
    if not found:
        print("no users yet (add one with: flowdesk user add NAME --role admin "
              "--password-stdin)")
    for u in found:
        flag = "\tdisabled" if u.disabled else ""
        print(f"{u.username}\t{','.join(u.roles)}{flag}")
    return 0


def user_passwd(args: argparse.Namespace) -> int:
    from engine.auth import audit, users

    password = read_password()
    engine = _engine(args)
    try:
        users.set_password(engine, args.name, password)
    except users.UserError as exc:
        raise CliError(str(exc)) from None
    audit.record(engine, "password_reset", actor="cli", target=args.name)
    print(f"changed the password of '{args.name}'; their sessions are revoked")
    return 0


def user_roles(args: argparse.Namespace) -> int:
    from engine.auth import audit, users

    engine = _engine(args)
    try:
        if args.set:
            user = users.set_roles(engine, args.name, args.set)
            audit.record(engine, "roles_changed", actor="cli", target=args.name,
                         detail={"roles": list(user.roles)})
        else:
            user = users.require_user(engine, args.name)
    except users.UserError as exc:
        raise CliError(str(exc)) from None
    print(f"{user.username}: {', '.join(user.roles)}")
    return 0
