"""A real Flowdesk server on 127.0.0.1 for tests: uvicorn in a thread on a free port."""

from __future__ import annotations

import socket
import threading
import time
from typing import Any

import httpx
import uvicorn

from engine.auth import users
from engine.server import create_app

PASSWORD = "correct horse battery"


class LiveServer:
    """``create_app(store_url)`` served over a real socket until :meth:`stop`."""

    def __init__(self, store_url: str, **options: Any) -> None:
        self.store_url = store_url
        self.app = create_app(store_url, **options)
        self.state = self.app.state.flowdesk
        self.engine = self.state.engine
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.api = f"{self.url}/api/v1"
        config = uvicorn.Config(self.app, log_level="warning", timeout_graceful_shutdown=2,
                                lifespan="on")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]},
                                       daemon=True)

    def start(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the test server did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=20)
        self.sock.close()

    def add_user(self, name: str, *roles: str, password: str = PASSWORD) -> str:
        users.add_user(self.engine, name, password, list(roles))
        return name

    def client(self, token: str | None = None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(base_url=self.api, headers=headers, timeout=30)

    def login(self, name: str, password: str = PASSWORD) -> dict[str, Any]:
        with self.client() as c:
            r = c.post("/auth/login", json={"username": name, "password": password})
        assert r.status_code == 200, r.text
        return r.json()

    def as_user(self, name: str, password: str = PASSWORD) -> httpx.Client:
        return self.client(self.login(name, password)["access_token"])
