"""The API server: settings -> services -> live index -> ASGI app, and ``keepdown serve``.

:func:`build_app` is what ``keepdown serve`` runs and what the API tests use:

1. open storage (SQLite in the data dir by default; migrated to the current schema);
2. build the services: auth (keys, audit log), banks, the hasher, the SSRF-guarded fetcher;
3. load the match index from the banks, and keep it current: a background thread polls the
   banks' change mark every ``index_refresh_seconds`` and applies what changed (no restart);
4. wire the notice service and the in-process task workers (``serve_workers``);
5. hand everything to :func:`keepdown.api.create_app`; the background workers start and stop
   with the app's lifespan;
6. mount the web pages, sharing the public report limit per client address with the API
   (one :class:`~keepdown.api.ratelimit.ClientLimiter`), and believe ``X-Forwarded-For``
   from the ``trusted_proxies`` networks only (uvicorn's proxy-headers middleware with
   exactly those networks; uvicorn's own, which trusts 127.0.0.1 by default, is off).

:func:`serve` runs it on uvicorn, in one process or ``api_workers`` processes.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import logging
import os
import threading
from collections.abc import AsyncIterator
from typing import Any, Protocol

from keepdown.api import ApiContext, create_app
from keepdown.api.ratelimit import ClientLimiter, RateLimiter
from keepdown.app.accountability import accountability_parts
from keepdown.app.core import Services, open_services
from keepdown.app.noticing import _notice_parts
from keepdown.app.scanning import video_matcher
from keepdown.app.web import mount_web
from keepdown.app.workers import EmbeddedWorkers
from keepdown.clock import Clock, SystemClock
from keepdown.crawl.fetcher import Fetcher
from keepdown.crawl.transport import Resolver
from keepdown.errors import ConfigurationError, FetchError, InputTooLarge, StorageError
from keepdown.hashing import HashResult, hash_bytes
from keepdown.matching.live import BankIndex
from keepdown.settings import Settings, load_settings
from keepdown.storage import Storage
from keepdown.storage.bank_settings import SqlBankSettings
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
    ctx = _context(settings, services, fetcher, clock)
    ctx.matcher = video_matcher(settings, services.storage, services.index)  # videos too
    notice_parts = _notice_parts(
        settings, services.storage, services.index, clock, resolver=resolver
    )
    ctx.providers = notice_parts.providers
    ctx.notices = notice_parts.service
    ctx.notice_links = notice_parts.links
    ctx.accountability = accountability_parts(settings, services.storage, clock, resolver=resolver)
    workers: list[_Worker] = [_Refresher(ctx.matcher, settings.index_refresh_seconds)]
    if settings.serve_workers > 0:  # task consumers in this process (keepdown.app.workers)
        workers.append(EmbeddedWorkers(settings, resolver=resolver))

    @contextlib.asynccontextmanager
    async def lifespan() -> AsyncIterator[None]:
        started = workers if refresh_in_background else []
        for worker in started:
            worker.start()
        try:
            yield
        finally:
            for worker in reversed(started):
                worker.stop()
            await fetcher.aclose()
            services.storage.close()

    app = create_app(ctx, lifespan=lifespan)
    public_limit = ClientLimiter.public_reports(settings)  # the API's and the web form's
    app.state.public_report_limiter = public_limit
    mount_web(app, ctx, services, public_limit)  # the web pages under /web (keepdown.app.web)
    _trust_proxies(app, settings)
    return app, services


def _trust_proxies(app: Any, settings: Settings) -> None:
    """Believe the forwarded client address from ``trusted_proxies`` only (module docstring)."""
    networks = []
    for text in settings.trusted_proxies:
        try:
            networks.append(str(ipaddress.ip_network(str(text).strip(), strict=False)))
        except ValueError as exc:
            raise ConfigurationError(
                f"trusted_proxies: {text!r} is not a network (CIDR) or an address"
            ) from exc
    if networks:
        from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=networks)


class _Worker(Protocol):
    """A background thread the server starts and stops with itself."""

    def start(self) -> None: ...

    def stop(self) -> None: ...


def _context(settings: Settings, services: Services, fetcher: Fetcher, clock: Clock) -> ApiContext:
    """The API's view of the services."""

    def hasher(data: bytes, dihedral: bool) -> HashResult:
        return hash_bytes(data, settings=settings, mode=settings.hash_mode, dihedral=dihedral)

    async def fetch_url(url: str, max_bytes: int) -> tuple[bytes, str]:
        result = await fetcher.fetch(url, max_bytes=max_bytes)
        if result.truncated:
            raise InputTooLarge(f"the media at {url} is over {max_bytes} bytes", limit=max_bytes)
        if not result.ok:
            raise FetchError(f"{url} answered HTTP {result.status}", url=url, status=result.status)
        return result.body, result.content_type

    return ApiContext(
        settings=settings,
        auth=services.auth,
        banks=services.banks,
        bank_reader=services.storage.banks,
        bank_settings=SqlBankSettings(services.storage.engine),
        matcher=services.index,
        hasher=hasher,
        fetch_url=fetch_url,
        clock=clock,
        limiter=RateLimiter.from_settings(settings),
        check_database=lambda: ping(services.storage.engine),
        url_reports=_report_store(settings, services.storage),
        events=services.storage.events,
    )


def _report_store(settings: Settings, storage: Storage) -> ReportStore:
    return ReportStore(storage.engine, CrawlStore(storage.engine, settings))


#: Where ``serve`` hands its settings to worker processes (each builds its own app).
SETTINGS_ENV = "KEEPDOWN_SERVE_SETTINGS"


def app_from_environment() -> Any:
    """The app of one worker process of ``serve`` (uvicorn's factory with ``api_workers`` > 1)."""
    settings = load_settings(environ={}, overrides=json.loads(os.environ[SETTINGS_ENV]))
    app, _ = build_app(settings)
    return app


def serve(settings: Settings, **uvicorn_options: Any) -> None:
    """Run the API on ``api_host:api_port`` until interrupted.

    uvicorn runs on uvloop and httptools when they are installed (they are dependencies).
    With ``api_workers`` > 1, uvicorn starts that many processes on the one port; each loads
    its own match index (see docs/performance.md for what that costs in memory)."""
    import uvicorn

    options: dict[str, Any] = {
        "host": settings.api_host,
        "port": settings.api_port,
        "access_log": settings.api_access_log,
        "proxy_headers": False,  # the app's own middleware, from trusted_proxies (build_app)
        **uvicorn_options,
    }
    workers = settings.api_workers
    if workers > 1:
        os.environ[SETTINGS_ENV] = json.dumps(settings.as_dict(redact=False), default=str)
        uvicorn.run(
            "keepdown.app.server:app_from_environment", factory=True, workers=workers, **options
        )
        return
    app, _ = build_app(settings)
    uvicorn.run(app, **options)
