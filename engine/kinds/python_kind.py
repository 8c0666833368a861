"""The ``python`` node: run the user's code on a warm worker process and return ``result``.

The code runs in a separate process (see :mod:`engine.pyworker`), never in the
engine: it cannot reach the engine's database session, connections or secrets,
and a timeout or cancel kills it for real. It sees ``inputs``, ``vars``,
``nodes`` and ``run`` (dicts whose keys also read as attributes) and sets
``result``, which must be JSON. Its print() output streams to the node's log.
"""

from __future__ import annotations

from typing import Any

from engine.kinds.base import NodeContext, NodeFailed
from engine.pyworker import WorkerDied, get_pool

__all__ = ["execute"]


def _request(ctx: NodeContext) -> dict[str, Any]:
    code = ctx.config.get("code")
    if not isinstance(code, str):
        raise NodeFailed("code must be Python source text")
    return {"code": code, "filename": f"<node {ctx.node_id}>", "scope": dict(ctx.scope),
            "env": ctx.process_env(), "cwd": str(ctx.flow_dir) if ctx.flow_dir else None}


async def execute(ctx: NodeContext) -> Any:
    request = _request(ctx)
    try:
        outcome = await get_pool().execute(request, ctx.log)
    except (WorkerDied, RuntimeError, ValueError) as exc:
        # the worker died; the pool was shut down (the engine is exiting); or
        # FLOWDESK_PYTHON_WORKERS is not a number
        raise NodeFailed(str(exc)) from None
    except OSError as exc:
        raise NodeFailed(f"a Python worker could not start: {exc.strerror or exc}") from None
    if outcome.ok:
        return outcome.result
    raise NodeFailed(outcome.error or "the code failed",
                     output={"stdout": outcome.stdout, "stderr": outcome.stderr})
