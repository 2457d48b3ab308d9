"""The one matcher every door asks, so the same picture gets the same verdict everywhere.

The API (uploads, URL checks, hash lookups, the Shield and HMA endpoints), the crawler, the
re-checks of notices, ``keepdown match``, ``keepdown scan`` and the task workers all match
through one :class:`MatchChain` that :mod:`keepdown.app.runtime` builds once per process:

1. the **source**, the process's bank index with videos (:class:`~keepdown.matching.vpdq.
   VideoMatcher` over :class:`~keepdown.matching.live.BankIndex`), finds every candidate:
   exact hashes, PDQ with the 8 rotations/mirrors, video frames and vPDQ;
2. each **stage**, in the order the runtime gives, sees the query (its hashes, never its
   pixels, and which door asks) and the matches so far, and returns the ones it lets through,
   possibly marked ``review_only`` (the allow-list drops pairs an analyst rejected; later
   policies such as quarantine or robust variants send matches to review);
3. :meth:`MatchChain.verdict` applies the one rule (:func:`~keepdown.matching.views.
   verdict_of`): confirmed, review, or no match.

A new rule is a new stage added in one place, the runtime; no door builds a matcher itself.
Which doors hash the robust query variants is the chain's to say too
(:meth:`MatchChain.wants_robust`, from the ``robust_doors`` setting): a door asks before it
hashes, so the same picture is hashed the same way wherever it enters through that door.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from keepdown.errors import ConfigurationError
from keepdown.hashing.types import HashValue, PdqHash, SignalType
from keepdown.index.snapshot import IndexSnapshot
from keepdown.matching.live import BankIndex
from keepdown.matching.matcher import Verdict
from keepdown.matching.views import MatchView, verdict_of
from keepdown.matching.vpdq import VideoMatcher

__all__ = ["DOORS", "MatchChain", "MatchQuery", "MatchStage"]

#: The ways into matching (``MatchQuery.door``).
DOORS = ("upload", "lookup", "crawl", "scan", "recheck", "match")


@dataclass(frozen=True)
class MatchQuery:
    """What a stage may look at: the input's SHA-256 and PDQ hashes (main and every rotation
    or mirror), the door that asks (``upload``, ``lookup``, ``crawl``, ``scan``, ``recheck``,
    ``match``) and the organisation behind it when known."""

    sha256: str | None = None
    pdqs: tuple[PdqHash, ...] = ()
    door: str = ""
    organisation: str | None = None

    @classmethod
    def of_result(cls, result: Any, door: str = "", organisation: str | None = None) -> MatchQuery:
        """From a ``keepdown.hashing.HashResult`` (or anything with its attributes)."""
        sha = getattr(result, "sha256", None)
        pdqs = [result.pdq] if getattr(result, "pdq", None) is not None else []
        for variant in (getattr(result, "dihedral", None) or {}).values():
            pdqs.append(variant if isinstance(variant, PdqHash) else variant.hash)
        return cls(sha.hex if sha is not None else None, tuple(pdqs), door, organisation)

    @classmethod
    def of_value(
        cls, value: HashValue, door: str = "", organisation: str | None = None
    ) -> MatchQuery:
        """From one bare hash (a lookup by hash)."""
        sha = value.hex if value.signal_type == SignalType.SHA256 else None
        pdqs = (value,) if isinstance(value, PdqHash) else ()
        return cls(sha, pdqs, door, organisation)


class MatchStage(Protocol):
    """One policy after the index (module docstring, step 2)."""

    def refresh(self) -> None:
        """Re-read what the stage depends on (called with the index's refresh)."""

    def apply(self, query: MatchQuery, matches: list[MatchView]) -> list[MatchView]:
        """The matches this stage lets through, possibly marked review-only."""


class MatchChain:
    """The source, then the stages, then the verdict (module docstring)."""

    def __init__(
        self,
        source: VideoMatcher,
        stages: Sequence[MatchStage] = (),
        *,
        robust_doors: Iterable[str] = (),
    ) -> None:
        self.source = source
        self.stages = tuple(stages)
        self.robust_doors = frozenset(robust_doors)
        unknown = sorted(self.robust_doors - set(DOORS) - {"lookup"})
        if unknown or "lookup" in self.robust_doors:
            bad = unknown[0] if unknown else "lookup"
            raise ConfigurationError(
                f"robust_doors: {bad!r} is not a door that hashes pictures "
                "(crawl, scan, match, recheck, upload)"
            )

    def wants_robust(self, door: str) -> bool:
        """True when ``door`` should hash the robust query variants: it is one of the
        ``robust_doors`` and an enabled bank opted in (otherwise they would find nothing)."""
        return door in self.robust_doors and self.source.index.robust_banks

    # --- matching -----------------------------------------------------------------------

    def match_result(
        self, result: Any, *, door: str = "", organisation: str | None = None
    ) -> list[MatchView]:
        """Matches of one hashed input (images, exact hashes, videos), after every stage."""
        found = self.source.match_result(result)
        if not self.stages:
            return found
        return self._staged(MatchQuery.of_result(result, door, organisation), found)

    def match_hashes(
        self, values: Sequence[HashValue], *, door: str = "", organisation: str | None = None
    ) -> list[list[MatchView]]:
        """Matches of each bare hash, in order (PDQ looked up as one batch)."""
        found = self.source.match_hashes(values)
        if not self.stages:
            return found
        return [
            self._staged(MatchQuery.of_value(value, door, organisation), matches) if matches else []
            for value, matches in zip(values, found, strict=True)
        ]

    def _staged(self, query: MatchQuery, matches: list[MatchView]) -> list[MatchView]:
        for stage in self.stages:
            if not matches:
                break
            matches = stage.apply(query, matches)
        return matches

    @staticmethod
    def verdict(matches: Iterable[MatchView]) -> Verdict:
        """What the matches call for: the one rule (:func:`verdict_of`)."""
        return verdict_of(matches)

    # --- the index behind it ------------------------------------------------------------

    @property
    def index(self) -> BankIndex:
        """The process's bank index (checkpoints, status)."""
        return self.source.index

    @property
    def ready(self) -> bool:
        return self.source.ready

    @property
    def snapshot(self) -> IndexSnapshot:
        return self.source.snapshot

    @property
    def refreshed_at(self) -> datetime | None:
        return self.source.refreshed_at

    def status(self) -> dict[str, Any]:
        return self.source.status()

    def refresh(self) -> bool:
        """Apply what changed in the banks, then let every stage re-read its own state."""
        changed = self.source.refresh()
        for stage in self.stages:
            stage.refresh()
        return changed

    def close(self) -> None:
        self.source.close()
