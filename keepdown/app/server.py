"""The API server: settings -> runtime -> ASGI app, and ``keepdown serve``.

:func:`build_app` is what ``keepdown serve`` runs and what the API tests use:

1. open the :class:`~keepdown.app.runtime.Runtime` (storage, migrated to the current schema);
2. take its parts: auth (keys, audit log), banks, the hasher, the SSRF-guarded fetcher, and
   the one match chain, loaded now and kept current by a background thread that polls the
   banks' change mark every ``index_refresh_seconds`` and applies what changed (no restart);
3. take the notice, crawl and accountability parts, and start ``serve_workers`` task workers
   in this process **on the same runtime**, so the API and the workers share one index;
4. hand everything to :func:`keepdown.api.create_app`; the background workers start and stop
   with the app's lifespan;
5. mount the web pages, sharing the public report limit per client address with the API
   (one :class:`~keepdown.api.ratelimit.ClientLimiter`), and believe ``X-Forwarded-For``
   from the ``trusted_proxies`` networks only (uvicorn's proxy-headers middleware with
   exactly those networks; uvicorn's own, which trusts 127.0.0.1 by default, is off).

:func:`serve` runs it on uvicorn, in one process or ``api_workers`` processes.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import json
import logging
import os
import threading
from collections.abc import AsyncIterator
from typing import Any, Protocol

from keepdown.api import ApiContext, create_app
from keepdown.api.hash_pool import HashPool
from keepdown.api.ratelimit import ClientLimiter, RateLimiter
from keepdown.app.runtime import Runtime
from keepdown.app.web import mount_web
from keepdown.app.workers import EmbeddedWorkers
from keepdown.clock import Clock
from keepdown.crawl.fetcher import Fetcher
from keepdown.crawl.transport import Resolver
from keepdown.errors import ConfigurationError, FetchError, InputTooLarge, StorageError
from keepdown.hashing import HashResult, hash_bytes
from keepdown.matching.chain import MatchChain
from keepdown.settings import Settings, load_settings

__all__ = ["build_app", "serve"]

log = logging.getLogger("keepdown.app")


class _Refresher:
    """Polls the banks and refreshes the match chain on a daemon thread."""

    def __init__(self, matcher: MatchChain, every: float) -> None:
        self.matcher = matcher
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
                self.matcher.refresh()
            except StorageError:
                log.exception("match index refresh failed; keeping the current index")


def build_app(
    settings: Settings,
    *,
    clock: Clock | None = None,
    resolver: Resolver | None = None,
    refresh_in_background: bool = True,
    runtime: Runtime | None = None,
) -> tuple[Any, Runtime]:
    """The ASGI app and the runtime behind it (steps in the module docstring)."""
    runtime = runtime or Runtime(settings, clock=clock, resolver=resolver)
    matcher = runtime.matcher  # built now: the index loads before the app answers
    fetcher = Fetcher(settings, resolver=runtime.resolver, clock=runtime.clock)
    ctx = _context(runtime, fetcher)
    workers: list[_Worker] = [_Refresher(matcher, settings.index_refresh_seconds)]
    if settings.serve_workers > 0:  # task consumers in this process, on this runtime
        workers.append(EmbeddedWorkers(runtime))

    @contextlib.asynccontextmanager
    async def lifespan() -> AsyncIterator[None]:
        # what a killed process left: staged bank files, imports still marked running
        await asyncio.to_thread(runtime.banks.recover_interrupted_imports)
        started = workers if refresh_in_background else []
        for worker in started:
            worker.start()
        try:
            yield
        finally:
            for worker in reversed(started):
                worker.stop()
            await fetcher.aclose()
            runtime.close()

    app = create_app(ctx, lifespan=lifespan)
    public_limit = ClientLimiter.public_reports(settings)  # the API's and the web form's
    app.state.public_report_limiter = public_limit
    mount_web(app, ctx, runtime, public_limit)  # the web pages under /web (keepdown.app.web)
    _trust_proxies(app, settings)
    return app, runtime


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


def _context(runtime: Runtime, fetcher: Fetcher) -> ApiContext:
    """The API's view of the runtime."""
    settings = runtime.settings

    def hasher(data: bytes, dihedral: bool, robust: bool) -> HashResult:
        return hash_bytes(
            data,
            settings=settings,
            mode=settings.hash_mode,
            dihedral=dihedral,
            robust=robust,
            wait=settings.hash_memory_wait_seconds,  # then 503 with Retry-After
        )

    async def fetch_url(url: str, max_bytes: int) -> tuple[bytes, str]:
        result = await fetcher.fetch(url, max_bytes=max_bytes)
        if result.truncated:
            raise InputTooLarge(f"the media at {url} is over {max_bytes} bytes", limit=max_bytes)
        if not result.ok:
            raise FetchError(f"{url} answered HTTP {result.status}", url=url, status=result.status)
        return result.body, result.content_type

    notices = runtime.notices
    return ApiContext(
        settings=settings,
        auth=runtime.auth,
        banks=runtime.banks,
        bank_reader=runtime.storage.banks,
        matcher=runtime.matcher,
        hasher=hasher,
        hash_pool=HashPool.from_settings(settings),
        fetch_url=fetch_url,
        clock=runtime.clock,
        limiter=RateLimiter.from_settings(settings),
        check_database=runtime.check_database,
        url_reports=runtime.crawling.reports,
        review_store=runtime.review_store,
        events=runtime.storage.events,
        providers=notices.providers,
        notices=notices.service,
        notice_links=notices.links,
        transparency=runtime.accountability,
        finance=runtime.accountability,
        evidence=runtime.evidence,
        platform=runtime.submissions.platform,
        federation=runtime.federation,
        filings=runtime.filings,
        blocklist=runtime.blocklist,
        exchanges=runtime.exchanges,
    )


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
