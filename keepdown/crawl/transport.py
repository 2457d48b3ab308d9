"""An httpx transport whose every TCP connection passes the SSRF guard after DNS resolution.

httpx resolves names inside httpcore's network backend, at connect time. This module replaces
that backend, so the check happens at the only moment that matters:

1. resolve the host name (the injected :class:`Resolver`; the system resolver by default);
2. ask the :class:`~keepdown.crawl.ssrf.AddressGuard` about every address returned;
3. connect to the first vetted address *by number*, so no second lookup can return something
   else (DNS rebinding); if no address passes, raise :class:`BlockedAddress` without ever
   opening a socket.

TLS still verifies the certificate against the host name, because httpcore passes the name
(not the address) as ``server_hostname``. Proxies from the environment are never used: a proxy
would connect on the crawler's behalf and bypass the guard.

Each connection is wrapped in :class:`_VettedStream`, which knows the address it was opened to
and its socket, and answers ``server_addr`` (the sighting's server IP) and ``is_readable``
(httpcore's check of every pooled connection before each request) from them: through anyio,
each answer rebuilt a dictionary of socket attributes, a few percent of the CPU per image.
"""

from __future__ import annotations

import select
import socket
import ssl
from collections.abc import AsyncIterator, Iterable
from typing import Any, Protocol

import anyio
import httpcore
import httpx

from keepdown.crawl.ssrf import AddressGuard, parse_ip
from keepdown.errors import BlockedAddress, FetchError

__all__ = ["GuardedBackend", "GuardedTransport", "Resolver", "StaticResolver", "SystemResolver"]


class Resolver(Protocol):
    """Turns a host name into IP addresses (strings), best first."""

    async def resolve(self, host: str, port: int) -> list[str]: ...


class SystemResolver:
    """The operating system's resolver (getaddrinfo), run off the event loop."""

    async def resolve(self, host: str, port: int) -> list[str]:
        try:
            infos = await anyio.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except OSError as exc:
            raise FetchError(
                f"cannot resolve host {host!r}: {exc}", host=host, reason="dns"
            ) from exc
        seen: dict[str, None] = {}
        for _family, _type, _proto, _canon, sockaddr in infos:
            seen.setdefault(str(sockaddr[0]), None)
        return list(seen)


class StaticResolver:
    """A fixed name -> addresses table (tests map made-up names to loopback); IPs pass through."""

    def __init__(self, table: dict[str, list[str]]) -> None:
        self.table = {name.lower(): list(addrs) for name, addrs in table.items()}
        self.lookups: list[str] = []

    async def resolve(self, host: str, port: int) -> list[str]:
        self.lookups.append(host)
        if parse_ip(host) is not None:
            return [host]
        try:
            return list(self.table[host.lower()])
        except KeyError:
            raise FetchError(f"cannot resolve host {host!r}", host=host, reason="dns") from None


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """httpcore network backend: resolve, vet every address, connect by number."""

    def __init__(self, guard: AddressGuard, resolver: Resolver | None = None) -> None:
        self.guard = guard
        self.resolver = resolver or SystemResolver()
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        literal = parse_ip(host)
        if literal is not None:
            addresses = [str(literal)]
        else:
            try:
                with anyio.fail_after(timeout):
                    addresses = await self.resolver.resolve(host, port)
            except TimeoutError as exc:
                # As httpcore's own timeout, so the fetcher retries it like any slow connect.
                raise httpcore.ConnectTimeout(f"resolving {host} timed out") from exc
        if not addresses:
            raise FetchError(f"host {host!r} resolved to no address", host=host, reason="dns")
        vetted = [a for a in addresses if self.guard.is_allowed(a)]
        if not vetted:
            raise self.guard.refusal(addresses[0], host=host)
        last_error: Exception | None = None
        for address in vetted:
            try:
                stream = await self._inner.connect_tcp(
                    address, port, timeout, local_address, socket_options
                )
                return _VettedStream(stream, (address, port), stream.get_extra_info("socket"))
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                last_error = exc
        assert last_error is not None
        raise last_error

    async def connect_unix_socket(self, *args: Any, **kwargs: Any) -> httpcore.AsyncNetworkStream:
        raise BlockedAddress("the crawler never connects to unix sockets")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


