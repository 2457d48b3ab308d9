"""What a platform using keepdown does with self-submitted hashes: its one door.

- :meth:`PlatformDesk.check_upload`: after an upload is matched (the matcher chain), a match
  in a self-submitted bank holds it (:mod:`keepdown.submissions.holds`); the answer carries
  the hold and its verdict (review, block once an analyst confirmed the same file, allow once
  an analyst said it is not a match);
- removal requests: opened by the platform for a person, read, copies recorded removed or
  dismissed (:mod:`keepdown.submissions.removal`), a sweep asked for, the evidence pack
  (:mod:`keepdown.submissions.evidence`).

Every read and change is scoped: a platform's key sees its own organisation's holds and
requests only; the operator's analysts see all (the API checks roles; this checks scope).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from keepdown.clock import Clock
from keepdown.errors import NotFound
from keepdown.events import EventSource
from keepdown.submissions.evidence import evidence_pack
from keepdown.submissions.holds import (
    Hold,
    HoldMatch,
    HoldService,
    UploadHashes,
    best_self_submitted,
)
from keepdown.submissions.removal import RemovalService
from keepdown.submissions.requests import RemovalRequest

__all__ = ["PlatformDesk"]


@dataclass
class PlatformDesk:
    """See the module docstring. ``self_submitted`` tells a bank's name is a self-submitted
    bank's; ``sweep_soon`` queues a sweep of one request (a task)."""

    removals: RemovalService
    holds: HoldService
    events: EventSource
    clock: Clock
    operator: str
    self_submitted: Callable[[str], bool]
    sweep_soon: Callable[[int], None]

    def check_upload(
        self,
        *,
        organisation: str,
        key_id: str,
        content_ref: str,
        result: Any,
        matches: Iterable[Any],
    ) -> Hold | None:
        """The hold of an upload whose matches include a self-submitted bank, else None.
        ``result`` is the upload's :class:`~keepdown.hashing.HashResult`; ``matches`` its
        :class:`~keepdown.matching.live.MatchView` list."""
        best = best_self_submitted(matches, self.self_submitted)
        if best is None:
            return None
        hashes = UploadHashes(
            md5=result.md5.hex,
            sha256=result.sha256.hex,
            pdq=result.pdq.hex if result.pdq is not None else None,
            quality=result.quality,
        )
        match = HoldMatch(
            bank=best.bank,
            entry_id=best.entry_id,
            signal_type=best.signal_type,
            match_type=best.match_type,
            distance=best.distance,
            variant=best.variant,
        )
        return self.holds.hold_upload(
            organisation=organisation,
            key_id=key_id,
            content_ref=content_ref,
            hashes=hashes,
            match=match,
        )

    def hold(self, hold_id: int, organisation: str | None) -> Hold:
        """A hold; another organisation's (when ``organisation`` is given) is NotFound."""
        hold = self.holds.store.get(hold_id)
        if organisation is not None and hold.organisation != organisation:
            raise NotFound("no such held upload")
        return hold

    def request_of_hold(self, hold: Hold) -> RemovalRequest | None:
        return self.removals.store.by_hold(hold.id)

    def decide(
        self, hold_id: int, *, analyst: str, decision: str, note: str = ""
    ) -> tuple[Hold, RemovalRequest | None]:
        """An analyst's decision; a confirmed hold's request is swept at once."""
        hold, request = self.holds.decide(hold_id, analyst=analyst, decision=decision, note=note)
        if request is not None:
            self.sweep_soon(request.id)
        return hold, request

    def open_for_person(
        self, *, organisation: str, content: list[str], by: str, **details: Any
    ) -> RemovalRequest:
        request = self.removals.from_person(
            organisation=organisation, content_refs=content, by=by, **details
        )
        self.sweep_soon(request.id)
        return request

    def evidence(self, request_id: int, organisation: str | None) -> dict[str, Any]:
        request = self.removals.get(request_id, organisation)
        hashes = self.removals.store.hashes(request.id)
        return evidence_pack(
            request, hashes, self.events, now=self.clock.now(), operator=self.operator
        )
