"""The worker side: runs ``python`` node code, one request after another.

Started by :mod:`engine.pyworker.worker` as ``python -I child.py IN_FD OUT_FD``
from a clean interpreter (never forked from the engine), so it holds nothing of
the engine: no database session, no connections, no secrets. It imports only
small standard modules, then waits for requests: each is a 4-byte big-endian
length and a JSON object ``{id, code, filename, scope, env, cwd}``. It runs the
code with fresh globals (``inputs``, ``vars``, ``nodes``, ``run``, ``result``),
writes an end marker on stdout and stderr (so the engine knows it has every
line of this execution), and answers ``{id, ok, result}`` or ``{id, ok: false,
error}``. The user's print() goes to the real stdout, so output of programs the
code starts is captured too. When the engine process dies, a watchdog thread
kills the worker's whole process group, so a crashed engine leaves no work
running behind it.

This file must stay importable without the ``engine`` package.
"""

from __future__ import annotations

import builtins
import json
import linecache
import os
import signal
import struct
import sys
import threading
import time
import traceback
from typing import Any

_HEADER = struct.Struct(">I")


class AttrDict(dict):
    """A dict whose keys can also be read as attributes: ``nodes.fetch.output``."""

    __slots__ = ()

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None


def _read_exact(fd: int, size: int) -> bytes | None:
    chunks = []
    while size:
        chunk = os.read(fd, min(size, 1 << 20))
        if not chunk:
            return None
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


def read_frame(fd: int) -> Any:
    header = _read_exact(fd, _HEADER.size)
    if header is None:
        return None
    body = _read_exact(fd, _HEADER.unpack(header)[0])
    if body is None:
        return None
    return json.loads(body, object_hook=AttrDict)


def write_frame(fd: int, message: dict[str, Any]) -> None:
    body = json.dumps(message, allow_nan=False).encode()
    data = _HEADER.pack(len(body)) + body
    while data:
        data = data[os.write(fd, data):]


def _user_traceback(exc: BaseException, filename: str) -> Any:
    """The traceback from the first frame of the user's code on (ours are dropped)."""
    tb = exc.__traceback__
    while tb is not None and tb.tb_frame.f_code.co_filename != filename:
        tb = tb.tb_next
    return tb


def _user_line(tb: Any, filename: str) -> int | None:
    line = None
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == filename:
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:300] if text else ""


def run_code(request: dict[str, Any]) -> dict[str, Any]:
    """Run one request's code; the answer says ok with the result, or the error."""
    filename = request.get("filename") or "<python node>"
    source = request["code"]
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    try:
        code = compile(source, filename, "exec")
    except SyntaxError as exc:
        sys.stderr.write("".join(traceback.format_exception_only(type(exc), exc)))
        where = f" on line {exc.lineno}" if exc.lineno else ""
        return {"ok": False, "error": f"the code has a syntax error{where}: {exc.msg}"}
    except ValueError as exc:  # a NUL character in the source (older Pythons)
        return {"ok": False, "error": f"the code has a syntax error: {_first_line(exc)}"}
    scope = request.get("scope") or {}
    namespace: dict[str, Any] = {
        "__name__": "__flowdesk_node__", "__builtins__": builtins,
        "inputs": scope.get("inputs", AttrDict()), "vars": scope.get("vars", AttrDict()),
        "nodes": scope.get("nodes", AttrDict()), "run": scope.get("run", AttrDict()),
        "result": None,
    }
    try:
        exec(code, namespace)
    except SystemExit as exc:
        if exc.code not in (None, 0):
            return {"ok": False, "error": f"the code called exit({exc.code!r})"}
    except Exception as exc:
        tb = _user_traceback(exc, filename)
        traceback.print_exception(type(exc), exc, tb, file=sys.stderr)
        line = _user_line(exc.__traceback__, filename)
        where = f" on line {line}" if line else ""
        detail = _first_line(exc)
        return {"ok": False, "error": f"the code raised {type(exc).__name__}{where}"
                                      + (f": {detail}" if detail else "")}
    # Whether the result is JSON is found out when the answer is encoded (main).
    return {"ok": True, "result": namespace.get("result")}


class _Baseline:
    """What each execution starts from, whatever the previous one changed."""

    def __init__(self) -> None:
        self.environ = dict(os.environ)
        self.cwd = os.getcwd()
        self.path = list(sys.path)

    def restore(self, env: dict[str, str], cwd: str | None) -> None:
        os.environ.clear()
        os.environ.update(self.environ)
        os.environ.update(env)
        os.chdir(cwd or self.cwd)
        sys.path[:] = self.path
        sys.stdout, sys.stderr, sys.stdin = sys.__stdout__, sys.__stderr__, sys.__stdin__


def _end_streams(request_id: int) -> None:
    """Flush the user's output, then mark the end of this execution on both streams."""
    marker = f"\x1eflowdesk-end-{request_id}\x1e\n".encode()
    for stream, fd in ((sys.__stdout__, 1), (sys.__stderr__, 2)):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
        os.write(fd, marker)


def _stop_with_the_engine(engine_pid: int) -> None:
    """If the engine dies (a crash, kill -9), stop this worker and all the code started."""
    while os.getppid() == engine_pid:
        time.sleep(0.25)
    os.killpg(0, signal.SIGKILL)


def main(argv: list[str]) -> int:
    in_fd, out_fd = int(argv[1]), int(argv[2])
    threading.Thread(target=_stop_with_the_engine, args=(os.getppid(),), daemon=True).start()
    for fd in (in_fd, out_fd):
        os.set_inheritable(fd, False)  # programs the code starts must not hold our pipes
    for stream in (sys.stdout, sys.stderr):
        stream.reconfigure(line_buffering=True, errors="backslashreplace")
    baseline = _Baseline()
    while True:
        request = read_frame(in_fd)
        if request is None:
            return 0
        try:
            baseline.restore(request.get("env") or {}, request.get("cwd"))
            reply = run_code(request)
        except Exception as exc:  # noqa: BLE001 - the worker itself must survive
            reply = {"ok": False, "error": f"the Python worker failed: {_first_line(exc)}"}
        finally:
            sys.stdout, sys.stderr = sys.__stdout__, sys.__stderr__
        _end_streams(request["id"])
        reply["id"] = request["id"]
        try:
            write_frame(out_fd, reply)
        except (TypeError, ValueError) as exc:
            write_frame(out_fd, {"id": request["id"], "ok": False,
                                 "error": f"result is not JSON-serialisable: {_first_line(exc)}"})


if __name__ == "__main__":
    sys.exit(main(sys.argv))
