"""What a report may ask of its crawl: scope rules and budgets, bounded by the operator.

Analysts reporting a URL (``POST /api/v1/reports``, ``keepdown report``) may narrow or widen
the crawl made from it: follow other sites or not, how deep, how many pages and bytes, which
URLs to include or exclude (regular expressions). Anything left out takes the operator's
default (``crawl_same_site``, ``crawl_max_depth``, ``crawl_max_pages``, ``crawl_max_bytes``);
anything asked must stay within the operator's caps (``crawl_cap_depth``, ``crawl_cap_pages``,
``crawl_cap_bytes``) so a report cannot start an unbounded crawl. Patterns are limited in
number and length and must compile. The public form gets no say: its crawls use defaults.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any

from keepdown.errors import InvalidInput
from keepdown.settings import Settings

__all__ = ["MAX_PATTERNS", "MAX_PATTERN_CHARS", "ScopeRequest"]

MAX_PATTERNS = 20  # per list (include, exclude)
MAX_PATTERN_CHARS = 300


def _check_patterns(name: str, patterns: tuple[str, ...]) -> None:
    if len(patterns) > MAX_PATTERNS:
        raise InvalidInput(f"at most {MAX_PATTERNS} {name} patterns", field=name)
    for pattern in patterns:
        if not pattern or len(pattern) > MAX_PATTERN_CHARS:
            raise InvalidInput(
                f"each {name} pattern must have 1 to {MAX_PATTERN_CHARS} characters", field=name
            )
        try:
            re.compile(pattern)
        except re.error as exc:
            raise InvalidInput(f"bad {name} pattern {pattern!r}: {exc}", field=name) from exc


def _check_bound(name: str, value: int | None, low: int, cap: int, setting: str) -> None:
    if value is None:
        return
    if value < low:
        raise InvalidInput(f"{name} must be at least {low}", field=name)
    if value > cap:
        raise InvalidInput(
            f"{name} may be at most {cap} (the operator's {setting})", field=name, cap=cap
        )


@dataclass(frozen=True)
class ScopeRequest:
    """Scope and budgets asked for one crawl; ``None`` / empty means "the default"."""

    same_site: bool | None = None
    max_depth: int | None = None
    max_pages: int | None = None
    max_bytes: int | None = None
    include: tuple[str, ...] = field(default=())
    exclude: tuple[str, ...] = field(default=())

    def checked(self, settings: Settings) -> ScopeRequest:
        """This request if it is within the operator's caps; :class:`InvalidInput` if not."""
        _check_bound("max_depth", self.max_depth, 0, settings.crawl_cap_depth, "crawl_cap_depth")
        _check_bound("max_pages", self.max_pages, 1, settings.crawl_cap_pages, "crawl_cap_pages")
        _check_bound("max_bytes", self.max_bytes, 1, settings.crawl_cap_bytes, "crawl_cap_bytes")
        _check_patterns("include", tuple(self.include))
        _check_patterns("exclude", tuple(self.exclude))
        return self

    def as_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for ``CrawlStore.create``."""
        values = asdict(self)
        values["include"] = tuple(self.include)
        values["exclude"] = tuple(self.exclude)
        return values

    @property
    def is_default(self) -> bool:
        return self == ScopeRequest()
