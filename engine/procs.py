"""Child processes of node kinds: a clean environment, a process group, a real kill.

``shell`` and ``python`` nodes start programs the user wrote. Each starts in a
new session (so in its own process group) so that a timeout, a cancel or a crash
recovery stops the whole tree, not only the first process: :func:`kill_group`
sends SIGTERM to the group, waits a short grace while members are still alive,
then sends SIGKILL. :func:`child_environment` is the environment such children
get: the engine's own secrets (store URL, signing key, passwords, tokens,
database URLs) are removed, and the node's ``FLOWDESK_*`` variables added.
:data:`guardian` makes sure no registered group outlives the engine process,
even when it is killed with SIGKILL.
"""

from __future__ import annotations

import asyncio
import atexit
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from pathlib import Path

__all__ = ["GRACE_S", "MAX_OUTPUT_CHARS", "ProcessGuardian", "StreamText", "child_environment",
           "group_alive", "guardian", "is_secret_variable", "kill_group", "kill_group_async"]

GRACE_S = 0.5
"""How long a process group gets between SIGTERM and SIGKILL."""

MAX_OUTPUT_CHARS = 1_000_000
"""How much of each stream (stdout, stderr) a node keeps in its output."""

_SECRET_NAME = re.compile(r"PASSWORD|PASSWD|SECRET|TOKEN|API_?KEY|PRIVATE_?KEY|CREDENTIAL",
                          re.IGNORECASE)
_ENGINE_NAMES = {"FLOWDESK_STORE", "FLOWDESK_JWT_SECRET", "DATABASE_URL"}
_DB_URL = re.compile(r"^\s*(postgres|postgresql|mysql|mariadb|sqlite|mssql|oracle|mongodb|"
                     r"mongodb\+srv|redis|rediss|amqp|amqps)(\+[\w.]+)?://", re.IGNORECASE)
_URL_WITH_PASSWORD = re.compile(r"^\s*[a-z][\w+.-]*://[^/@\s:]*:[^/@\s]+@", re.IGNORECASE)


def is_secret_variable(name: str, value: str) -> bool:
    """True for a variable a node's process must not inherit from the engine."""
    return (name.upper() in _ENGINE_NAMES or _SECRET_NAME.search(name) is not None
            or _DB_URL.match(value) is not None or _URL_WITH_PASSWORD.match(value) is not None)


def child_environment(extra: Mapping[str, str] | None = None,
                      base: Mapping[str, str] | None = None) -> dict[str, str]:
    """The engine's environment without its secrets, plus ``extra`` (which wins)."""
    source = os.environ if base is None else base
    env = {k: v for k, v in source.items() if not is_secret_variable(k, v)}
    if extra:
        env.update(extra)
    return env


def _group_members(pgid: int) -> list[int] | None:
    """Live (not zombie) members of process group ``pgid``; None where /proc is absent."""
    proc = Path("/proc")
    if not (proc / "self" / "stat").exists():
        return None
    members = []
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # "pid (comm) state ppid pgrp ...": comm may hold spaces and parentheses.
        fields = stat[stat.rfind(")") + 2:].split()
        if len(fields) > 2 and fields[2] == str(pgid) and fields[0] not in ("Z", "X"):
            members.append(int(entry.name))
    return members


