"""The loopback HTTP server under each stub: a thread per connection, on 127.0.0.1 only."""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

__all__ = ["Answer", "Incoming", "LoopbackServer"]


@dataclass(frozen=True)
class Incoming:
    """One request as a stub sees it."""

    method: str
    path: str
    headers: Mapping[str, str]
    body: bytes


@dataclass
class Answer:
    status: int = 200
    body: bytes = b""
    content_type: str = "text/xml"
    headers: dict[str, str] = field(default_factory=dict)
    drop: bool = False  # close the connection without answering


class _Quiet(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        """A client that hung up is not worth a traceback."""


class LoopbackServer:
    """Serves ``handle`` on an ephemeral loopback port until :meth:`close`."""

    max_body = 64 * 1024 * 1024

    def __init__(self, handle: Callable[[Incoming], Answer]) -> None:
        self._server = _Quiet(("127.0.0.1", 0), _handler(handle, self.max_body))
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def _handler(handle: Callable[[Incoming], Answer], max_body: int) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:
            """Quiet: tests read the stub's own record of calls."""

        def _serve(self) -> None:
            if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                body = self._chunked()
            else:
                length = int(self.headers.get("Content-Length") or 0)
                if length > max_body:
                    self.send_error(413)
                    return
                body = self.rfile.read(length) if length else b""
            answer = handle(Incoming(self.command, self.path, dict(self.headers), body))
            if answer.drop:
                self.close_connection = True
                self.connection.close()
                return
            self.send_response(answer.status)
            self.send_header("Content-Type", answer.content_type)
            self.send_header("Content-Length", str(len(answer.body)))
            for name, value in answer.headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(answer.body)

        def _chunked(self) -> bytes:
            parts: list[bytes] = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    return b"".join(parts)
                parts.append(self.rfile.read(size))
                self.rfile.readline()

        def do_GET(self) -> None:
            self._serve()

        def do_POST(self) -> None:
            self._serve()

    return Handler
