"""A tiny loopback HTTP server with fixed routes that records how it was hit.

For tests that need a few exact answers rather than the generated site: each request is
logged with its Host header, path and start time, and the server tracks how many requests
were in flight at once (``peak``), so politeness tests can measure what a host really saw.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

__all__ = ["Reply", "TinySite"]


@dataclass(frozen=True)
class Reply:
    body: bytes = b""
    content_type: str = "text/html; charset=utf-8"
    status: int = 200
    headers: tuple[tuple[str, str], ...] = ()
    delay: float = 0.0  # seconds before answering (to keep requests in flight)


@dataclass
class TinySite:
    routes: dict[str, Reply]
    log: list[tuple[str, str, float]] = field(default_factory=list)  # host, path, start
    peak: int = 0

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._in_flight = 0
        self._server: ThreadingHTTPServer | None = None

    @property
    def port(self) -> int:
        assert self._server is not None
        return self._server.server_address[1]

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"

    def start(self) -> TinySite:
        self._server = _QuietServer(("127.0.0.1", 0), _handler(self))
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def enter(self, host: str, path: str) -> None:
        with self._lock:
            self.log.append((host, path, time.monotonic()))
            self._in_flight += 1
            self.peak = max(self.peak, self._in_flight)

    def leave(self) -> None:
        with self._lock:
            self._in_flight -= 1


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: object, client_address: object) -> None:
        pass  # a client hanging up early must not print into another test's output


def _handler(site: TinySite) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            host = self.headers.get("Host", "").split(":")[0]
            path = self.path.split("?", 1)[0]
            reply = site.routes.get(path, Reply(b"not found", "text/plain", 404))
            counted = path != "/robots.txt"
            if counted:
                site.enter(host, path)
            try:
                time.sleep(reply.delay)
                self.send_response(reply.status)
                self.send_header("Content-Type", reply.content_type)
                body = reply.body.replace(b"{port}", str(site.port).encode())
                self.send_header("Content-Length", str(len(body)))
                for name, value in reply.headers:
                    self.send_header(name, value.replace("{port}", str(site.port)))
                self.end_headers()
                self.wfile.write(body)
            finally:
                if counted:
                    site.leave()

    return Handler
