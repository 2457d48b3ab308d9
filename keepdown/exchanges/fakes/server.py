"""The loopback HTTP server under every fake exchange, and the faults it can be told to make.

A fake exchange (:mod:`~keepdown.exchanges.fakes.ncmec`, ``stopncii``, ``threatexchange``)
answers the documented shapes of a real one from data a test puts in it. This module serves
it on ``127.0.0.1`` (an ephemeral port, a thread per connection) and plays faults a test
schedules by request number or asks for on every page:

- ``429`` or ``503`` with a ``Retry-After`` (``retry_after`` seconds);
- ``truncate``: the body cut in half (a 200 whose JSON or XML ends mid-record);
- ``garbage``: a 200 whose body is not the format at all;
- ``drop``: the connection closed without an answer;
- ``expire``: every cursor forgotten before answering (an expired ``next``);
- a hook called before each answer (``on_request``, with the data request's number, 0 for
  other requests), after the fake acted on the request: tests kill a worker process there,
  so the kill lands at an exact point (a page asked for, a vote recorded but not answered).

Only data requests count (the entries, hashes or updates of a fetch); feedback and status
requests are counted apart.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

__all__ = ["FakeServer", "Reply", "Request"]

FAULTS = frozenset({"429", "503", "truncate", "garbage", "drop", "expire"})


@dataclass(frozen=True)
class Request:
    """One request as a fake sees it."""

    method: str
    path: str
    query: Mapping[str, str]
    headers: Mapping[str, str]
    body: bytes


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)
    data: bool = False  # a data request (counted, and subject to scheduled faults)


class FakeServer:
    """A loopback server for one fake exchange (module docstring)."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.faults: dict[int, str] = {}  # data request number (1-based) -> fault
        self.every_page: str | None = None  # a fault on every data request
        self.retry_after = 1
        self.data_requests = 0
        self.requests: list[tuple[str, str]] = []
        self.on_request: Callable[[int, Request], None] | None = None
        self._server = _QuietServer(("127.0.0.1", 0), _handler(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> FakeServer:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def schedule(self, faults: Mapping[int, str]) -> None:
        """Faults by data request number (counting from the next one, 1-based)."""
        unknown = set(faults.values()) - FAULTS
        if unknown:
            raise ValueError(f"unknown faults {unknown}")
        with self.lock:
            self.faults = {self.data_requests + n: f for n, f in faults.items()}

    # --- what a fake fills in --------------------------------------------------------------

    def answer(self, request: Request) -> Reply:
        raise NotImplementedError

    def expire_cursors(self) -> None:
        """Forget every cursor handed out (the next one used is refused)."""
        raise NotImplementedError

    # --- serving ------------------------------------------------------------------------------

    def serve(self, request: Request) -> Reply | None:
        """The reply to ``request`` with any due fault applied; None drops the connection."""
        with self.lock:
            self.requests.append((request.method, request.path))
            reply = self.answer(request)
            number, fault = 0, None
            if reply.data:
                self.data_requests += 1
                number = self.data_requests
                fault = self.faults.pop(number, None) or self.every_page
        if self.on_request is not None:
            self.on_request(number, request)  # after the fake acted on it, before it answers
        return self._faulty(reply, fault)

    def _faulty(self, reply: Reply, fault: str | None) -> Reply | None:
        if fault is None:
            return reply
        if fault in ("429", "503"):
            return Reply(int(fault), b"busy", "text/plain", {"Retry-After": str(self.retry_after)})
        if fault == "truncate":
            return Reply(200, reply.body[: max(1, len(reply.body) // 2)], reply.content_type)
        if fault == "garbage":
            return Reply(200, b"<html>Service Unavailable</html>", reply.content_type)
        if fault == "expire":
            self.expire_cursors()
            return reply
        return None  # drop


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client killed mid-answer (the kill tests) is expected; nothing to print."""


def _handler(fake: FakeServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # quiet
            pass

        def _do(self) -> None:
            parts = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            query = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
            request = Request(self.command, parts.path, query, dict(self.headers), body)
            reply = fake.serve(request)
            if reply is None:
                self.close_connection = True
                self.connection.close()
                return
            self.send_response(reply.status)
            self.send_header("Content-Type", reply.content_type)
            self.send_header("Content-Length", str(len(reply.body)))
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(reply.body)

        def do_GET(self) -> None:
            self._do()

        def do_POST(self) -> None:
            self._do()

        def do_PUT(self) -> None:
            self._do()

    return Handler
