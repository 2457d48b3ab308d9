"""The one HTTP client every exchange client talks through (httpx), with the exchanges' manners.

1. **Retries that listen.** 429, 500, 502, 503 and 504 answers and dropped connections are
   retried with exponential back-off; a ``Retry-After`` (seconds or an HTTP date) is obeyed
   exactly. A wait longer than ``max_wait`` is not slept through: the request fails with an
   :class:`~keepdown.errors.ExchangeError` carrying ``retry_after``, and the feed's next run
   is scheduled after it instead of holding a worker.
2. **Bounded answers.** A body larger than ``max_bytes`` is cut off and refused, never read
   whole into memory.
3. **No secret in a log.** Requests are logged by method, host and path; query strings (a
   ThreatExchange token travels there) and headers (Basic auth, subscription keys) never.
4. **One error type.** Transport errors and refusals become ``ExchangeError``;
   ``permanent`` is set for answers retrying cannot change (401, 403, 404, 400...).

``sleep`` is injectable, so tests of the back-off run in no time; the waits are recorded.
"""

from __future__ import annotations

import email.utils
import logging
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import httpx

from keepdown.errors import ExchangeError

__all__ = ["ExchangeHttp", "HttpLimits", "Reply", "safe_url"]

log = logging.getLogger("keepdown.exchanges")

#: Answers worth retrying (the exchange is busy or briefly broken).
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


@dataclass(frozen=True)
class HttpLimits:
    """How patient and how trusting a client is."""

    timeout: float = 60.0  # one network operation
    attempts: int = 5  # tries per request, the first included
    backoff: float = 1.0  # first back-off, doubled each retry
    max_wait: float = 120.0  # longest Retry-After slept through; longer fails the run
    max_bytes: int = 256 * 1024 * 1024  # largest answer read
    user_agent: str = "keepdown-exchanges/0.1"


@dataclass(frozen=True)
class Reply:
    """An answer: status, headers and the whole body (within ``max_bytes``)."""

    status: int
    headers: Mapping[str, str]
    body: bytes
    url: str

    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")


_TOKEN = re.compile(r"(access_token|token|key|password|secret)=[^&\s\"']*", re.I)


class _Redact(logging.Filter):
    """httpx logs every request's full URL at INFO; a ThreatExchange token travels in the
    query string, so query values that name a credential are replaced before any handler
    sees the line."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.args:
            record.args = tuple(
                _TOKEN.sub(r"\1=***", str(a)) if "=" in str(a) else a
                for a in (record.args if isinstance(record.args, tuple) else (record.args,))
            )
        record.msg = _TOKEN.sub(r"\1=***", str(record.msg))
        return True


logging.getLogger("httpx").addFilter(_Redact())


def safe_url(url: str) -> str:
    """``url`` without its query string or user info (for logs and error messages)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host += f":{parts.port}"
    return f"{parts.scheme}://{host}{parts.path}"


@dataclass
class ExchangeHttp:
    """A small synchronous client over one ``httpx.Client`` (module docstring)."""

    base_url: str
    limits: HttpLimits = field(default_factory=HttpLimits)
    auth: httpx.Auth | tuple[str, str] | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    sleep: Callable[[float], None] = time.sleep
    transport: httpx.BaseTransport | None = None
    waits: list[float] = field(default_factory=list)  # every back-off slept (for tests, logs)

    def __post_init__(self) -> None:
        self._client = httpx.Client(
            timeout=self.limits.timeout,
            auth=self.auth,
            headers={"User-Agent": self.limits.user_agent, **dict(self.headers)},
            follow_redirects=False,
            transport=self.transport,
        )

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> ExchangeHttp:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def url(self, path: str) -> str:
        """``path`` joined to the base URL (an absolute URL is kept as it is)."""
        if path.startswith(("http://", "https://")):
            return path
        return self.base_url.rstrip("/") + "/" + path.lstrip("/")

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        content: bytes | None = None,
        json: Any = None,
        ok: tuple[int, ...] = (200,),
    ) -> Reply:
        """Send, retrying as the module docstring says; the reply if its status is in ``ok``."""
        url = self.url(path)
        last: ExchangeError | None = None
        for attempt in range(1, self.limits.attempts + 1):
            try:
                reply = self._send(method, url, params, headers, content, json)
            except ExchangeError as exc:
                last = exc  # a dropped connection or a timeout: worth another try
                wait = self.limits.backoff * 2 ** (attempt - 1)
            else:
                if reply.status in ok:
                    return reply
                last = _refusal(method, reply)
                if reply.status not in RETRY_STATUSES:
                    raise last
                wait = _retry_after(reply.headers) or self.limits.backoff * 2 ** (attempt - 1)
                if wait > self.limits.max_wait:
                    last.details["retry_after"] = wait
                    raise last
            if attempt < self.limits.attempts:
                log.info("%s %s: %s; retrying in %.1f s", method, safe_url(url), last.message, wait)
                self.waits.append(wait)
                self.sleep(wait)
        assert last is not None
        raise last

    def _send(
        self,
        method: str,
        url: str,
        params: Mapping[str, Any] | None,
        headers: Mapping[str, str] | None,
        content: bytes | None,
        json: Any,
    ) -> Reply:
        started = time.perf_counter()
        target = httpx.URL(url)
        if params:  # merged into the URL's own query (a cursor URL keeps its parameters)
            target = target.copy_merge_params({k: str(v) for k, v in params.items()})
        try:
            with self._client.stream(
                method, target, headers=headers, content=content, json=json
            ) as response:
                body = self._read(response, url)
        except httpx.HTTPError as exc:
            raise ExchangeError(
                f"{method} {safe_url(url)} failed: {exc.__class__.__name__}", permanent=False
            ) from exc
        log.debug(
            "%s %s -> %d (%d bytes, %.3f s)",
            method,
            safe_url(url),
            response.status_code,
            len(body),
            time.perf_counter() - started,
        )
        return Reply(response.status_code, dict(response.headers), body, url)

    def _read(self, response: httpx.Response, url: str) -> bytes:
        chunks: list[bytes] = []
        total = 0
        for chunk in response.iter_bytes():
            total += len(chunk)
            if total > self.limits.max_bytes:
                raise ExchangeError(
                    f"the answer of {safe_url(url)} is over {self.limits.max_bytes:,} bytes",
                    permanent=True,
                )
            chunks.append(chunk)
        return b"".join(chunks)


def _refusal(method: str, reply: Reply) -> ExchangeError:
    """The error for an answer that is not a success (no body quoted: it may echo secrets)."""
    permanent = reply.status not in RETRY_STATUSES and reply.status != 408
    return ExchangeError(
        f"{method} {safe_url(reply.url)} answered HTTP {reply.status}",
        status=reply.status,
        permanent=permanent,
    )


def _retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds a ``Retry-After`` header asks for (delta-seconds or an HTTP date), or None."""
    raw = next((v for k, v in headers.items() if k.lower() == "retry-after"), None)
    if raw is None:
        return None
    raw = raw.strip()
    if raw.isascii() and raw.isdigit():
        return float(raw)
    try:
        when = email.utils.parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())
