"""The crawl worker's parts: stores, the live index and host attribution.

``keepdown crawl`` and ``keepdown report`` build their services here; the crawler itself and
its SQL frontier live in :mod:`keepdown.crawl` and :mod:`keepdown.storage.crawl_store`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from keepdown.app.accountability import finance_observer
from keepdown.app.core import open_services
from keepdown.app.scanning import video_matcher
from keepdown.app.web import allow_listed
from keepdown.clock import Clock, SystemClock
from keepdown.crawl.attribution import Attributor
from keepdown.crawl.crawler import Crawler, PageExtender
from keepdown.crawl.observers import PageObserver
from keepdown.crawl.transport import Resolver
from keepdown.matching.live import BankIndex
from keepdown.notices.attribution import RdapClient, RegistryAttributor
from keepdown.settings import Settings
from keepdown.storage import Storage
from keepdown.storage.crawl_store import CrawlRecord, CrawlStore, ReportStore, SightingRecorder
from keepdown.storage.provider_store import SqlProviderStore

__all__ = ["CrawlServices", "open_crawl_services", "registry_attributor"]


@dataclass
class CrawlServices:
    """What ``keepdown crawl`` and ``keepdown report`` need: stores, the index, attribution.

    :meth:`crawler` builds the :class:`Crawler` of one stored crawl: its SQL frontier, and a
    :class:`SightingRecorder` that matches through the bank index (``match_result``) and
    attributes hosts through ``attributor`` (the registry + RDAP of keepdown.notices by
    default). ``page_observers`` get every fetched HTML page (:class:`PageSeen`): this is where
    the composition root plugs in readers of pages such as the financial indicators.
    """

    settings: Settings
    storage: Storage
    crawls: CrawlStore
    reports: ReportStore
    index: BankIndex
    attributor: Attributor
    clock: Clock
    resolver: Resolver | None = None
    page_observers: Sequence[PageObserver] = field(default_factory=tuple)

    def crawler(
        self, crawl: CrawlRecord, *, extend_pages: PageExtender | None = None
    ) -> tuple[Crawler, SightingRecorder]:
        settings = self.settings.replace(
            crawl_max_pages=crawl.max_pages, crawl_max_bytes=crawl.max_bytes
        )
        recorder = SightingRecorder(
            self.storage.engine,
            crawl.id,
            matcher=allow_listed(self.storage, self.settings, self.index.match_result),
            attributor=self.attributor,
            events=self.storage.events,
            clock_now=self.clock.now,
        )
        crawler = Crawler(
            settings,
            scope=crawl.scope,
            frontier=self.crawls.frontier(crawl.id),
            sink=recorder,
            events=self.storage.events,
            crawl_id=str(crawl.id),
            resolver=self.resolver,
            clock=self.clock,
            page_observers=self.page_observers,
            extend_pages=extend_pages,
        )
        return crawler, recorder

    def close(self) -> None:
        self.storage.close()


def open_crawl_services(
    settings: Settings,
    *,
    clock: Clock | None = None,
    attributor: Attributor | None = None,
    resolver: Resolver | None = None,
    page_observers: Sequence[PageObserver] = (),
) -> CrawlServices:
    """Storage, crawl and report stores, the match index loaded from the banks, attribution."""
    clock = clock or SystemClock()
    services = open_services(settings, clock)
    services.index.refresh()
    crawls = CrawlStore(services.storage.engine, settings)
    return CrawlServices(
        settings=settings,
        storage=services.storage,
        crawls=crawls,
        reports=ReportStore(services.storage.engine, crawls),
        index=video_matcher(settings, services.storage, services.index),  # videos matched too
        attributor=attributor or registry_attributor(settings, services.storage, resolver=resolver),
        clock=clock,
        resolver=resolver,
        # The payment indicators of every page (keepdown.finance), then the caller's observers.
        page_observers=(finance_observer(settings, services.storage), *page_observers),
    )


def registry_attributor(
    settings: Settings, storage: Storage, *, resolver: Resolver | None = None
) -> Attributor:
    """The provider registry, then RDAP when ``rdap_base_url`` is set (keepdown.notices)."""
    rdap = RdapClient(settings, resolver=resolver) if settings.rdap_base_url else None
    return RegistryAttributor(SqlProviderStore(storage.engine).list, rdap=rdap)
