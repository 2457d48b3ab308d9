"""Page observers: a hook for code that reads the pages a crawl fetched.

The crawler calls each observer in ``page_observers`` with a :class:`PageSeen` for every
HTML page it fetched, after the page's links and media were extracted. The financial
indicators (``keepdown.finance``: payment addresses, wallets on offending pages) plug in
here; the crawl package knows nothing of them: the composition root passes the observers.

An observer runs on the crawler's event loop: keep it quick (or hand the text to a queue).
An exception in an observer is logged and counted (``observer/error``); it never stops the
crawl nor changes what the crawl records. ``text`` is the page as the link extractor parsed
it: decoded by its declared charset (else UTF-8, bad bytes replaced), and never longer than
``crawl_max_page_bytes`` bytes of the response.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

__all__ = ["PageObserver", "PageSeen", "notify_observers"]

log = logging.getLogger("keepdown.crawl.observers")


@dataclass(frozen=True)
class PageSeen:
    """One fetched HTML page, as the crawler saw it."""

    crawl_id: str
    page_url: str  # the URL the crawl asked for
    final_url: str  # after redirects
    fetched_at: datetime
    status: int
    server_ip: str | None
    text: str


PageObserver = Callable[[PageSeen], object]


def notify_observers(observers: Sequence[PageObserver], seen: PageSeen) -> int:
    """Call every observer; the number that raised (each logged, none re-raised)."""
    failed = 0
    for observer in observers:
        try:
            observer(seen)
        except Exception:
            failed += 1
            log.exception("page observer %r failed on %s", observer, seen.final_url)
    return failed
