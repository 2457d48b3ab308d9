"""What the web pages need from the rest of keepdown, handed in by ``keepdown.app.web``.

Pages never build services: the composition root makes a :class:`WebContext` and
:func:`keepdown.web.create_web_app` stores it on ``app.state.web``. Services another part of
keepdown may not have wired (notices, providers, reported URLs) are optional; a page whose
service is missing says so instead of failing. The public form's per-client limit is not:
a key-less form is never unlimited.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

from fastapi import Request

from keepdown.auth import AuthService
from keepdown.auth.signin import SignIn
from keepdown.banks.service import BankService
from keepdown.clock import Clock
from keepdown.review import ReviewService
from keepdown.settings import Settings

__all__ = ["ClientLimit", "MediaFetcher", "WebContext", "web_context"]

#: Fetches one URL's media through the crawler's SSRF guard: (bytes, content type).
MediaFetcher = Callable[[str, int], Awaitable[tuple[bytes, str]]]


class ClientLimit(Protocol):
    """A per-client-address limit (``keepdown.api.ratelimit.ClientLimiter``, the same one the
    key-less API endpoint counts against)."""

    async def hit(self, client: str | None) -> None:
        """Count one request; RateLimited past the limit."""


@dataclass
class WebContext:
    settings: Settings
    clock: Clock
    auth: AuthService
    signin: SignIn
    review: ReviewService
    #: keepdown.storage.review_store.SqlReviewStore (sighting lists, decisions, allow-list).
    review_store: Any
    banks: BankService
    #: keepdown.storage.bank_store.SqlBankStore (entry pages, imports).
    bank_store: Any
    fetch_media: MediaFetcher
    #: The public report form's limit per client address.
    public_limit: ClientLimit
    #: keepdown.notices.service.NoticeService (None: notices not wired).
    notices: Any = None
    #: The provider registry (keepdown.notices.providers.ProviderStore).
    providers: Any = None
    #: Reported URLs (``submit``, ``list``, ``get``).
    url_reports: Any = None
    #: The event store (``read(kind)``), for figures.
    events: Any = None
    #: keepdown.app.accountability.AccountabilityServices (transparency, indicators).
    accountability: Any = None


def web_context(request: Request) -> WebContext:
    ctx: WebContext = request.app.state.web
    return ctx
