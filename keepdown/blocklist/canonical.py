"""URLs in the canonical form of browsers' safe-browsing lists, and their host/path expressions.

The rules are Google Safe Browsing's published ones ("URLs and Hashing", Safe Browsing API
v4), so a vendor's client that already canonicalises for safe browsing gets the same string
keepdown hashed. :func:`canonicalise`:

1. strip surrounding whitespace; remove tab, CR and LF anywhere; drop the fragment;
2. add ``http://`` when there is no scheme;
3. percent-unescape the URL repeatedly until nothing changes;
4. host: drop the port, leading and trailing dots, collapse runs of dots, lowercase; an IP
   address written in decimal, octal, hexadecimal or with fewer than four parts becomes four
   dotted decimals;
5. path: resolve ``/./`` and ``/../``, collapse runs of slashes (an empty path is ``/``); the
   query is kept as it is;
6. percent-escape every byte <= 0x20, >= 0x7F, ``#`` and ``%`` (uppercase hex).

:func:`expressions` gives the host-suffix / path-prefix expressions a client looks up for a
URL (at most 5 hosts x 6 paths), most specific first; a listed URL is hashed as its most
specific expression and a listed domain as ``domain/``.

The test table of the published rules is ``tests/blocklist/test_canonical.py``.
"""

from __future__ import annotations

import re
import socket
import struct
from dataclasses import dataclass
from urllib.parse import unquote_to_bytes

from keepdown.errors import InvalidInput

__all__ = [
    "CanonicalUrl",
    "canonical_host",
    "canonicalise",
    "expressions",
    "parse_canonical",
    "split_canonical",
]

_SCHEME = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.-]*)://")
_ESCAPE = re.compile(r"%[0-9A-Fa-f]{2}")


@dataclass(frozen=True)
class CanonicalUrl:
    """A canonical URL's parts: ``host``, ``path`` (from its ``/``) and ``query`` (None when
    the URL has no ``?``, else what follows it, possibly empty)."""

    scheme: str
    host: str
    path: str
    query: str | None

    @property
    def url(self) -> str:
        return f"{self.scheme}://{self.expression}"

    @property
    def expression(self) -> str:
        """``host/path?query``: the most specific expression (what a listed URL hashes as)."""
        tail = "" if self.query is None else f"?{self.query}"
        return f"{self.host}{self.path}{tail}"


def _unescape_fully(raw: bytes) -> bytes:
    """Percent-unescape until nothing changes (``%2525`` -> ``%25`` -> ``%``)."""
    while True:
        text = raw.decode("latin-1")
        if not _ESCAPE.search(text):
            return raw
        decoded = unquote_to_bytes(text)
        if decoded == raw:
            return raw
        raw = decoded


def _escape(raw: bytes) -> str:
    """Escape bytes <= 0x20, >= 0x7F, ``#`` and ``%``; keep every other byte."""
    out = []
    for byte in raw:
        if byte <= 0x20 or byte >= 0x7F or byte in (0x23, 0x25):
            out.append(f"%{byte:02X}")
        else:
            out.append(chr(byte))
    return "".join(out)


def _ip_address(host: str) -> str | None:
    """Four dotted decimals when ``host`` is an IPv4 address in any form ``inet_aton`` reads
    (decimal, octal, hex, fewer parts), else None."""
    if not host or not re.fullmatch(r"[0-9a-fA-FxX.]+", host) or not host[-1:].isalnum():
        return None
    parts = host.split(".")
    if len(parts) > 4 or not all(re.fullmatch(r"0[xX][0-9a-fA-F]*|[0-9]+", p) for p in parts):
        return None
    try:
        return socket.inet_ntoa(socket.inet_aton(host))
    except OSError:
        # inet_aton refuses a last part above 32 bits in some libcs; do it by hand.
        try:
            values = [int(p, 0) if not p.startswith("0") or p == "0" else int(p, 8) for p in parts]
        except ValueError:
            return None
        number = values[-1]
        if number >= 1 << (8 * (5 - len(parts))):
            return None
        for i, value in enumerate(values[:-1]):
            number |= value << (8 * (3 - i))
        return socket.inet_ntoa(struct.pack("!I", number & 0xFFFFFFFF))


