"""The notice parts of the runtime: providers, notices, the outbox, the re-check tracker.

:func:`notice_services` builds them for :attr:`keepdown.app.runtime.Runtime.notices`; the
API, ``keepdown notices``, ``keepdown provider`` and the task workers' notice and re-check
passes all use those. Re-checks match through the runtime's one match chain.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta

from keepdown.app.runtime import Runtime
from keepdown.clock import Clock
from keepdown.crawl.fetcher import Fetcher
from keepdown.crawl.politeness import Politeness
from keepdown.crawl.transport import Resolver
from keepdown.notices.compose import Composer
from keepdown.notices.links import LinkSigner, link_secret
from keepdown.notices.sealing import secret_box
from keepdown.notices.senders import Sender
from keepdown.notices.service import NoticeService
from keepdown.notices.tracker import Tracker
from keepdown.notices.verify import BankVerifier
from keepdown.settings import Settings
from keepdown.storage import Storage
from keepdown.storage.notice_store import SqlNoticeStore
from keepdown.storage.provider_store import SqlProviderStore

__all__ = ["NoticeServices", "notice_services", "open_notice_services", "provider_registry"]


@contextlib.contextmanager
def provider_registry(settings: Settings) -> Iterator[SqlProviderStore]:
    """The provider registry on the configured database (for ``keepdown provider``)."""
    with Runtime.open(settings) as runtime:
        yield runtime.notices.providers


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
    runtime: Runtime

    def close(self) -> None:
        """Close the runtime these parts belong to."""
        self.runtime.close()


def notice_services(runtime: Runtime) -> NoticeServices:
    """The notice parts of ``runtime`` (:attr:`Runtime.notices` builds them once)."""
    settings, clock, storage = runtime.settings, runtime.clock, runtime.storage
    providers = SqlProviderStore(storage.engine, secret_box(settings))
    notices = SqlNoticeStore(storage.engine)
    links = LinkSigner(
        link_secret(settings),
        clock,
        valid_for=timedelta(days=settings.notice_link_days),
        base_url=settings.notice_public_base_url,
    )
    composer = Composer(settings, links)
    service = NoticeService(notices, providers, composer, runtime.senders, clock, settings)
    resolver = runtime.resolver
    tracker = Tracker(
        notices,
        providers,
        lambda: Fetcher(settings, resolver=resolver, clock=clock),
        BankVerifier(
            settings,
            functools.partial(runtime.matcher.match_result, door="recheck"),
            functools.partial(runtime.matcher.wants_robust, "recheck"),
        ),
        clock,
        settings,
        politeness=runtime.politeness,
    )
    return NoticeServices(
        settings, storage, providers, notices, links, service, tracker, clock, runtime
    )


def open_notice_services(
    settings: Settings,
    *,
    clock: Clock | None = None,
    resolver: Resolver | None = None,
    senders: dict[str, Sender] | None = None,
    politeness: Callable[[], Politeness] | None = None,
) -> NoticeServices:
    """The notice parts of a new :class:`Runtime` (closed with ``.close()``).

    ``senders`` replaces the SMTP and webhook senders (by channel name); ``resolver`` is used
    by re-checks and webhooks (tests map made-up names to loopback); ``politeness`` makes the
    per-host limiter of each re-check pass (default: in-process, from the crawl settings; a
    shared one, e.g. on Redis, spaces re-checks of one host across processes)."""
    runtime = Runtime(
        settings, clock=clock, resolver=resolver, senders=senders, politeness=politeness
    )
    return runtime.notices
