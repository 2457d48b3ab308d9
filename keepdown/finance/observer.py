"""The crawl's page observer: extracts payment indicators from every page the crawler reads.

The crawler (``keepdown.crawl.crawler.Crawler``, ``page_observers``) calls each observer with a
frozen ``PageSeen`` (crawl_id, page_url, final_url, fetched_at, status, server_ip, text). The
:class:`FinanceObserver` extracts indicators (:class:`~keepdown.finance.extract.Extractor`) and
stores the page only when it holds at least one: pages without indicators leave no trace.
Whether known material was confirmed there is decided later and joined at query time
(:mod:`keepdown.finance.model`). Errors reading or storing one page are counted and logged,
never raised into the crawl: a crawl must not stop because one page had an odd indicator.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from keepdown.errors import KeepdownError
from keepdown.finance.extract import Extractor
from keepdown.finance.model import IndicatorStore, PageRecord

__all__ = ["FinanceObserver", "PageLike"]

log = logging.getLogger("keepdown.finance")

#: (host, server ip) -> provider name, or None (the crawl's attribution, wired by the app).
ProviderOf = Callable[[str, str | None], str | None]


class PageLike(Protocol):
    """What the observer reads of the crawler's ``PageSeen``."""

    @property
    def crawl_id(self) -> str: ...
    @property
    def page_url(self) -> str: ...
    @property
    def final_url(self) -> str: ...
    @property
    def fetched_at(self) -> datetime: ...
    @property
    def status(self) -> int: ...
    @property
    def server_ip(self) -> str | None: ...
    @property
    def text(self) -> str: ...


def _host(url: str) -> str:
    rest = url.split("//", 1)[-1]
    return rest.split("/", 1)[0].rsplit("@", 1)[-1].split(":", 1)[0].lower()


@dataclass
class FinanceObserver:
    store: IndicatorStore
    extractor: Extractor = field(default_factory=Extractor)
    provider_of: ProviderOf | None = None
    stats: Counter[str] = field(default_factory=Counter)

    def __call__(self, page: PageLike) -> None:
        if not (200 <= page.status < 300) or not page.text:
            return
        found = self.extractor(page.text)
        self.stats["finance/pages_read"] += 1
        if not found:
            return
        provider = None
        if self.provider_of is not None:
            provider = self.provider_of(_host(page.final_url), page.server_ip)
        record = PageRecord(
            crawl_id=str(page.crawl_id),
            page_url=page.page_url,
            final_url=page.final_url,
            seen_at=page.fetched_at,
            indicators=tuple(found),
            provider=provider,
            server_ip=page.server_ip,
        )
        try:
            self.store.record(record)
        except KeepdownError:
            self.stats["finance/store_errors"] += 1
            log.exception("could not store the payment indicators of a page")
            return
        self.stats["finance/pages_with_indicators"] += 1
        self.stats["finance/indicators"] += len(found)
