"""What the API needs from the rest of keepdown, handed in by the composition root.

The routes never build services themselves: :func:`keepdown.app.build_api` makes an
:class:`ApiContext` from settings and stores it on ``app.state.ctx``. The match index is seen
through the small :class:`Matcher` protocol (``keepdown.matching.live.BankIndex`` implements it)
and URL fetching through :class:`UrlFetcher` (the crawler's SSRF-guarded fetcher).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from fastapi import Request

from keepdown.auth import AuthService
from keepdown.banks.service import BankService
from keepdown.clock import Clock
from keepdown.hashing import HashResult
from keepdown.hashing.types import HashValue
from keepdown.matching.live import MatchView
from keepdown.settings import Settings

__all__ = ["ApiContext", "MatchView", "Matcher", "UrlFetcher", "get_context"]


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


@dataclass
class ApiContext:
    """Every service the routes use."""

    settings: Settings
    auth: AuthService
    banks: BankService
    matcher: Matcher
    hasher: Callable[[bytes, bool], HashResult]  # (data, dihedral)
    fetch_url: UrlFetcher
    clock: Clock
    limiter: Any  # keepdown.api.ratelimit.RateLimiter (kept loose to avoid an import cycle)
    check_database: Callable[[], None]
    #: keepdown.storage.crawl_store.ReportStore (reported URLs); None when not wired.
    url_reports: Any = None
    #: Where API actions emit lifecycle events (keepdown.events.EventSink); None: nowhere.
    events: Any = None
    #: keepdown.storage.provider_store.SqlProviderStore (the provider registry); None: not wired.
    providers: Any = None
    #: keepdown.notices.service.NoticeService; None when not wired.
    notices: Any = None
    #: keepdown.notices.links.LinkSigner (signed response links); None when not wired.
    notice_links: Any = None
    #: keepdown.app.accountability.AccountabilityServices (reports, indicators); None: not wired.
    accountability: Any = None


def get_context(request: Request) -> ApiContext:
    """The context the app was built with."""
    ctx: ApiContext = request.app.state.ctx
    return ctx
