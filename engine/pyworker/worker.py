"""The engine's handle on one warm worker process (the other side is ``child.py``).

A worker is started from a clean interpreter (``python -I``, never forked from
the engine) in its own session, with the engine's secrets removed from its
environment. Requests go down one pipe and answers come back on another, as
length-prefixed JSON; the child's stdout and stderr are separate pipes read line
by line, so print() output and the output of programs the code starts reach the
node's live log. Three daemon threads read those pipes, so one worker can serve
coroutines of any event loop (the executor may run runs in several threads).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import itertools
import json
import os
import struct
import subprocess
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.procs import StreamText, child_environment, kill_group

__all__ = ["CHILD_SCRIPT", "Outcome", "Worker", "WorkerDied"]

CHILD_SCRIPT = Path(__file__).with_name("child.py")
_HEADER = struct.Struct(">I")
_ids = itertools.count(1)


class WorkerDied(RuntimeError):
    """The worker process ended while running code (it crashed or called os._exit)."""


@dataclass(frozen=True)
class Outcome:
    """What one execution gave: the result or the error, and the output of both streams."""

    ok: bool
    result: Any
    error: str | None
    stdout: str
    stderr: str
    worker_pid: int


Log = Callable[[str, str], None]


class _Job:
    """One execution in flight: where its lines go and when it is complete."""

    def __init__(self, job_id: int, loop: asyncio.AbstractEventLoop, log: Log) -> None:
        self.id = job_id
        self.marker = f"\x1eflowdesk-end-{job_id}\x1e".encode()
        self.future: concurrent.futures.Future[dict[str, Any]] = concurrent.futures.Future()
        self.lock = threading.Lock()
        self.reply: dict[str, Any] | None = None
        self.ended: set[str] = set()

        def threadsafe_log(stream: str, text: str) -> None:
            try:
                loop.call_soon_threadsafe(log, stream, text)
            except RuntimeError:  # the loop is closed: nobody listens any more
                pass

        self.streams = {name: StreamText(name, threadsafe_log) for name in ("stdout", "stderr")}

    def _finish_if_complete(self) -> None:
        if self.reply is not None and len(self.ended) == 2 and not self.future.done():
            try:
                self.future.set_result(self.reply)
            except concurrent.futures.InvalidStateError:  # cancelled meanwhile
                pass

    def stream_ended(self, stream: str) -> None:
        with self.lock:
            self.ended.add(stream)
            self._finish_if_complete()

    def answered(self, reply: dict[str, Any]) -> None:
        with self.lock:
            self.reply = reply
            self._finish_if_complete()

    def fail(self, exc: BaseException) -> None:
        with self.lock:
            if not self.future.done():
                try:
                    self.future.set_exception(exc)
                except concurrent.futures.InvalidStateError:
                    pass


class Worker:
    """One warm Python process that runs node code, one execution at a time."""

    def __init__(self, cwd: str | None = None) -> None:
        child_in, self._request_fd = os.pipe()
        self._reply_fd, child_out = os.pipe()
        try:
            self.proc = subprocess.Popen(
                [sys.executable, "-I", str(CHILD_SCRIPT), str(child_in), str(child_out)],
                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                pass_fds=(child_in, child_out), env=child_environment(), cwd=cwd,
                start_new_session=True)
        except BaseException:
            for fd in (self._request_fd, self._reply_fd):
                os.close(fd)
            raise
        finally:
            os.close(child_in)
            os.close(child_out)
        self.pid = self.proc.pid
        self._job: _Job | None = None
        self._write_lock = threading.Lock()
        self._dead = threading.Event()
        self._readers = [
            threading.Thread(target=self._read_stream, args=("stdout", self.proc.stdout),
                             name=f"pyworker-{self.pid}-stdout", daemon=True),
            threading.Thread(target=self._read_stream, args=("stderr", self.proc.stderr),
                             name=f"pyworker-{self.pid}-stderr", daemon=True),
        ]
        for t in self._readers:
            t.start()
        threading.Thread(target=self._read_replies, name=f"pyworker-{self.pid}-replies",
                         daemon=True).start()

    @property
    def alive(self) -> bool:
        return not self._dead.is_set() and self.proc.poll() is None

    # -- running code -------------------------------------------------------------------

    async def execute(self, request: dict[str, Any], log: Log) -> Outcome:
        """Run ``request`` (code, filename, scope, env, cwd); cancelling it is the caller's
        business (see :class:`engine.pyworker.pool.WorkerPool`, which kills the worker)."""
        job = _Job(next(_ids), asyncio.get_running_loop(), log)
        body = json.dumps({**request, "id": job.id}, default=str).encode()
        if not self.alive:
            raise WorkerDied("the Python worker is not running")
        self._job = job
        try:
            with self._write_lock:
                os.write(self._request_fd, _HEADER.pack(len(body)))
                view = memoryview(body)
                while view:
                    view = view[os.write(self._request_fd, view):]
        except OSError as exc:
            self._job = None
            raise WorkerDied(f"the Python worker stopped taking requests: {exc.strerror}") from None
        try:
            reply = await asyncio.wrap_future(job.future)
        finally:
            self._job = None
        return Outcome(ok=bool(reply.get("ok")), result=reply.get("result"),
                       error=reply.get("error"), stdout=job.streams["stdout"].text,
                       stderr=job.streams["stderr"].text, worker_pid=self.pid)

    # -- reader threads -----------------------------------------------------------------

    def _read_stream(self, name: str, pipe: Any) -> None:
        fd = pipe.fileno()
        pending = b""
        while True:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                chunk = b""
            if not chunk:
                break
            *lines, pending = (pending + chunk).split(b"\n")
            for line in lines:
                self._take_line(name, line)
        job = self._job
        if pending and job is not None:
            job.streams[name].line(pending.decode("utf-8", "replace"))
        pipe.close()

    def _take_line(self, name: str, line: bytes) -> None:
        job = self._job
        if job is None:
            return  # output between executions (a thread the code left running)
        if line.endswith(job.marker):
            before = line[: -len(job.marker)]
            if before:  # the code's last line had no line ending
                job.streams[name].line(before.decode("utf-8", "replace"))
            job.stream_ended(name)
        else:
            job.streams[name].line(line.decode("utf-8", "replace"))

    def _read_replies(self) -> None:
        try:
            while True:
                header = self._read_exact(_HEADER.size)
                if header is None:
                    break
                body = self._read_exact(_HEADER.unpack(header)[0])
                if body is None:
                    break
                reply = json.loads(body)
                job = self._job
                if job is not None and reply.get("id") == job.id:
                    job.answered(reply)
        finally:
            self._dead.set()
            os.close(self._reply_fd)
            code = self.proc.wait()  # reap: no zombie is left behind
            for t in self._readers:
                t.join(timeout=1.0)
            job = self._job
            if job is not None:
                how = f"was killed by signal {-code}" if code < 0 else f"exited with code {code}"
                job.fail(WorkerDied(f"the Python worker {how} while running the code"))

    def _read_exact(self, size: int) -> bytes | None:
        chunks = []
        while size:
            try:
                chunk = os.read(self._reply_fd, min(size, 1 << 20))
            except OSError:
                return None
            if not chunk:
                return None
            chunks.append(chunk)
            size -= len(chunk)
        return b"".join(chunks)

    # -- stopping -----------------------------------------------------------------------

    def kill(self) -> None:
        """Stop the worker and everything its code started (blocking, at most a grace)."""
        self._dead.set()
        kill_group(self.pid)
        self._close_requests()
        try:
            self.proc.wait(timeout=1.0)  # reaped here too: at exit the reader may not run
        except subprocess.TimeoutExpired:
            pass

    def close(self, wait_s: float = 1.0) -> None:
        """Ask the worker to exit (end of its request pipe); kill it if it does not."""
        self._close_requests()
        try:
            self.proc.wait(timeout=wait_s)
        except subprocess.TimeoutExpired:
            self.kill()
        self._dead.set()

    def _close_requests(self) -> None:
        with self._write_lock:
            if self._request_fd >= 0:
                os.close(self._request_fd)
                self._request_fd = -1
