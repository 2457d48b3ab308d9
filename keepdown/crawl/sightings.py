"""A sighting: one piece of media seen at one place at one time, with its hashes and host.

The crawler builds a :class:`Sighting` for every media it hashes and hands it, with the full
:class:`~keepdown.hashing.HashResult`, to the injected :class:`MediaSink`. The sink (built by
the application layer) matches it against the banks and stores it; the crawl package never
imports matching. What is kept is URLs, hashes and the host: never the bytes.
"""

from __future__ import annotations

from collections.abc import Awaitable
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any, Protocol

from keepdown.crawl.fetcher import FetchResult
from keepdown.hashing import HashResult

__all__ = ["MediaSink", "Sighting", "build_sighting"]


@dataclass(frozen=True)
class Sighting:
    """Where and how a piece of media was seen.

    ``page_url``: the page that showed it (after that page's redirects); ``media_url``: the URL
    the page named; ``final_url``: where the bytes came from after redirects;
    ``archive_member``: the entry name when the media was inside a ZIP (else ""). ``status`` and
    ``server_ip`` are those of the final response; ``content_type`` is the sniffed type,
    ``declared_type`` what the server said. ``found_by`` is the page element (``img[src]``...).
    """

    crawl_id: str
    page_url: str
    media_url: str
    final_url: str
    archive_member: str
    found_by: str
    status: int
    declared_type: str
    content_type: str
    size: int
    server_ip: str | None
    http_version: str
    seen_at: datetime
    md5: str
    sha1: str
    sha256: str
    pdq: str | None
    pdq_quality: int | None
    redirects: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["seen_at"] = self.seen_at.isoformat()
        data["redirects"] = list(self.redirects)
        return data


class MediaSink(Protocol):
    """Receives each hashed media of a crawl (the app layer's sink matches and stores it).

    Called on the crawler's event loop. ``accept`` may be a plain method or a coroutine (the
    crawler awaits it): a sink that waits on the network (RDAP) must be a coroutine, so the
    crawl goes on meanwhile.
    """

    def accept(self, sighting: Sighting, hashes: HashResult) -> Awaitable[None] | None: ...


def build_sighting(
    crawl_id: str,
    result: FetchResult,
    hashes: HashResult,
    *,
    page_url: str,
    found_by: str,
    member: str = "",
) -> Sighting:
    """The sighting of ``hashes`` (from ``result``, or from its ZIP entry ``member``)."""
    return Sighting(
        crawl_id=crawl_id,
        page_url=page_url,
        media_url=result.url,
        final_url=result.final_url,
        archive_member=member,
        found_by=found_by,
        status=result.status,
        declared_type=result.declared_type,
        content_type=result.content_type,
        size=hashes.size_bytes,
        server_ip=result.server_ip,
        http_version=result.http_version,
        seen_at=result.fetched_at,
        md5=hashes.md5.hex,
        sha1=hashes.sha1.hex,
        sha256=hashes.sha256.hex,
        pdq=hashes.pdq.hex if hashes.pdq is not None else None,
        pdq_quality=hashes.quality,
        redirects=result.redirects,
    )
