"""Loopback helpers for the federation tests: a keepdown served on 127.0.0.1, and a proxy in
front of it that changes answers (a man in the middle: tampering, replaying)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import uvicorn


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def served(app: Any) -> Iterator[str]:
    """``app`` on a free loopback port for the block; its base URL."""
    # port 0: the system picks a free one when binding (no window for another test to take it)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@contextmanager
def proxy(upstream: str, change: Callable[[bytes, int], bytes]) -> Iterator[str]:
    """A loopback proxy to ``upstream`` whose answers pass through ``change(body, n)`` (``n``:
    the how-many-th GET this is, from 0); its base URL."""
    count = [0]

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            reply = httpx.get(
                upstream + self.path,
                headers={"Authorization": self.headers.get("Authorization", "")},
            )
            body = change(reply.content, count[0])
            count[0] += 1
            self.send_response(reply.status_code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
