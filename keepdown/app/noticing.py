"""The notice worker's parts: providers, notices, senders, the re-check tracker.

``keepdown notices``, ``keepdown provider``, the API and the task workers (their notice and
re-check passes, :mod:`keepdown.app.workers`) all build them here.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta

from keepdown.app.core import open_services
from keepdown.clock import Clock, SystemClock
from keepdown.crawl.fetcher import Fetcher
from keepdown.crawl.politeness import Politeness
from keepdown.crawl.transport import Resolver
from keepdown.matching.live import BankIndex
from keepdown.notices.compose import Composer
from keepdown.notices.links import LinkSigner, link_secret
from keepdown.notices.sealing import secret_box
from keepdown.notices.senders import Sender, SmtpSender, WebhookSender
from keepdown.notices.service import NoticeService
from keepdown.notices.tracker import Tracker
from keepdown.notices.verify import BankVerifier
from keepdown.settings import Settings
from keepdown.storage import Storage, open_storage
from keepdown.storage.notice_store import SqlNoticeStore
from keepdown.storage.provider_store import SqlProviderStore

__all__ = ["NoticeServices", "open_notice_services", "provider_registry"]


@contextlib.contextmanager
def provider_registry(settings: Settings) -> Iterator[SqlProviderStore]:
    """The provider registry on the configured database (for ``keepdown provider``)."""
    storage = open_storage(settings)
    try:
        yield SqlProviderStore(storage.engine, secret_box(settings))
    finally:
        storage.close()


@dataclass
class NoticeServices:
    """What the notice commands, the API and the notice worker use (keepdown.notices)."""

    settings: Settings
    storage: Storage
    providers: SqlProviderStore
    notices: SqlNoticeStore
    links: LinkSigner
    service: NoticeService
    tracker: Tracker
    clock: Clock

    def close(self) -> None:
        self.storage.close()


def _notice_parts(
    settings: Settings,
    storage: Storage,
    index: BankIndex,
    clock: Clock,
    *,
    resolver: Resolver | None = None,
    senders: dict[str, Sender] | None = None,
    politeness: Callable[[], Politeness] | None = None,
) -> NoticeServices:
    box = secret_box(settings)
    providers = SqlProviderStore(storage.engine, box)
    notices = SqlNoticeStore(storage.engine)
    links = LinkSigner(
        link_secret(settings),
        clock,
        valid_for=timedelta(days=settings.notice_link_days),
        base_url=settings.notice_public_base_url,
    )
    if senders is None:
        senders = {
            "email": SmtpSender(settings, clock),
            "webhook": WebhookSender(settings, clock, box, resolver=resolver),
        }
    service = NoticeService(notices, providers, Composer(settings, links), senders, clock, settings)
    tracker = Tracker(
        notices,
        providers,
        lambda: Fetcher(settings, resolver=resolver, clock=clock),
        BankVerifier(settings, index.match_result),
        clock,
        settings,
        politeness=politeness,
    )
    return NoticeServices(settings, storage, providers, notices, links, service, tracker, clock)


def open_notice_services(
    settings: Settings,
    *,
    clock: Clock | None = None,
    resolver: Resolver | None = None,
    senders: dict[str, Sender] | None = None,
    politeness: Callable[[], Politeness] | None = None,
) -> NoticeServices:
    """Storage, the provider registry, the notice service and the re-check tracker.

    ``senders`` replaces the SMTP and webhook senders (by channel name); ``resolver`` is used
    by re-checks and webhooks (tests map made-up names to loopback); ``politeness`` makes the
    per-host limiter of each re-check pass (default: in-process, from the crawl settings; a
    shared one, e.g. on Redis, spaces re-checks of one host across processes)."""
    clock = clock or SystemClock()
    services = open_services(settings, clock)
    services.index.refresh()
    return _notice_parts(
        settings,
        services.storage,
        services.index,
        clock,
        resolver=resolver,
        senders=senders,
        politeness=politeness,
    )
