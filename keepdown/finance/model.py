"""Indicators as plain values, and the store protocol they live in.

A page is recorded by the crawl observer (:mod:`keepdown.finance.observer`) only when it holds
at least one indicator, with what was known then: crawl, page URL, final URL, provider, time.
Whether known material was *confirmed* on that page is decided later (an analyst's review, an
exact trusted match), so :meth:`IndicatorStore.indicators` works it out at query time: an
indicator's ``confirmed_sightings`` are the confirmed sightings of the same crawl on the same
page (by page URL or final URL), and ``confirmed_only`` keeps the indicators seen on at least
one such page.

``keepdown.storage.indicator_store`` implements the protocol on SQL; :class:`InMemoryIndicators`
is the twin (confirmed sightings come from a callable).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from keepdown.finance.extract import Found

__all__ = ["InMemoryIndicators", "Indicator", "IndicatorStore", "PageRecord"]


@dataclass(frozen=True)
class PageRecord:
    """A crawled page with its indicators (what the observer stores)."""

    crawl_id: str
    page_url: str
    final_url: str
    seen_at: datetime
    indicators: tuple[Found, ...]
    provider: str | None = None
    server_ip: str | None = None


@dataclass(frozen=True)
class Indicator:
    """One indicator and everything known of it (``pages``: the page URLs, for analysts only;
    exports carry counts, never the URLs of pages with material)."""

    id: int
    type: str
    value: str
    detail: str
    pages: tuple[str, ...]
    providers: tuple[str, ...]
    first_seen: datetime
    last_seen: datetime
    confirmed_sightings: int
    confirmed_pages: int

    def to_public(self, *, with_pages: bool = False) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "id": self.id,
            "type": self.type,
            "value": self.value,
            "detail": self.detail,
            "pages": len(self.pages),
            "providers": list(self.providers),
            "first_seen": self.first_seen.isoformat(),
            "last_seen": self.last_seen.isoformat(),
            "confirmed_sightings": self.confirmed_sightings,
            "confirmed_pages": self.confirmed_pages,
        }
        if with_pages:
            doc["page_urls"] = list(self.pages)
        return doc


class IndicatorStore(Protocol):
    def record(self, page: PageRecord) -> None:
        """Store a page and its indicators (a page seen again in the same crawl is one page)."""
        ...

    def indicators(
        self,
        *,
        confirmed_only: bool = True,
        types: Sequence[str] | None = None,
        min_confirmed: int = 0,
        limit: int = 10_000,
    ) -> list[Indicator]:
        """Indicators with their pages, providers, first and last seen, confirmed sightings."""
        ...


ConfirmedCount = Callable[[str, str], int]  # (crawl id, page url) -> confirmed sightings


@dataclass
class InMemoryIndicators:
    """The in-memory twin of :class:`IndicatorStore`."""

    confirmed: ConfirmedCount = lambda _crawl, _page: 0
    pages: dict[tuple[str, str], PageRecord] = field(default_factory=dict)
    ids: dict[tuple[str, str], int] = field(default_factory=dict)

    def record(self, page: PageRecord) -> None:
        if page.indicators:
            self.pages.setdefault((page.crawl_id, page.page_url), page)
            for found in page.indicators:
                self.ids.setdefault((found.type, found.value), len(self.ids) + 1)

    def _sightings(self, page: PageRecord) -> int:
        urls = {page.page_url, page.final_url}
        return sum(self.confirmed(page.crawl_id, url) for url in urls)

    def indicators(
        self,
        *,
        confirmed_only: bool = True,
        types: Sequence[str] | None = None,
        min_confirmed: int = 0,
        limit: int = 10_000,
    ) -> list[Indicator]:
        out = []
        for (kind, value), ident in sorted(self.ids.items(), key=lambda kv: kv[1]):
            if types and kind not in types:
                continue
            pages = [
                p
                for p in self.pages.values()
                if any((f.type, f.value) == (kind, value) for f in p.indicators)
            ]
            counts = [self._sightings(p) for p in pages]
            confirmed = sum(counts)
            if (confirmed_only and not confirmed) or confirmed < min_confirmed:
                continue
            detail = next(f.detail for p in pages for f in p.indicators if f.value == value)
            out.append(
                Indicator(
                    id=ident,
                    type=kind,
                    value=value,
                    detail=detail,
                    pages=tuple(sorted({p.page_url for p in pages})),
                    providers=tuple(sorted({p.provider for p in pages if p.provider})),
                    first_seen=min(p.seen_at for p in pages),
                    last_seen=max(p.seen_at for p in pages),
                    confirmed_sightings=confirmed,
                    confirmed_pages=sum(1 for c in counts if c),
                )
            )
        return out[:limit]
