"""Deployed flows: immutable, numbered versions of a ``flowdesk/1`` definition by name.

Deploying validates first and stores the definition as the next version of its
name (1, 2, …); a version never changes afterwards. Archiving a flow hides it
from lists and refuses new runs of it; runs already made keep their snapshot.
Subflow nodes naming a deployed flow read the same ``flows`` table.
"""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import Engine, and_, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from engine.flowfile import FlowFileError, flow_from_dict
from engine.model import Flow
from engine.store import write_transaction
from engine.store.schema import flows
from engine.validate import Problem, validate

__all__ = ["DeployError", "FlowNotFound", "archive", "deploy", "get_flow", "list_flows",
           "versions"]


class FlowNotFound(KeyError):
    """No deployed flow (or version) of that name."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "no such flow"


class DeployError(ValueError):
    """A definition that cannot be deployed; ``problems`` lists every finding."""

    def __init__(self, message: str, problems: list[dict[str, Any]]) -> None:
        super().__init__(message)
        self.problems = problems


def check_definition(document: Any) -> Flow:
    """Parse and validate a document; :class:`DeployError` with the problems otherwise."""
    try:
        flow = flow_from_dict(document)
    except FlowFileError as exc:
        problem = {"severity": "error", "message": exc.detail}
        if exc.node:
            problem["node"] = exc.node
        if exc.field:
            problem["field"] = exc.field
        raise DeployError(f"the flow cannot be read: {exc.detail}", [problem]) from None
    problems: list[Problem] = validate(flow)
    errors = [p for p in problems if p.is_error]
    if errors:
        raise DeployError(f"the flow '{flow.name}' has {len(errors)} problem"
                          f"{'s' if len(errors) != 1 else ''}: {errors[0].message}",
                          [p.to_dict() for p in problems])
    return flow


def deploy(engine: Engine, document: Any, *, created_by: str | None = None) -> dict[str, Any]:
    """Store a valid definition as the next version of its name: ``{name, version}``."""
    flow = check_definition(document)
    definition = flow.to_dict()
    for _try in range(5):
        try:
            with write_transaction(engine) as conn:
                latest = conn.execute(select(func.max(flows.c.version))
                                      .where(flows.c.name == flow.name)).scalar()
                version = int(latest or 0) + 1
                conn.execute(insert(flows).values(
                    name=flow.name, version=version, definition=definition,
                    created_at=time.time(), created_by=created_by, archived=False))
                if version > 1:  # a new version brings an archived flow back
                    conn.execute(update(flows).where(flows.c.name == flow.name)
                                 .values(archived=False))
            return {"name": flow.name, "version": version}
        except IntegrityError:  # another deploy of the same name took this number
            continue
    raise DeployError(f"could not deploy '{flow.name}': too many concurrent deploys", [])


def _summary(row: Any, *, definition: bool = False) -> dict[str, Any]:
    m = row._mapping
    out = {"name": m["name"], "version": m["version"], "created_at": m["created_at"],
           "created_by": m["created_by"], "archived": bool(m["archived"]),
           "description": (m["definition"] or {}).get("description")}
    if definition:
        out["definition"] = m["definition"]
    return out


def list_flows(engine: Engine, *, include_archived: bool = False) -> list[dict[str, Any]]:
    """The latest version of every deployed flow, by name."""
    latest = (select(flows.c.name, func.max(flows.c.version).label("version"))
              .group_by(flows.c.name).subquery())
    query = select(flows).join(latest, and_(flows.c.name == latest.c.name,
                                            flows.c.version == latest.c.version))
    if not include_archived:
        query = query.where(flows.c.archived.is_(False))
    with engine.connect() as conn:
        return [_summary(r) for r in conn.execute(query.order_by(flows.c.name))]


def get_flow(engine: Engine, name: str, version: int | None = None) -> dict[str, Any]:
    """One version (the latest when ``version`` is None) with its definition."""
    query = select(flows).where(flows.c.name == name)
    query = query.where(flows.c.version == version) if version is not None else \
        query.order_by(flows.c.version.desc()).limit(1)
    with engine.connect() as conn:
        row = conn.execute(query).first()
    if row is None:
        raise FlowNotFound(f"there is no deployed flow '{name}'" + (
            f" with version {version}" if version is not None else ""))
    return _summary(row, definition=True)


def versions(engine: Engine, name: str) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        rows = conn.execute(select(flows).where(flows.c.name == name)
                            .order_by(flows.c.version)).all()
    if not rows:
        raise FlowNotFound(f"there is no deployed flow '{name}'")
    return [_summary(r) for r in rows]


def archive(engine: Engine, name: str) -> None:
    with write_transaction(engine) as conn:
        done = conn.execute(update(flows).where(flows.c.name == name)
                            .values(archived=True)).rowcount
    if not done:
        raise FlowNotFound(f"there is no deployed flow '{name}'")
