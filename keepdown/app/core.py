"""Storage and the services every entry point shares: auth, banks and the live match index.

Each other module of :mod:`keepdown.app` starts from :func:`open_services` and adds the parts
its entry point needs (the API server, the crawl worker, the notice worker, the demo seed).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass

from keepdown.auth import AuthService
from keepdown.banks.service import BankService
from keepdown.clock import Clock
from keepdown.matching.live import BankIndex
from keepdown.settings import Settings
from keepdown.storage import Storage, open_storage
from keepdown.storage.auth_store import SqlAuthStore
from keepdown.storage.index_feed import IndexFeed

__all__ = ["Services", "auth_service", "open_services", "storage_auth"]


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
        auth_store,
        auth_store,
        clock=clock,
        cache_seconds=settings.auth_cache_seconds,
        refusals_per_minute=settings.audit_refusals_per_minute,
    )
    banks = BankService(storage.banks, storage.events, clock=clock)
    index = BankIndex.from_settings(settings, IndexFeed(storage.engine), storage.banks.list_banks)
    return Services(storage=storage, auth=auth, banks=banks, index=index)


def storage_auth(storage: Storage) -> AuthService:
    """An auth service on an open storage (the CLI's bank commands audit through it)."""
    store = SqlAuthStore(storage.engine)
    return AuthService(store, store)


@contextlib.contextmanager
def auth_service(settings: Settings) -> Iterator[AuthService]:
    """An auth service on the configured database (for the ``key`` and ``org`` commands)."""
    storage = open_storage(settings)
    try:
        yield storage_auth(storage)
    finally:
        storage.close()
