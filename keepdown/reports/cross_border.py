"""The transparency report's cross-border section: referrals between hotlines, computed once
from events (docs/federation.md, docs/transparency.md).

Inputs, all recorded by ``keepdown.app.referrals``:

- ``peer_referral_sent``: one of our referrals was delivered to a peer (``at``);
- ``peer_referral_received``: a peer's referral was accepted here;
- ``peer_referral_status``: a peer reported what became of one of ours (``status``,
  ``status_at``: when it happened at the peer).

Per peer: referrals sent and received in the period (by the sent/received event's time);
for the referrals sent in the period, the time from referral (sent) to the peer's first
``notice_sent`` and to its first ``removed``, in hours: median and p90 (nearest rank,
:mod:`keepdown.reports.stats`), over the referrals that reached that step; ``declined``
counts the referrals the peer declined. The same figures over all peers are the totals.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from keepdown.events import Event, PeerReferralReceived, PeerReferralSent, PeerReferralStatus
from keepdown.reports.stats import hours, median, p90

__all__ = ["CROSS_BORDER_KINDS", "CrossBorder", "PeerFigures", "cross_border"]

CROSS_BORDER_KINDS = (PeerReferralSent.kind, PeerReferralReceived.kind, PeerReferralStatus.kind)


@dataclass(frozen=True)
class PeerFigures:
    """One peer's row (or the totals, ``peer`` "all")."""

    peer: str
    sent: int
    received: int
    noticed: int
    removed: int
    declined: int
    notice_median_hours: float | None
    notice_p90_hours: float | None
    removal_median_hours: float | None
    removal_p90_hours: float | None

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class CrossBorder:
    peers: tuple[PeerFigures, ...]
    totals: PeerFigures

    def to_dict(self) -> dict[str, Any]:
        return {"peers": [p.to_dict() for p in self.peers], "totals": self.totals.to_dict()}


def cross_border(events: Iterable[Event], start: datetime, end: datetime) -> CrossBorder:
    """The section for ``[start, end)`` (module docstring)."""
    sent: dict[tuple[str, str], datetime] = {}
    received: dict[str, int] = {}
    firsts: dict[tuple[str, str, str], datetime] = {}
    for e in events:
        if isinstance(e, PeerReferralSent):
            sent.setdefault((e.peer, e.reference), e.at)
        elif isinstance(e, PeerReferralReceived) and start <= e.at < end:
            received[e.peer] = received.get(e.peer, 0) + 1
        elif isinstance(e, PeerReferralStatus):
            key = (e.peer, e.reference, e.status)
            if key not in firsts or e.status_at < firsts[key]:
                firsts[key] = e.status_at
    in_period = {k: at for k, at in sent.items() if start <= at < end}
    names = sorted({p for p, _ in in_period} | set(received))
    rows = tuple(_row(name, in_period, received, firsts) for name in names)
    return CrossBorder(rows, _row("all", in_period, received, firsts, every=True))


def _row(
    name: str,
    sent: dict[tuple[str, str], datetime],
    received: dict[str, int],
    firsts: dict[tuple[str, str, str], datetime],
    *,
    every: bool = False,
) -> PeerFigures:
    mine = {k: at for k, at in sent.items() if every or k[0] == name}
    to_notice, to_removal, declined = [], [], 0
    for (peer, ref), at in mine.items():
        if (noticed := firsts.get((peer, ref, "notice_sent"))) is not None:
            to_notice.append(hours(noticed - at))
        if (removed := firsts.get((peer, ref, "removed"))) is not None:
            to_removal.append(hours(removed - at))
        declined += (peer, ref, "declined") in firsts
    return PeerFigures(
        peer=name,
        sent=len(mine),
        received=sum(received.values()) if every else received.get(name, 0),
        noticed=len(to_notice),
        removed=len(to_removal),
        declined=declined,
        notice_median_hours=median(to_notice),
        notice_p90_hours=p90(to_notice),
        removal_median_hours=median(to_removal),
        removal_p90_hours=p90(to_removal),
    )
