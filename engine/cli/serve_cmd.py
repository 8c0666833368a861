"""``flowdesk serve``: the HTTP server (FastAPI on uvicorn) for a store."""

from __future__ import annotations

import argparse
import errno
import os
import socket
from typing import Any

from engine.cli import CliError, add_store_option


def register(sub: Any) -> None:
    p = sub.add_parser("serve", help="serve the HTTP API for remote login and shared runs")
    p.add_argument("--host", default="127.0.0.1",
                   help="address to listen on (default 127.0.0.1; put a TLS proxy in front)")
    p.add_argument("--port", type=int, default=8470, help="port to listen on (default 8470)")
    add_store_option(p)
    p.add_argument("--no-worker", action="store_true",
                   help="only enqueue runs for `flowdesk worker` processes")
    p.add_argument("--worker-threads", type=int, default=8, metavar="N",
                   help="runs the embedded worker executes at once (default 8)")
    p.add_argument("--forwarded-allow-ips", default="", metavar="IPS",
                   help="proxies whose X-Forwarded-For is trusted for the client address "
                        "(comma-separated; default: none)")
    p.add_argument("--max-body", type=int, default=1024 * 1024, metavar="BYTES",
                   help="largest request body accepted (default 1 MiB)")
    p.add_argument("--rotate-key", action="store_true",
                   help="make a new token-signing key current in the store, then exit "
                        "(tokens signed with the old key stay valid until they expire)")
    p.set_defaults(handler=serve_cmd)


def serve_cmd(args: argparse.Namespace) -> int:
    import uvicorn

    from engine.auth.tokens import KeyConfigError
    from engine.server import create_app
    from engine.store import StoreError, describe, resolve_url

    if not 0 < args.port < 65536:
        raise CliError(f"--port must be between 1 and 65535, not {args.port}")
    if args.worker_threads < 1:
        raise CliError("--worker-threads must be at least 1")
    url = resolve_url(args.store)
    if args.rotate_key:
        return rotate_key(url)
    sock = _listen(args.host, args.port)
    try:
        app = create_app(url, worker=not args.no_worker, max_body_bytes=args.max_body,
                         worker_threads=args.worker_threads)
    except (StoreError, KeyConfigError) as exc:
        sock.close()
        raise CliError(str(exc)) from None
    print(f"flowdesk serve: store {describe(url)}, listening on http://{args.host}:{args.port}"
          f" ({'no worker' if args.no_worker else 'embedded worker'})", flush=True)
    config = uvicorn.Config(app, host=args.host, port=args.port, log_level="info",
                            proxy_headers=bool(args.forwarded_allow_ips),
                            forwarded_allow_ips=args.forwarded_allow_ips or None,
                            timeout_graceful_shutdown=5, server_header=False)
    server = uvicorn.Server(config)
    server.run(sockets=[sock])
    return 0 if server.started else 2


def _listen(host: str, port: int) -> socket.socket:
    """Bind the port before anything starts, so a busy port is one sentence, not a log."""
    try:
        family, _, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)[0]
    except socket.gaierror:
        raise CliError(f"cannot listen on {host}:{port}: no such host address") from None
    # The socket must say IPPROTO_TCP: asyncio sets TCP_NODELAY on accepted connections
    # only then, and without it h11's two writes per response wait ~40 ms for an ACK.
    sock = socket.socket(family, socket.SOCK_STREAM, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(2048)
        return sock
    except OSError as exc:
        sock.close()
        reason = (os.strerror(exc.errno) if exc.errno else str(exc)).lower()
        hint = ("; another program is using it: stop it or choose another --port"
                if exc.errno == errno.EADDRINUSE else "")
        raise CliError(f"cannot listen on {host}:{port}: {reason}{hint}") from None


def rotate_key(url: str) -> int:
    import os

    from engine.auth.tokens import rotate_signing_key
    from engine.store import StoreError, open_engine

    if os.environ.get("FLOWDESK_JWT_SECRET"):
        raise CliError("FLOWDESK_JWT_SECRET is set, so the key in the store is not used: "
                       "rotate by changing the secret on every server")
    try:
        engine = open_engine(url)
    except StoreError as exc:
        raise CliError(str(exc)) from None
    kid = rotate_signing_key(engine)
    engine.dispose()
    print(f"the new signing key {kid} is current; servers pick it up within a minute")
    return 0
