"""Why a URL could not be fetched, in classes a person can read and a program can count.

Every URL the crawler gives up on, or puts back for later, keeps its error text
(``last_error``) and its class (``failure``), one of :data:`FAILURES`. The reported URL's
outcome, ``keepdown crawl``'s summary, ``keepdown crawl status``, the API and the web pages all
read the class, so "unreachable: the host name does not resolve" means the same everywhere.

Classes are decided where the error is raised when it is known there (``FetchError(...,
reason="dns")``: the resolver, the robots.txt fetcher, the fetcher's deadline), and otherwise
from the exception (:func:`failure_of`, :func:`transport_failure`).
"""

from __future__ import annotations

import errno
import ssl

import httpx

from keepdown.errors import BlockedAddress, InvalidInput, KeepdownError, RobotsDisallowed

__all__ = ["FAILURES", "UNREACHABLE", "describe", "failure_of", "transport_failure"]

#: Each class and what it means, as a person reads it.
FAILURES: dict[str, str] = {
    "dns": "the host name does not resolve",
    "refused": "the server refused the connection",
    "timeout": "the server did not answer in time",
    "tls": "the secure connection failed (certificate or TLS)",
    "network": "the connection failed",
    "blocked": "the address is one keepdown never connects to (private, loopback, reserved)",
    "robots": "the site's robots.txt forbids it",
    "http": "the server answered with an error status",
    "redirects": "too many redirects",
    "invalid": "not a URL keepdown can fetch",
    "too_large": "larger than the crawl's size limit",
    "not_media": "not an image, video or archive after all",
    "worker_died": "the crawler stopped while fetching it, on every attempt",
}

#: The classes that mean "the address could not be read" (the others are about media).
UNREACHABLE = frozenset(FAILURES) - {"too_large", "not_media"}


def describe(failure: str) -> str:
    """What a class means, for a person ("" for no failure, the class itself if unknown)."""
    return FAILURES.get(failure, failure)


def _causes(exc: BaseException) -> list[BaseException]:
    """The exception and what caused it, outermost first (a bounded walk)."""
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and len(chain) < 10:
        chain.append(current)
        current = current.__cause__ or current.__context__
    return chain


def transport_failure(exc: BaseException) -> str:
    """The class of a network error raised while connecting or reading."""
    chain = _causes(exc)
    if any(isinstance(e, ssl.SSLError) for e in chain):
        return "tls"
    if isinstance(exc, httpx.TimeoutException):
        return "dns" if str(exc).startswith("resolving ") else "timeout"
    if any(isinstance(e, ConnectionRefusedError) for e in chain) or any(
        isinstance(e, OSError) and e.errno == errno.ECONNREFUSED for e in chain
    ):
        return "refused"
    if any("refused" in str(e).lower() for e in chain):
        return "refused"
    return "network"


def failure_of(exc: BaseException) -> str:
    """The class of any error the crawler settles a URL with."""
    if isinstance(exc, BlockedAddress):
        return "blocked"
    if isinstance(exc, RobotsDisallowed):
        return "robots"
    if isinstance(exc, KeepdownError):
        reason = exc.details.get("reason")
        if isinstance(reason, str) and reason in FAILURES:
            return reason
        return "invalid" if isinstance(exc, InvalidInput) else "network"
    if isinstance(exc, httpx.TransportError):
        return transport_failure(exc)
    return "network"
