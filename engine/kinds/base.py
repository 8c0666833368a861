"""The contract between the executor and the code that runs one kind of node.

A kind that does work outside the executor's own bookkeeping (``shell``,
``python``, ``http``) is a module ``engine/kinds/<kind>_kind.py`` with::

    async def execute(ctx: NodeContext) -> Any

It returns the node's output (a JSON value) or raises :class:`NodeFailed`.
The executor enforces ``timeout_s`` and cancellation by cancelling the task:
on ``asyncio.CancelledError`` a kind must stop its work for real (kill the
process group it started) and re-raise.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


class NodeFailed(Exception):
    """The attempt failed; ``message`` is one sentence; ``output`` is kept when given."""

    def __init__(self, message: str, output: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.output = output


@dataclass
class NodeContext:
    run_id: str
    node_id: str
    attempt: int                      # from 1; also FLOWDESK_ATTEMPT
    config: dict[str, Any]            # rendered (python's code is never rendered)
    scope: Mapping[str, Any]          # inputs, vars, nodes, run: JSON values
    flow_dir: Path | None = None      # folder of the flow file, for relative paths
    log: Callable[[str, str], None] = field(default=lambda stream, text: None)

    def process_env(self) -> dict[str, str]:
        """The FLOWDESK_* variables every child process gets."""
        return {"FLOWDESK_RUN_ID": self.run_id, "FLOWDESK_NODE_ID": self.node_id,
                "FLOWDESK_ATTEMPT": str(self.attempt)}
