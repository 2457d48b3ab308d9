"""What one crawl run did: counters keyed like Scrapy stats, and why the run ended.

:class:`CrawlStats` counts (``page/fetched``, ``media/hashed``, ``error/<code>``...) and says
how the run ended (:class:`RunEnd`), which the worker turns into the crawl's state:

- ``exhausted``: nothing left to fetch: the crawl is done;
- ``page_budget``: pages are left but the run's page limit is reached (the crawl's own
  ``max_pages``, or the turn the worker gave it: the worker tells which);
- ``byte_budget``: the crawl's ``max_bytes`` were downloaded: done;
- ``paused``: only retries due later than ``crawl_max_retry_after_seconds`` are left
  (``resume_at`` says when the first is due): another run resumes them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

__all__ = ["CrawlStats", "RunEnd"]


class RunEnd(StrEnum):
    EXHAUSTED = "exhausted"
    PAGE_BUDGET = "page_budget"
    BYTE_BUDGET = "byte_budget"
    PAUSED = "paused"


@dataclass
class CrawlStats:
    """Counters of one run and how it ended (module docstring)."""

    counts: dict[str, int] = field(default_factory=dict)
    ended: RunEnd | None = None
    resume_at: datetime | None = None

    def inc(self, key: str, by: int = 1) -> None:
        self.counts[key] = self.counts.get(key, 0) + by

    def __getitem__(self, key: str) -> int:
        return self.counts.get(key, 0)
