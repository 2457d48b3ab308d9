"""What the web pages need from the rest of keepdown, handed in by ``keepdown.app.web``.

Pages never build services: the composition root makes a :class:`WebContext` from the
process's runtime and :func:`keepdown.web.create_web_app` stores it on ``app.state.web``.
Every field is required and typed, the public form's per-client limit included: a key-less
form is never unlimited.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

from fastapi import Request

from keepdown.auth import AuthService
from keepdown.auth.signin import SignIn
from keepdown.banks.model import BankReader
from keepdown.banks.service import BankService
from keepdown.blocklist.desk import BlocklistDesk
from keepdown.clock import Clock
from keepdown.crawl.reported import ReportedUrls
from keepdown.events import EventStore
from keepdown.finance.alerts import FinanceDesk
from keepdown.notices.providers import ProviderStore
from keepdown.notices.service import NoticeService
from keepdown.reports.report import TransparencySource
from keepdown.review import ReviewService
from keepdown.review.model import ReviewStore
from keepdown.settings import Settings
from keepdown.submissions.desk import Desk

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
    """Every service the pages use (all of them, always: no page checks for a missing one)."""

    settings: Settings
    clock: Clock
    auth: AuthService
    signin: SignIn
    review: ReviewService
    #: Sighting lists, decisions, the allow-list.
    review_store: ReviewStore
    banks: BankService
    #: Banks and pages of their entries.
    bank_store: BankReader
    fetch_media: MediaFetcher
    #: The public report form's limit per client address.
    public_limit: ClientLimit
    notices: NoticeService
    providers: ProviderStore
    url_reports: ReportedUrls
    #: The stored events, for figures.
    events: EventStore
    #: Transparency reports of a period, from the stored events.
    transparency: TransparencySource
    #: Financial indicators and their exports.
    finance: FinanceDesk
    #: The self-submission page's door: submit hashes, check or withdraw a case.
    self_submission: Desk
    #: The URL block list (the public splash page and its appeal form).
    blocklist: BlocklistDesk


def web_context(request: Request) -> WebContext:
    ctx: WebContext = request.app.state.web
    return ctx
