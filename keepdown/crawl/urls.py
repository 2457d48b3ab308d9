"""URL normalisation and crawl scope.

Two URLs that name the same resource must become the same string, or the frontier fetches it
twice. :func:`normalize_url` lower-cases scheme and host (IDNA-encoded), drops the default port,
the fragment and user info, resolves ``.`` and ``..`` segments, upper-cases percent escapes and
keeps the query as given (its order can carry meaning). Only ``http`` and ``https`` pass.

:class:`CrawlScope` decides which *pages* a crawl follows: the seed's site by default (the
seed host, its ``www.`` twin and its subdomains), a depth limit, and include / exclude regular
expressions.
Media is fetched wherever it is hosted (images often live on a CDN): the SSRF guard and
robots.txt still apply to it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit, urlunsplit

from keepdown.errors import InvalidInput

__all__ = ["CrawlScope", "host_of", "normalize_url", "origin_of", "site_of"]

_DEFAULT_PORTS = {"http": 80, "https": 443}
_ESCAPE = re.compile(r"%[0-9a-fA-F]{2}")
_UNSAFE = re.compile(r"[\x00-\x20\x7f]")


def _remove_dot_segments(path: str) -> str:
    output: list[str] = []
    for segment in path.split("/"):
        if segment == "..":
            if len(output) > 1:
                output.pop()
        elif segment != ".":
            output.append(segment)
    result = "/".join(output)
    if path.endswith(("/.", "/..")):
        result += "/"
    return result if result.startswith("/") else "/" + result


def _quote_unsafe(text: str) -> str:
    text = _UNSAFE.sub(lambda m: f"%{ord(m.group()):02X}", text)
    return _ESCAPE.sub(lambda m: m.group().upper(), text)


def _normal_host(host: str) -> str:
    host = host.strip().rstrip(".").lower()
    if not host:
        raise InvalidInput("URL has no host")
    if host.startswith("["):
        return host
    try:
        return host.encode("idna").decode("ascii")
    except UnicodeError as exc:
        raise InvalidInput(f"URL host {host!r} is not a valid domain name") from exc


def normalize_url(url: str, base: str | None = None) -> str:
    """``url`` (resolved against ``base``) in normal form; :class:`InvalidInput` if unusable."""
    try:
        raw = urljoin(base, url.strip()) if base is not None else url.strip()
        parts = urlsplit(raw)
        port = parts.port
    except ValueError as exc:
        raise InvalidInput(f"not a valid URL: {url[:200]!r}", url=url[:200]) from exc
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS:
        raise InvalidInput(f"only http and https URLs can be crawled, not {url[:200]!r}")
    hostname = parts.hostname or ""
    host = _normal_host(f"[{hostname}]" if ":" in hostname else hostname)
    netloc = host if port in (None, _DEFAULT_PORTS[scheme]) else f"{host}:{port}"
    path = _remove_dot_segments(_quote_unsafe(parts.path or "/"))
    return urlunsplit((scheme, netloc, path, _quote_unsafe(parts.query), ""))


def host_of(url: str) -> str:
    """The host of a URL, without port (``example.org``, ``[::1]``)."""
    host = urlsplit(url).hostname or ""
    return f"[{host}]" if ":" in host else host


def origin_of(url: str) -> str:
    """``scheme://host[:port]`` of a URL: the unit robots.txt and politeness apply to."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def site_of(url: str) -> str:
    """The host without a leading ``www.``: pages on ``www.x.org`` and ``x.org`` are one site."""
    host = host_of(url)
    return host[4:] if host.startswith("www.") else host


@dataclass(frozen=True)
class CrawlScope:
    """Which pages a crawl follows. Media is not limited by site (see the module docstring)."""

    seeds: tuple[str, ...]
    same_site: bool = True
    max_depth: int = 5
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    _sites: frozenset[str] = field(init=False, repr=False, compare=False)
    _include: tuple[re.Pattern[str], ...] = field(init=False, repr=False, compare=False)
    _exclude: tuple[re.Pattern[str], ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "seeds", tuple(normalize_url(s) for s in self.seeds))
        object.__setattr__(self, "_sites", frozenset(site_of(s) for s in self.seeds))
        object.__setattr__(self, "_include", _compile(self.include, "include"))
        object.__setattr__(self, "_exclude", _compile(self.exclude, "exclude"))

    def on_site(self, url: str) -> bool:
        site = site_of(url)
        return any(site == s or site.endswith("." + s) for s in self._sites)

    def follows(self, url: str, depth: int) -> bool:
        """True if a page at ``url`` found at ``depth`` (seeds are depth 0) is in scope."""
        if depth > self.max_depth:
            return False
        if self.same_site and not self.on_site(url):
            return False
        if self._include and not any(p.search(url) for p in self._include):
            return False
        return not any(p.search(url) for p in self._exclude)


def _compile(patterns: Iterable[str], what: str) -> tuple[re.Pattern[str], ...]:
    compiled = []
    for pattern in patterns:
        try:
            compiled.append(re.compile(pattern))
        except re.error as exc:
            raise InvalidInput(
                f"{what} pattern {pattern!r} is not a regular expression: {exc}"
            ) from exc
    return tuple(compiled)