def _readable(sock: socket.socket | None) -> bool:
    """Whether a read would return at once (data, or the end of a closed connection)."""
    fd = -1 if sock is None else sock.fileno()
    if fd < 0:
        return True
    poller = select.poll()
    poller.register(fd, select.POLLIN)
    return bool(poller.poll(0))


class _VettedStream(httpcore.AsyncNetworkStream):
    """A connection to a vetted address (module docstring); everything else is delegated."""

    def __init__(
        self, inner: httpcore.AsyncNetworkStream, peer: tuple[str, int], sock: Any
    ) -> None:
        self._inner = inner
        self._peer = peer
        self._sock = sock

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return await self._inner.read(max_bytes, timeout)

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        await self._inner.write(buffer, timeout)

    async def aclose(self) -> None:
        await self._inner.aclose()

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.AsyncNetworkStream:
        tls = await self._inner.start_tls(ssl_context, server_hostname, timeout)
        return _VettedStream(tls, self._peer, self._sock)

    def get_extra_info(self, info: str) -> Any:
        if info == "server_addr":
            return self._peer
        if info == "is_readable":
            return _readable(self._sock)
        return self._inner.get_extra_info(info)


class _ResponseStream(httpx.AsyncByteStream):
    def __init__(self, stream: Any) -> None:
        self._stream = stream

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self._stream:
            yield chunk

    async def aclose(self) -> None:
        if hasattr(self._stream, "aclose"):
            await self._stream.aclose()


_ERRORS: tuple[tuple[type[Exception], type[httpx.RequestError]], ...] = (
    (httpcore.ConnectTimeout, httpx.ConnectTimeout),
    (httpcore.ReadTimeout, httpx.ReadTimeout),
    (httpcore.WriteTimeout, httpx.WriteTimeout),
    (httpcore.PoolTimeout, httpx.PoolTimeout),
    (httpcore.ConnectError, httpx.ConnectError),
    (httpcore.ReadError, httpx.ReadError),
    (httpcore.WriteError, httpx.WriteError),
    (httpcore.RemoteProtocolError, httpx.RemoteProtocolError),
    (httpcore.LocalProtocolError, httpx.LocalProtocolError),
    (httpcore.ProtocolError, httpx.ProtocolError),
    (httpcore.NetworkError, httpx.NetworkError),
    (httpcore.TimeoutException, httpx.TimeoutException),
)


class GuardedTransport(httpx.AsyncBaseTransport):
    """An httpx transport (HTTP/1.1 and HTTP/2) over the :class:`GuardedBackend`."""

    def __init__(
        self,
        guard: AddressGuard,
        *,
        resolver: Resolver | None = None,
        http2: bool = True,
        max_connections: int = 100,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.backend = GuardedBackend(guard, resolver)
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=ssl_context or httpx.create_ssl_context(),
            max_connections=max_connections,
            max_keepalive_connections=max_connections // 5 or 1,
            http1=True,
            http2=http2,
            network_backend=self.backend,
        )

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        core_request = httpcore.Request(
            method=request.method,
            url=httpcore.URL(
                scheme=request.url.raw_scheme,
                host=request.url.raw_host,
                port=request.url.port,
                target=request.url.raw_path,
            ),
            headers=request.headers.raw,
            content=request.stream,
            extensions=request.extensions,
        )
        try:
            response = await self._pool.handle_async_request(core_request)
        except httpcore.UnsupportedProtocol as exc:
            raise httpx.UnsupportedProtocol(str(exc), request=request) from exc
        except Exception as exc:
            for core_cls, httpx_cls in _ERRORS:
                if isinstance(exc, core_cls):
                    raise httpx_cls(str(exc) or type(exc).__name__, request=request) from exc
            raise
        return httpx.Response(
            status_code=response.status,
            headers=response.headers,
            stream=_ResponseStream(response.stream),
            extensions=response.extensions,
        )

    async def aclose(self) -> None:
        await self._pool.aclose()
