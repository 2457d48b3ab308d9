"""What the API needs from the rest of keepdown, handed in by the composition root.

The routes never build services themselves: :func:`keepdown.app.server.build_app` makes an
:class:`ApiContext` from settings and stores it on ``app.state.ctx``. The match index is seen
through the small :class:`Matcher` protocol (``keepdown.matching.live.BankIndex`` implements it),
URL fetching through :class:`UrlFetcher` (the crawler's SSRF-guarded fetcher), bank reads and
setting changes through :class:`BankReader` and :class:`BankSettingsWriter` (SQL stores).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from fastapi import Request

from keepdown.auth import AuthService
from keepdown.banks.model import Bank, Entry
from keepdown.banks.service import BankService
from keepdown.clock import Clock
from keepdown.hashing import HashResult
from keepdown.hashing.types import HashValue
from keepdown.matching.live import MatchView
from keepdown.settings import Settings

if TYPE_CHECKING:  # only for annotations: these modules import much more than the API needs
    from keepdown.api.ratelimit import RateLimiter
    from keepdown.events import EventStore
    from keepdown.notices.links import LinkSigner
    from keepdown.notices.service import NoticeService
    from keepdown.storage.bank_settings import BankChanges
    from keepdown.storage.provider_store import SqlProviderStore
    from keepdown.storage.report_store import ReportStore

__all__ = [
    "ApiContext",
    "BankReader",
    "BankSettingsWriter",
    "MatchView",
    "Matcher",
    "UrlFetcher",
    "get_context",
]


class Matcher(Protocol):
    """The live match index over every enabled bank."""

    def match_result(self, result: HashResult) -> list[MatchView]:
        """Matches of one hashed input: exact hashes, then PDQ (with its dihedral variants)."""
        ...

    def match_hashes(self, hashes: Sequence[HashValue]) -> list[list[MatchView]]:
        """Matches of each hash, in order."""
        ...

    def status(self) -> dict[str, Any]:
        """Entries per signal type, the bank version applied and when it was last refreshed."""
        ...

    @property
    def ready(self) -> bool: ...


class UrlFetcher(Protocol):
    """Fetches a URL's media through the SSRF guard: (bytes, content type)."""

    async def __call__(self, url: str, max_bytes: int) -> tuple[bytes, str]: ...


class BankReader(Protocol):
    """Reads banks and pages of entries (``keepdown.storage.bank_store.SqlBankStore``)."""

    def get_bank(self, name: str) -> Bank: ...

    def list_banks(self) -> list[Bank]: ...

    def entry_counts(self, bank_id: int) -> dict[str, dict[str, int]]: ...

    def page_entries(
        self, bank_id: int, *, after: int = 0, limit: int = 100, include_removed: bool = True
    ) -> list[Entry]: ...


class BankSettingsWriter(Protocol):
    """Changes a bank's settings (``keepdown.storage.bank_settings.SqlBankSettings``)."""

    def update(self, name: str, changes: BankChanges, now: datetime) -> None: ...


@dataclass
class ApiContext:
    """Every service the routes use."""

    settings: Settings
    auth: AuthService
    banks: BankService
    bank_reader: BankReader
    bank_settings: BankSettingsWriter
    matcher: Matcher
    hasher: Callable[[bytes, bool], HashResult]  # (data, dihedral)
    fetch_url: UrlFetcher
    clock: Clock
    limiter: RateLimiter
    check_database: Callable[[], None]
    #: Reported URLs to crawl; None when not wired.
    url_reports: ReportStore | None = None
    #: Where API actions emit lifecycle events; None: nowhere.
    events: EventStore | None = None
    #: The provider registry; None when not wired.
    providers: SqlProviderStore | None = None
    #: Notices and their lifecycle; None when not wired.
    notices: NoticeService | None = None
    #: Signs and checks notices' response links; None when not wired.
    notice_links: LinkSigner | None = None
    #: keepdown.app.accountability.AccountabilityServices (reports, indicators); None: not wired.
    accountability: Any = None


def get_context(request: Request) -> ApiContext:
    """The context the app was built with."""
    ctx: ApiContext = request.app.state.ctx
    return ctx
