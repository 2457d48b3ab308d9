"""The keyed, prefix-based hashed-URL feed: what a vendor holds instead of readable URLs.

A plain hash of a URL is no protection: Germany's MD5 list of blocked URLs was read back in
2014 for more than 99% of its entries by hashing candidate domains and URLs. So:

1. every licensee has its own key, derived from keepdown's master secret and the licensee's
   name (:func:`licensee_key`); without it a hash says nothing, and a leaked list names the
   licensee that leaked it and is void once that key is revoked;
2. each listed entry is one expression (``host/path?query`` for a URL, ``host/`` for a
   domain, :mod:`keepdown.blocklist.canonical`), hashed with HMAC-SHA256 under that key;
3. the feed carries only the first :data:`PREFIX_BYTES` bytes of each hash, sorted;
4. a client hashes the expressions of the URL being visited with its key and, on a prefix
   hit, asks keepdown for the full hashes of that prefix (an authenticated, audited call):
   only a full hash that equals the client's own counts as listed.

The lookup follows safe browsing's expression rules: a listed ``host/`` covers the host and
its subdomains (a whole-domain entry), and a listed expression ending in ``/`` covers the
paths under it; a listed file (``host/dir/file.jpg``) covers that file, with any query when
it was listed without one.

:class:`PrefixFeed` is keepdown's side (build, full hashes of a prefix); :class:`FeedClient`
is the reference client (what a vendor implements), used by the tests and the benchmark.
"""

from __future__ import annotations

import base64
import bisect
import hashlib
import hmac
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from keepdown.blocklist.canonical import expressions
from keepdown.errors import InvalidInput

__all__ = ["PREFIX_BYTES", "FeedClient", "PrefixFeed", "keyed_hash", "licensee_key"]

PREFIX_BYTES = 4
_CONTEXT = b"keepdown-blocklist-licensee\x00"


def licensee_key(master: bytes, licensee: str) -> bytes:
    """The licensee's own 32-byte key (HMAC of its name under the master secret)."""
    if not master:
        raise InvalidInput("the block list's master secret is empty")
    return hmac.digest(master, _CONTEXT + licensee.encode("utf-8"), "sha256")


def keyed_hash(key: bytes, expression: str) -> bytes:
    """HMAC-SHA256 of one expression under one licensee's key."""
    return hmac.digest(key, expression.encode("utf-8"), "sha256")


@dataclass(frozen=True)
class PrefixFeed:
    """One licensee's feed at one serial: sorted full hashes; the prefixes are what ships."""

    serial: int
    hashes: tuple[bytes, ...]

    @classmethod
    def build(cls, key: bytes, serial: int, listed: Iterable[str]) -> PrefixFeed:
        """The feed of the listed expressions under ``key``."""
        return cls(serial, tuple(sorted({keyed_hash(key, e) for e in listed})))

    @property
    def prefixes(self) -> list[bytes]:
        out: list[bytes] = []
        for digest in self.hashes:
            prefix = digest[:PREFIX_BYTES]
            if not out or out[-1] != prefix:
                out.append(prefix)
        return out

    def to_dict(self) -> dict[str, object]:
        """What a licensee downloads: the serial and the prefixes (base64 of their bytes)."""
        blob = b"".join(self.prefixes)
        return {
            "serial": self.serial,
            "hash": "hmac-sha256",
            "prefix_bytes": PREFIX_BYTES,
            "count": len(blob) // PREFIX_BYTES,
            "prefixes": base64.b64encode(blob).decode("ascii"),
        }

    def full_hashes(self, prefix: bytes) -> list[bytes]:
        """Every full hash that starts with ``prefix`` (the answer to a client's hit)."""
        if len(prefix) != PREFIX_BYTES:
            raise InvalidInput(f"a prefix is {PREFIX_BYTES} bytes")
        start = bisect.bisect_left(self.hashes, prefix)
        found = []
        for digest in self.hashes[start:]:
            if not digest.startswith(prefix):
                break
            found.append(digest)
        return found


class FeedClient:
    """A vendor's side: the downloaded prefixes, its key, and a way to ask for full hashes."""

    def __init__(
        self,
        key: bytes,
        feed: dict[str, object],
        ask_full_hashes: Callable[[bytes], list[bytes]],
    ) -> None:
        blob = base64.b64decode(str(feed["prefixes"]))
        size = int(str(feed["prefix_bytes"]))
        self.key = key
        self.prefixes = frozenset(blob[i : i + size] for i in range(0, len(blob), size))
        self.size = size
        self.ask = ask_full_hashes
        self.asked = 0

    def is_listed(self, url: str) -> bool:
        """True when one of ``url``'s expressions is listed (a prefix hit confirmed by the
        full hash keepdown returns)."""
        for expression in expressions(url):
            digest = keyed_hash(self.key, expression)
            prefix = digest[: self.size]
            if prefix in self.prefixes:
                self.asked += 1
                if digest in self.ask(prefix):
                    return True
        return False


def plain_md5(url: str) -> str:
    """The German list's construction (MD5 of the URL as written), for the attack test."""
    return hashlib.md5(url.encode("utf-8"), usedforsecurity=False).hexdigest()
