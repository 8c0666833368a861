"""``flowdesk serve`` as typed: it answers on its port, and a busy port is one sentence."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]


def _serve(port: int, store: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "engine.cli", "serve", "--port", str(port),
                             "--store", store, "--no-worker"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, cwd=ROOT)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_busy_port_is_one_sentence_and_exit_2(tmp_path: Path) -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        proc = _serve(port, f"sqlite:///{tmp_path / 's.db'}")
        out, err = proc.communicate(timeout=60)
    assert proc.returncode == 2
    assert err == (f"error: cannot listen on 127.0.0.1:{port}: address already in use; "
                   "another program is using it: stop it or choose another --port\n")
    assert "listening" not in out


def test_serve_answers_health_then_stops_on_sigterm(tmp_path: Path) -> None:
    port = _free_port()
    proc = _serve(port, f"sqlite:///{tmp_path / 's.db'}")
    try:
        answer = None
        for _ in range(200):
            try:
                answer = httpx.get(f"http://127.0.0.1:{port}/api/v1/health", timeout=2)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        assert answer is not None and answer.status_code == 200
        assert answer.json()["status"] == "ok"
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
    assert f"listening on http://127.0.0.1:{port}" in out
    assert "Application shutdown complete" in err  # graceful, not killed mid-request


def test_the_listening_socket_is_tcp_so_replies_are_not_held_back() -> None:
    """asyncio sets TCP_NODELAY on accepted connections only for IPPROTO_TCP sockets.

    Without it each keep-alive reply (h11 writes head and body apart) waited for the
    client's delayed ACK, about 40 ms a request.
    """
    import socket

    from engine.cli.serve_cmd import _listen

    sock = _listen("127.0.0.1", 0)
    try:
        assert sock.proto == socket.IPPROTO_TCP
        client = socket.create_connection(sock.getsockname())
        conn, _ = sock.accept()
        assert conn.proto == socket.IPPROTO_TCP
        conn.close()
        client.close()
    finally:
        sock.close()