def group_alive(pgid: int) -> bool:
    """Whether any process of group ``pgid`` still runs (zombies do not count)."""
    members = _group_members(pgid)
    if members is not None:
        return bool(members)
    try:
        os.killpg(pgid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    return True


def _signal_group(pgid: int, sig: int) -> bool:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        return False
    return True


def kill_group(pgid: int, grace_s: float = GRACE_S) -> None:
    """SIGTERM the group, wait up to ``grace_s`` while it lives, then SIGKILL it (blocking)."""
    if not _signal_group(pgid, signal.SIGTERM):
        return
    deadline = time.monotonic() + grace_s
    while time.monotonic() < deadline:
        if not group_alive(pgid):
            break
        time.sleep(0.02)
    _signal_group(pgid, signal.SIGKILL)


async def kill_group_async(pgid: int, grace_s: float = GRACE_S) -> None:
    """:func:`kill_group` without blocking the event loop; a second cancel kills at once."""
    if not _signal_group(pgid, signal.SIGTERM):
        return
    try:
        deadline = time.monotonic() + grace_s
        while time.monotonic() < deadline:
            if not group_alive(pgid):
                break
            await asyncio.sleep(0.02)
    finally:
        _signal_group(pgid, signal.SIGKILL)
    deadline = time.monotonic() + 1.0
    while group_alive(pgid) and time.monotonic() < deadline:
        await asyncio.sleep(0.01)


class StreamText:
    """One output stream of a node: split into lines for the live log, kept for the output.

    At most ``limit`` characters are kept (the end of the stream, which usually
    holds the error); every line still goes to the log.
    """

    def __init__(self, stream: str, log: Callable[[str, str], None],
                 limit: int = MAX_OUTPUT_CHARS) -> None:
        self.stream = stream
        self._log = log
        self._limit = limit
        self._parts: deque[str] = deque()
        self._size = 0
        self._dropped = 0
        self._pending = b""

    def feed(self, data: bytes) -> None:
        """Add raw bytes; complete lines go to the log now."""
        data = self._pending + data
        *lines, self._pending = data.split(b"\n")
        for line in lines:
            self.line(line.decode("utf-8", "replace"))

    def line(self, text: str) -> None:
        """Add one complete line (without its line ending)."""
        self._log(self.stream, text)
        self._keep(text + "\n")

    def close(self) -> None:
        """The stream ended: a last line without a line ending still counts."""
        if self._pending:
            text = self._pending.decode("utf-8", "replace")
            self._pending = b""
            self._log(self.stream, text)
            self._keep(text)

    def _keep(self, text: str) -> None:
        self._parts.append(text)
        self._size += len(text)
        while self._size > self._limit and len(self._parts) > 1:
            dropped = self._parts.popleft()
            self._size -= len(dropped)
            self._dropped += len(dropped)

    @property
    def text(self) -> str:
        text = "".join(self._parts)
        if self._dropped:
            return f"[{self._dropped} earlier characters not kept]\n{text}"
        return text


# -- the guardian: process groups do not outlive a crashed engine ----------------------

_GUARDIAN_SOURCE = r"""
import os, signal, sys, time
groups = set()
for line in sys.stdin.buffer:
    sign, _, number = line.strip().partition(b" ")
    if sign == b"+":
        groups.add(int(number))
    elif sign == b"-":
        groups.discard(int(number))
alive = []
for group in groups:
    try:
        os.killpg(group, signal.SIGTERM)
        alive.append(group)
    except OSError:
        pass
if alive:
    time.sleep(float(sys.argv[1]))
    for group in alive:
        try:
            os.killpg(group, signal.SIGKILL)
        except OSError:
            pass
"""


class ProcessGuardian:
    """A tiny helper process that stops the engine's process groups when the engine ends.

    The engine tells it each group it starts (``+ PGID``) and each that finished
    (``- PGID``) over a pipe. When the engine process ends in any way — also
    ``kill -9`` or a crash, where no Python code of ours runs — the kernel
    closes the pipe, and the guardian kills every group still registered
    (SIGTERM, a grace, SIGKILL). Best effort: if it cannot start, nodes still
    run, only without this protection.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._proc: subprocess.Popen[bytes] | None = None
        self._failed = False
        self._inherited: list[subprocess.Popen[bytes]] = []

    def _ensure(self) -> subprocess.Popen[bytes] | None:
        if self._proc is None and not self._failed:
            try:
                self._proc = subprocess.Popen(
                    [sys.executable, "-I", "-S", "-c", _GUARDIAN_SOURCE, str(GRACE_S)],
                    stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL, env=child_environment(),
                    start_new_session=True)
            except OSError:
                self._failed = True
        return self._proc

    def _send(self, line: bytes) -> None:
        with self._lock:
            proc = self._ensure()
            if proc is None or proc.stdin is None:
                return
            try:
                proc.stdin.write(line)
                proc.stdin.flush()
            except (OSError, ValueError):
                self._failed, self._proc = True, None

    def start(self) -> None:
        """Start the guardian now (before spawning), so registering is one pipe write."""
        with self._lock:
            self._ensure()

    def register(self, pgid: int) -> None:
        self._send(b"+ %d\n" % pgid)

    def unregister(self, pgid: int) -> None:
        with self._lock:
            if self._proc is None:
                return
        self._send(b"- %d\n" % pgid)

    def close(self) -> None:
        """Stop the guardian (it kills what is still registered) and reap it."""
        with self._lock:
            proc, self._proc = self._proc, None
        if proc is None:
            return
        try:
            if proc.stdin is not None:
                proc.stdin.close()
            proc.wait(timeout=GRACE_S + 2)
        except (OSError, subprocess.TimeoutExpired):
            pass

    def forget(self) -> None:
        """In a forked child: drop the parent's guardian (closing only our copy of the pipe)."""
        self._lock = threading.Lock()
        proc, self._proc = self._proc, None
        if proc is not None:
            self._inherited.append(proc)  # never collected: its __del__ is the parent's business
            try:
                if proc.stdin is not None:
                    proc.stdin.close()
            except OSError:
                pass


guardian = ProcessGuardian()
atexit.register(guardian.close)
os.register_at_fork(after_in_child=guardian.forget)
