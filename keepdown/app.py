"""The composition root: settings -> stores -> services -> live index -> ASGI app.

:func:`build_app` is what ``keepdown serve`` runs and what the API tests use:

1. open storage (SQLite in the data dir by default; migrated to the current schema);
2. build the services: auth (keys, audit log), banks, the hasher, the SSRF-guarded fetcher;
3. load the match index from the banks, and keep it current: a background thread polls the
   banks' change mark every ``index_refresh_seconds`` and applies what changed (no restart);
4. hand everything to :func:`keepdown.api.create_app`.

:func:`seed_demo` makes the demo organisation, bank (the benign sample images, hashed in
exact mode) and a platform key; it is idempotent.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from keepdown.api import ApiContext, create_app
from keepdown.api.ratelimit import RateLimiter
from keepdown.auth import AuthService, Role
from keepdown.banks.records import EntryRecord
from keepdown.banks.service import BankService
from keepdown.clock import Clock, SystemClock
from keepdown.crawl.attribution import Attributor
from keepdown.crawl.crawler import Crawler
from keepdown.crawl.fetcher import Fetcher
from keepdown.crawl.transport import Resolver
from keepdown.errors import Conflict, FetchError, InputTooLarge, StorageError
from keepdown.hashing import HashResult, hash_bytes, hash_file
from keepdown.hashing.types import SignalType
from keepdown.matching.live import BankIndex
from keepdown.notices.attribution import RdapClient, RegistryAttributor
from keepdown.notices.compose import Composer
from keepdown.notices.links import LinkSigner, link_secret
from keepdown.notices.senders import Sender, SmtpSender, WebhookSender
from keepdown.notices.service import NoticeService
from keepdown.notices.tracker import Tracker
from keepdown.notices.verify import BankVerifier
from keepdown.settings import Settings
from keepdown.storage import Storage, open_storage
from keepdown.storage.auth_store import SqlAuthStore
from keepdown.storage.crawl_store import CrawlRecord, CrawlStore, ReportStore, SightingRecorder
from keepdown.storage.index_feed import IndexFeed, ping
from keepdown.storage.notice_store import SqlNoticeStore
from keepdown.storage.provider_store import SqlProviderStore

__all__ = [
    "CrawlServices",
    "DemoInfo",
    "NoticeServices",
    "Services",
    "auth_service",
    "build_app",
    "open_crawl_services",
    "open_notice_services",
    "open_services",
    "provider_registry",
    "registry_attributor",
    "seed_demo",
    "serve",
]

log = logging.getLogger("keepdown.app")

DEMO_ORG = "demo"
DEMO_BANK = "demo-samples"


@dataclass
class Services:
    """Everything :func:`build_app` wired, for tests and the CLI."""

    storage: Storage
    auth: AuthService
    banks: BankService
    index: BankIndex


def open_services(settings: Settings, clock: Clock) -> Services:
    storage = open_storage(settings)
    auth_store = SqlAuthStore(storage.engine)
    auth = AuthService(
        auth_store, auth_store, clock=clock, cache_seconds=float(settings.auth_cache_seconds)
    )
    banks = BankService(storage.banks, storage.events, clock=clock)
    index = BankIndex(
        IndexFeed(storage.engine),
        storage.banks.list_banks,
        quality_floor=int(settings.pdq_quality_floor),
    )
    return Services(storage=storage, auth=auth, banks=banks, index=index)


@contextlib.contextmanager
def auth_service(settings: Settings) -> Iterator[AuthService]:
    """An auth service on the configured database (for the ``key`` and ``org`` commands)."""
    storage = open_storage(settings)
    try:
        store = SqlAuthStore(storage.engine)
        yield AuthService(store, store)
    finally:
        storage.close()


class _Refresher:
    """Polls the banks and refreshes the live index on a daemon thread."""

    def __init__(self, index: BankIndex, every: float) -> None:
        self.index = index
        self.every = every
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="keepdown-index", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            try:
                self.index.refresh()
            except StorageError:
                log.exception("match index refresh failed; keeping the current index")


def build_app(
    settings: Settings,
    *,
    clock: Clock | None = None,
    resolver: Resolver | None = None,
    refresh_in_background: bool = True,
) -> tuple[Any, Services]:
    """The ASGI app and the services behind it (steps in the module docstring)."""
    clock = clock or SystemClock()
    services = open_services(settings, clock)
    services.index.refresh()
    fetcher = Fetcher(settings, resolver=resolver, clock=clock)

    def hasher(data: bytes, dihedral: bool) -> HashResult:
        return hash_bytes(data, settings=settings, mode=settings.hash_mode, dihedral=dihedral)

    async def fetch_url(url: str, max_bytes: int) -> tuple[bytes, str]:
        result = await fetcher.fetch(url, max_bytes=max_bytes)
        if result.truncated:
            raise InputTooLarge(f"the media at {url} is over {max_bytes} bytes", limit=max_bytes)
        if not result.ok:
            raise FetchError(f"{url} answered HTTP {result.status}", url=url, status=result.status)
        return result.body, result.content_type

    ctx = ApiContext(
        settings=settings,
        auth=services.auth,
        banks=services.banks,
        matcher=services.index,
        hasher=hasher,
        fetch_url=fetch_url,
        clock=clock,
        limiter=RateLimiter.from_settings(settings),
        check_database=lambda: ping(services.storage.engine),
        url_reports=_report_store(settings, services.storage),
        events=services.storage.events,
    )
    notice_parts = _notice_parts(
        settings, services.storage, services.index, clock, resolver=resolver
    )
    ctx.providers = notice_parts.providers
    ctx.notices = notice_parts.service
    ctx.notice_links = notice_parts.links
    worker_every = float(settings.notice_worker_seconds)
    notice_worker = _NoticeWorker(notice_parts, worker_every) if worker_every > 0 else None
    refresher = _Refresher(services.index, float(settings.index_refresh_seconds))

    @contextlib.asynccontextmanager
    async def lifespan() -> AsyncIterator[None]:
        if refresh_in_background:
            refresher.start()
            if notice_worker is not None:
                notice_worker.start()
        try:
            yield
        finally:
            if refresh_in_background:
                refresher.stop()
                if notice_worker is not None:
                    notice_worker.stop()
            await fetcher.aclose()
            services.storage.close()

    return create_app(ctx, lifespan=lifespan), services


def _report_store(settings: Settings, storage: Storage) -> ReportStore:
    return ReportStore(storage.engine, CrawlStore(storage.engine, settings))


@dataclass
class CrawlServices:
    """What ``keepdown crawl`` and ``keepdown report`` need: stores, the index, attribution.

    :meth:`crawler` builds the :class:`Crawler` of one stored crawl: its SQL frontier, and a
    :class:`SightingRecorder` that matches through the bank index (``match_result``) and
    attributes hosts through ``attributor`` (keepdown.notices wires the real one; the default
    attributes nothing).
    """

    settings: Settings
    storage: Storage
    crawls: CrawlStore
    reports: ReportStore
    index: BankIndex
    attributor: Attributor
    clock: Clock
    resolver: Resolver | None = None

    def crawler(self, crawl: CrawlRecord) -> tuple[Crawler, SightingRecorder]:
        settings = self.settings.replace(
            crawl_max_pages=crawl.max_pages, crawl_max_bytes=crawl.max_bytes
        )
        recorder = SightingRecorder(
            self.storage.engine,
            crawl.id,
            matcher=self.index.match_result,
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
) -> CrawlServices:
    """Storage, crawl and report stores, and the match index loaded from the banks."""
    clock = clock or SystemClock()
    services = open_services(settings, clock)
    services.index.refresh()
    crawls = CrawlStore(services.storage.engine, settings)
    return CrawlServices(
        settings=settings,
        storage=services.storage,
        crawls=crawls,
        reports=ReportStore(services.storage.engine, crawls),
        index=services.index,
        attributor=attributor or registry_attributor(settings, services.storage, resolver=resolver),
        clock=clock,
        resolver=resolver,
    )


def registry_attributor(
    settings: Settings, storage: Storage, *, resolver: Resolver | None = None
) -> Attributor:
    """The provider registry, then RDAP when ``rdap_base_url`` is set (keepdown.notices)."""
    rdap = RdapClient(settings, resolver=resolver) if settings.rdap_base_url else None
    return RegistryAttributor(SqlProviderStore(storage.engine).list, rdap=rdap)


@contextlib.contextmanager
def provider_registry(settings: Settings) -> Iterator[SqlProviderStore]:
    """The provider registry on the configured database (for ``keepdown provider``)."""
    storage = open_storage(settings)
    try:
        yield SqlProviderStore(storage.engine)
    finally:
        storage.close()


@dataclass
class NoticeServices:
    """What the notice commands, the API and the notice worker use (keepdown.notices)."""

    settings: Settings
    storage: Storage
    providers: SqlProviderStore
    notices: SqlNoticeStore
    links: LinkSigner
    service: NoticeService
    tracker: Tracker
    clock: Clock

    def close(self) -> None:
        self.storage.close()


def _notice_parts(
    settings: Settings,
    storage: Storage,
    index: BankIndex,
    clock: Clock,
    *,
    resolver: Resolver | None = None,
    senders: dict[str, Sender] | None = None,
) -> NoticeServices:
    from datetime import timedelta

    providers = SqlProviderStore(storage.engine)
    notices = SqlNoticeStore(storage.engine)
    links = LinkSigner(
        link_secret(settings),
        clock,
        valid_for=timedelta(days=int(settings.notice_link_days)),
        base_url=str(settings.notice_public_base_url),
    )
    if senders is None:
        senders = {
            "email": SmtpSender(settings, clock),
            "webhook": WebhookSender(settings, clock, resolver=resolver),
        }
    service = NoticeService(notices, providers, Composer(settings, links), senders, clock, settings)
    tracker = Tracker(
        notices,
        providers,
        lambda: Fetcher(settings, resolver=resolver, clock=clock),
        BankVerifier(settings, index.match_result),
        service,
        clock,
        settings,
    )
    return NoticeServices(settings, storage, providers, notices, links, service, tracker, clock)


def open_notice_services(
    settings: Settings,
    *,
    clock: Clock | None = None,
    resolver: Resolver | None = None,
    senders: dict[str, Sender] | None = None,
) -> NoticeServices:
    """Storage, the provider registry, the notice service and the re-check tracker.

    ``senders`` replaces the SMTP and webhook senders (by channel name); ``resolver`` is used
    by re-checks and webhooks (tests map made-up names to loopback)."""
    clock = clock or SystemClock()
    services = open_services(settings, clock)
    services.index.refresh()
    return _notice_parts(
        settings, services.storage, services.index, clock, resolver=resolver, senders=senders
    )


class _NoticeWorker:
    """Runs a notice pass (send due, re-check due) every ``notice_worker_seconds``."""

    def __init__(self, parts: NoticeServices, every: float) -> None:
        self.parts = parts
        self.every = every
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="keepdown-notices", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    async def _one_pass(self) -> None:
        await self.parts.service.send_due()
        await self.parts.tracker.recheck_due()

    def _run(self) -> None:
        import asyncio

        from keepdown.errors import KeepdownError

        while not self._stop.wait(self.every):
            try:
                asyncio.run(self._one_pass())
            except KeepdownError:
                log.exception("notice pass failed; trying again next time")


@dataclass(frozen=True)
class DemoInfo:
    organisation: str
    bank: str
    entries_added: int
    token: str
    samples: list[Path]


def seed_demo(settings: Settings) -> DemoInfo:
    """The demo organisation, bank and a fresh platform key (idempotent apart from the key)."""
    from keepdown.testing import sample_image_paths

    services = open_services(settings, SystemClock())
    try:
        services.auth.ensure_organisation(DEMO_ORG)
        with contextlib.suppress(Conflict):
            services.banks.create_bank(
                DEMO_BANK,
                owner=DEMO_ORG,
                source="keepdown/samples (benign stand-ins)",
                label="other",
            )
        added = 0
        samples = sample_image_paths()
        for path in samples:
            added += _add_sample(services.banks, path, settings)
        issued = services.auth.issue_key(DEMO_ORG, Role.PLATFORM, label="demo")
        services.auth.audit("demo.seed", target=DEMO_BANK, added=added)
        return DemoInfo(DEMO_ORG, DEMO_BANK, added, issued.token, samples)
    finally:
        services.storage.close()


def _add_sample(banks: BankService, path: Path, settings: Settings) -> int:
    result = hash_file(path, settings=settings, mode="exact")
    records = [EntryRecord(SignalType.SHA256, result.sha256.hex, source_id=path.name)]
    if result.pdq is not None:
        records.append(EntryRecord(SignalType.PDQ, result.pdq.hex, source_id=path.name))
    return sum(banks.add_entry(DEMO_BANK, record).added for record in records)


def serve(settings: Settings, **uvicorn_options: Any) -> None:
    """Run the API on ``api_host:api_port`` until interrupted."""
    import uvicorn

    app, _ = build_app(settings)
    uvicorn.run(app, host=str(settings.api_host), port=int(settings.api_port), **uvicorn_options)
