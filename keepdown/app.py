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
from keepdown.crawl.fetcher import Fetcher
from keepdown.crawl.transport import Resolver
from keepdown.errors import Conflict, FetchError, InputTooLarge, StorageError
from keepdown.hashing import HashResult, hash_bytes, hash_file
from keepdown.hashing.types import SignalType
from keepdown.matching.live import BankIndex
from keepdown.settings import Settings
from keepdown.storage import Storage, open_storage
from keepdown.storage.auth_store import SqlAuthStore
from keepdown.storage.index_feed import IndexFeed, ping

__all__ = [
    "DemoInfo",
    "Services",
    "auth_service",
    "build_app",
    "open_services",
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
    )
    refresher = _Refresher(services.index, float(settings.index_refresh_seconds))

    @contextlib.asynccontextmanager
    async def lifespan() -> AsyncIterator[None]:
        if refresh_in_background:
            refresher.start()
        try:
            yield
        finally:
            if refresh_in_background:
                refresher.stop()
            await fetcher.aclose()
            services.storage.close()

    return create_app(ctx, lifespan=lifespan), services


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
