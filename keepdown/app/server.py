"""The API server: settings -> services -> live index -> ASGI app, and ``keepdown serve``.

:func:`build_app` is what ``keepdown serve`` runs and what the API tests use:

1. open storage (SQLite in the data dir by default; migrated to the current schema);
2. build the services: auth (keys, audit log), banks, the hasher, the SSRF-guarded fetcher;
3. load the match index from the banks, and keep it current: a background thread polls the
   banks' change mark every ``index_refresh_seconds`` and applies what changed (no restart);
4. wire the notice service and its worker (send due notices, re-check due locations);
5. hand everything to :func:`keepdown.api.create_app`.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import AsyncIterator
from typing import Any

from keepdown.api import ApiContext, create_app
from keepdown.api.ratelimit import RateLimiter
from keepdown.app.accountability import accountability_parts
from keepdown.app.core import Services, open_services
from keepdown.app.noticing import _notice_parts, _NoticeWorker
from keepdown.app.web import mount_web
from keepdown.clock import Clock, SystemClock
from keepdown.crawl.fetcher import Fetcher
from keepdown.crawl.transport import Resolver
from keepdown.errors import FetchError, InputTooLarge, StorageError
from keepdown.hashing import HashResult, hash_bytes
from keepdown.matching.live import BankIndex
from keepdown.settings import Settings
from keepdown.storage import Storage
from keepdown.storage.crawl_store import CrawlStore, ReportStore
from keepdown.storage.index_feed import ping

__all__ = ["build_app", "serve"]

log = logging.getLogger("keepdown.app")


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
    ctx.accountability = accountability_parts(settings, services.storage, clock, resolver=resolver)
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

    app = create_app(ctx, lifespan=lifespan)
    mount_web(app, ctx, services)  # the web pages under /web (keepdown.app.web)
    return app, services


def _report_store(settings: Settings, storage: Storage) -> ReportStore:
    return ReportStore(storage.engine, CrawlStore(storage.engine, settings))


def serve(settings: Settings, **uvicorn_options: Any) -> None:
    """Run the API on ``api_host:api_port`` until interrupted."""
    import uvicorn

    app, _ = build_app(settings)
    uvicorn.run(app, host=str(settings.api_host), port=int(settings.api_port), **uvicorn_options)
