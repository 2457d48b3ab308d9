"""What the web pages need from the rest of keepdown, handed in by ``keepdown.app.web``.

Pages never build services: the composition root makes a :class:`WebContext` and
:func:`keepdown.web.create_web_app` stores it on ``app.state.web``. Services another part of
keepdown may not have wired (notices, providers, reported URLs) are optional; a page whose
service is missing says so instead of failing.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from fastapi import Request

from keepdown.auth import AuthService
from keepdown.auth.signin import SignIn
from keepdown.banks.service import BankService
from keepdown.clock import Clock
from keepdown.review import ReviewService
from keepdown.settings import Settings

__all__ = ["MediaFetcher", "WebContext", "web_context"]

#: Fetches one URL's media through the crawler's SSRF guard: (bytes, content type).
MediaFetcher = Callable[[str, int], Awaitable[tuple[bytes, str]]]


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
