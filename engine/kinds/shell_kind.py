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
import signal
import subprocess
import threading
from pathlib import Path
from typing import IO, Any

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


async def _pump(pipe: IO[bytes] | None, sink: StreamText) -> None:
    """Read one of the program's pipes to its end, line by line into ``sink``."""
    if pipe is None:
        return
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    transport, _ = await loop.connect_read_pipe(
        lambda: asyncio.StreamReaderProtocol(reader), pipe)
    try:
        while chunk := await reader.read(_READ_SIZE):
            sink.feed(chunk)
        sink.close()
    finally:
        transport.close()


async def _exit_code(proc: subprocess.Popen[bytes]) -> int:
    """Wait for the program to end without a thread (its pipes are closed by now, so it
    has usually ended already): a pidfd tells the event loop the moment it does."""
    if (code := proc.poll()) is not None:
        return code
    try:
        pidfd = os.pidfd_open(proc.pid)
    except (AttributeError, OSError):  # not Linux 5.3+: poll
        delay = 0.0005
        while (code := proc.poll()) is None:
            await asyncio.sleep(delay)
            delay = min(delay * 2, 0.05)
        return code
    loop = asyncio.get_running_loop()
    ended = loop.create_future()
    loop.add_reader(pidfd, lambda: ended.done() or ended.set_result(None))
    try:
        await ended
    finally:
        loop.remove_reader(pidfd)
        os.close(pidfd)
    return proc.wait()


def _spawn_error(program: str, exc: OSError) -> NodeFailed:
    if isinstance(exc, FileNotFoundError):
        where = "" if os.sep in program else " on PATH"
        return NodeFailed(f"program '{program}' was not found{where}")
    if isinstance(exc, PermissionError):
        return NodeFailed(f"program '{program}' cannot be run: permission denied")
    return NodeFailed(f"program '{program}' could not start: {exc.strerror or exc}")


def _failure_message(code: int, stderr: str) -> str:
    if code < 0:
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


def _start(argv: list[str], cwd: Path | None, env: dict[str, str]) -> subprocess.Popen[bytes]:
    """Start the program in a new process group, registered with the guardian.

    The start is one synchronous call (as inside asyncio's own subprocess
    support), so no cancel can arrive between the program existing and our
    knowing its group; asyncio's cancel handling during a start would kill only
    the first process and then wait for pipes that its children may hold.
    """
    guardian.start()
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, cwd=cwd, env=env, start_new_session=True)
    guardian.register(proc.pid)  # the group dies with the engine, even on kill -9
    return proc


async def _stop(proc: subprocess.Popen[bytes], pumps: asyncio.Future[Any]) -> None:
    """Kill the program's whole group, close its pipes and reap it."""
    pumps.cancel()
    await kill_group_async(proc.pid)
    await asyncio.wait([pumps], timeout=1.0)  # the readers close their pipes' transports
    for pipe in (proc.stdout, proc.stderr):  # (a reader cancelled before it began)
        if pipe is not None:
            pipe.close()
    for _ in range(100):
        if proc.poll() is not None:
            return
        await asyncio.sleep(0.01)
    threading.Thread(target=proc.wait, daemon=True).start()  # stuck in the kernel: reap later


async def execute(ctx: NodeContext) -> dict[str, Any]:
    argv = command_argv(ctx.config)
    cwd = working_directory(ctx.config, ctx.flow_dir)
    env = node_environment(ctx)
    try:
        proc = _start(argv, cwd, env)
    except OSError as exc:
        raise _spawn_error(argv[0], exc) from None
    except ValueError as exc:  # a NUL character in an argument, a bad variable name
        raise NodeFailed(f"the command cannot start: {exc}") from None
    stdout, stderr = StreamText("stdout", ctx.log), StreamText("stderr", ctx.log)
    pumps = asyncio.gather(_pump(proc.stdout, stdout), _pump(proc.stderr, stderr))
    try:
        await pumps
        code = await _exit_code(proc)
    except BaseException:  # cancelled, timed out, or the log callback failed: stop it all
        await _stop(proc, pumps)
        raise
    finally:
        guardian.unregister(proc.pid)
    output = {"exit_code": code, "stdout": stdout.text, "stderr": stderr.text}
    if code != 0:
        raise NodeFailed(_failure_message(code, stderr.text), output=output)
    return output
