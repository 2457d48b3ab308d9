"""Accuracy per source: how often each hash list's matches were right, per signal type.

The EU's interim regulation on voluntary CSAM detection (Regulation (EU) 2021/1232, Article
3(1)(g)(vii)) asks providers for the error rates of the technologies they use, and the DSA
(Article 15(1)(e)) for indicators of the accuracy of automated means; a hotline taking lists
from exchanges (NCMEC, StopNCII, ThreatExchange) must be able to say which list is wrong how
often. From the events, per bank (a feed is a bank), its source and the signal type of the
entries matched:

- ``matches``: sightings recorded on the bank's entries;
- ``auto_confirmed``: of those, confirmed without review (exact, trusted, not held back);
- ``sent_to_review``: of those, sent to an analyst;
- ``confirmed`` and ``rejected``: analysts' decisions (confirm, not a match);
- ``false_positive_rate``: rejected / (confirmed + rejected), None before any decision;
- ``quarantined``: entries of the bank quarantined for a burst of matches.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import asdict, dataclass
from typing import Any

from keepdown.reports.ledger import Ledger
from keepdown.reports.period import Period
from keepdown.reports.stats import share

__all__ = ["SourceAccuracy", "source_accuracy"]


@dataclass(frozen=True)
class SourceAccuracy:
    """One bank's (source's) matches of one signal type, and how they turned out."""

    bank: str
    source: str
    signal_type: str
    matches: int
    auto_confirmed: int
    sent_to_review: int
    confirmed: int
    rejected: int
    false_positive_rate: float | None
    quarantined: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def source_accuracy(ledger: Ledger, period: Period) -> list[SourceAccuracy]:
    """The figures of module docstring for ``period``, by bank and signal type."""
    counts: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
    for s in ledger.sightings:
        if s.at in period:
            c = counts[(s.bank, s.signal_type or "unknown")]
            c["matches"] += 1
            c["auto" if s.state == "confirmed" else "review"] += 1
    for r in ledger.reviews:
        if r.at in period and r.decision in ("confirm", "not_a_match"):
            counts[(r.bank, r.signal_type or "unknown")][r.decision] += 1
    for at, bank, signal_type in ledger.quarantines:
        if at in period:
            counts[(bank, signal_type or "unknown")]["quarantined"] += 1
    out = []
    for (bank, signal_type), c in sorted(counts.items()):
        out.append(
            SourceAccuracy(
                bank=bank,
                source=ledger.bank_sources.get(bank, ""),
                signal_type=signal_type,
                matches=c["matches"],
                auto_confirmed=c["auto"],
                sent_to_review=c["review"],
                confirmed=c["confirm"],
                rejected=c["not_a_match"],
                false_positive_rate=share(c["not_a_match"], c["confirm"] + c["not_a_match"]),
                quarantined=c["quarantined"],
            )
        )
    return out
