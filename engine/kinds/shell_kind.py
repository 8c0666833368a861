"""The ``shell`` node: run a program, stream its output, fail on a non-zero exit code.

``command`` is a list of arguments run directly (no shell, so templated values
cannot inject shell syntax). With ``shell: true`` a string is run by
``/bin/sh -c``; a list with ``shell: true`` runs its first item as the script
and passes the rest as ``$1 $2 …``, which keeps templated values out of the
script text. The program runs in its own process group, so a timeout or a
cancel kills it and everything it started, and so does the end of the engine
process (see :class:`engine.procs.ProcessGuardian`).
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

from engine.kinds.base import NodeContext, NodeFailed
from engine.procs import StreamText, child_environment, guardian, kill_group_async

__all__ = ["execute"]

_SH = "/bin/sh"
_READ_SIZE = 65536


def _scalar_text(value: Any, what: str) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    raise NodeFailed(f"{what} must be text, not {type(value).__name__}")


def command_argv(config: dict[str, Any]) -> list[str]:
    """The argument vector to start, from ``command`` and ``shell``."""
    command = config.get("command")
    use_shell = config.get("shell", False) is True
    if isinstance(command, str):
        if not command.strip():
            raise NodeFailed("the command is empty")
        if use_shell:
            return [_SH, "-c", command]
        raise NodeFailed('a command given as one string needs "shell": true; give a list of '
                         "arguments otherwise")
    if not isinstance(command, list) or not command:
        raise NodeFailed("the command must be a non-empty list of arguments")
    argv = [_scalar_text(a, f"command argument {i + 1}") for i, a in enumerate(command)]
    if use_shell:
        return [_SH, "-c", argv[0], "sh", *argv[1:]]
    return argv


def working_directory(config: dict[str, Any], flow_dir: Path | None) -> Path | None:
    """``cwd`` resolved against the flow's folder; the flow's folder when not given."""
    cwd = config.get("cwd")
    if cwd in (None, ""):
        return flow_dir
    if not isinstance(cwd, str):
        raise NodeFailed("cwd must be a path")
    path = Path(cwd).expanduser()
    if not path.is_absolute() and flow_dir is not None:
        path = flow_dir / path
    if not path.is_dir():
        raise NodeFailed(f"the working directory '{path}' does not exist")
    return path


def node_environment(ctx: NodeContext) -> dict[str, str]:
    """The engine's environment without secrets, plus ``env`` (null unsets), plus FLOWDESK_*."""
    env = child_environment()
    extra = ctx.config.get("env") or {}
    if not isinstance(extra, dict):
        raise NodeFailed("env must be an object of name -> value")
    for name, value in extra.items():
        if value is None:
            env.pop(name, None)
        else:
            env[str(name)] = _scalar_text(value, f"env variable '{name}'")
    env.update(ctx.process_env())
    return env


async def _pump(reader: asyncio.StreamReader | None, sink: StreamText) -> None:
    if reader is None:
        return
    while chunk := await reader.read(_READ_SIZE):
        sink.feed(chunk)
    sink.close()


def _spawn_error(program: str, exc: OSError) -> NodeFailed:
    if isinstance(exc, FileNotFoundError):
        where = "" if os.sep in program else " on PATH"
        return NodeFailed(f"program '{program}' was not found{where}")
    if isinstance(exc, PermissionError):
        return NodeFailed(f"program '{program}' cannot be run: permission denied")
    return NodeFailed(f"program '{program}' could not start: {exc.strerror or exc}")


def _failure_message(code: int, stderr: str) -> str:
    if code < 0:
        import signal

        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        message = f"the command was killed by {name}"
    else:
        message = f"the command exited with code {code}"
    last = next((line.strip() for line in reversed(stderr.splitlines()) if line.strip()), "")
    if last:
        message += f": {last[:200]}"
    return message


async def execute(ctx: NodeContext) -> dict[str, Any]:
    argv = command_argv(ctx.config)
    cwd = working_directory(ctx.config, ctx.flow_dir)
    env = node_environment(ctx)
    guardian.start()
    try:
        proc = await asyncio.create_subprocess_exec(
            *argv, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE, cwd=cwd, env=env, start_new_session=True)
    except OSError as exc:
        raise _spawn_error(argv[0], exc) from None
    guardian.register(proc.pid)  # the group dies with the engine, even on kill -9
    stdout, stderr = StreamText("stdout", ctx.log), StreamText("stderr", ctx.log)
    pumps = asyncio.gather(_pump(proc.stdout, stdout), _pump(proc.stderr, stderr))
    try:
        await pumps
        code = await proc.wait()
    except BaseException:  # cancelled, timed out, or the log callback failed: stop it all
        pumps.cancel()
        await kill_group_async(proc.pid)
        raise
    finally:
        guardian.unregister(proc.pid)
    output = {"exit_code": code, "stdout": stdout.text, "stderr": stderr.text}
    if code != 0:
        raise NodeFailed(_failure_message(code, stderr.text), output=output)
    return output