def canonical_host(raw: bytes) -> str:
    """Step 4 on an already unescaped host (bytes): no port, dots, case, IP form."""
    host = raw.split(b"@")[-1]
    if host.startswith(b"["):
        host = host.split(b"]")[0] + b"]"
    elif b":" in host:
        host = host.rsplit(b":", 1)[0]
    host = re.sub(rb"\.{2,}", b".", host.strip(b".")).lower()
    text = host.decode("latin-1")
    ip = _ip_address(text)
    return ip if ip is not None else _escape(host)


def _canonical_path(raw: bytes) -> bytes:
    segments: list[bytes] = []
    for segment in raw.split(b"/"):
        if segment in (b"", b"."):
            continue
        if segment == b"..":
            if segments:
                segments.pop()
            continue
        segments.append(segment)
    path = b"/" + b"/".join(segments)
    if raw.endswith((b"/", b"/.", b"/..")) and path != b"/":
        path += b"/"
    return path


def canonicalise(url: str) -> str:
    """The canonical form of ``url`` (module docstring); InvalidInput for an empty host."""
    return parse_canonical(url).url


def parse_canonical(url: str) -> CanonicalUrl:
    """The canonical URL's parts (:class:`CanonicalUrl`)."""
    text = re.sub(r"[\t\r\n]", "", url.strip())
    text = text.split("#", 1)[0]
    match = _SCHEME.match(text)
    scheme = match.group(1).lower() if match else "http"
    rest = text[match.end() :] if match else text
    raw = _unescape_fully(rest.encode("utf-8", "surrogateescape"))
    # Fragments may also appear once unescaped ("%23" is kept escaped: it is data by now).
    slash = raw.find(b"/")
    question = raw.find(b"?")
    cut = min(i for i in (slash, question, len(raw)) if i >= 0)
    host = canonical_host(raw[:cut])
    if not host:
        raise InvalidInput(f"no host in URL {url!r}")
    tail = raw[cut:]
    path_part, sep, query_part = tail.partition(b"?")
    path = _escape(_canonical_path(path_part))
    query = _escape(query_part) if sep else None
    return CanonicalUrl(scheme=scheme, host=host, path=path, query=query)


def split_canonical(url: str) -> CanonicalUrl:
    """The parts of a URL already in canonical form (as the list stores them), by plain
    string splitting: what :func:`parse_canonical` would give, hundreds of times faster."""
    scheme, _, rest = url.partition("://")
    slash = rest.find("/")
    host, tail = (rest, "/") if slash < 0 else (rest[:slash], rest[slash:])
    path, sep, query = tail.partition("?")
    return CanonicalUrl(scheme=scheme, host=host, path=path, query=query if sep else None)


def _host_suffixes(host: str) -> list[str]:
    if re.fullmatch(r"\d+\.\d+\.\d+\.\d+", host) or host.startswith("["):
        return [host]
    parts = host.split(".")
    hosts = [host]
    # The last five components, then drop leading ones; never the top-level domain alone.
    tail = parts[-5:]
    start = 0 if len(parts) > 5 else 1
    for i in range(start, len(tail) - 1):
        suffix = ".".join(tail[i:])
        if suffix not in hosts:
            hosts.append(suffix)
    return hosts[:5]


def _path_prefixes(path: str, query: str | None) -> list[str]:
    paths = []
    if query is not None:
        paths.append(f"{path}?{query}")
    paths.append(path)
    components = path.split("/")[1:-1]  # the directories before the last component
    prefixes = ["/"]
    for i in range(min(len(components), 3)):
        prefixes.append("/" + "/".join(components[: i + 1]) + "/")
    for prefix in prefixes:
        if prefix not in paths:
            paths.append(prefix)
    return paths[:6]


def expressions(url: str) -> list[str]:
    """The host-suffix/path-prefix expressions a client looks up for ``url``, most specific
    first (at most 30)."""
    canon = parse_canonical(url)
    paths = _path_prefixes(canon.path, canon.query)
    return [f"{host}{path}" for host in _host_suffixes(canon.host) for path in paths]
