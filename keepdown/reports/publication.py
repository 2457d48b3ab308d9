"""What the public may see of a transparency report: only what the operator made public.

The full report (:func:`keepdown.reports.report.build_report`) is for the operator's staff
and regulators. Anything published to everyone (the public page ``/web/transparency``,
``keepdown report transparency --public``) is first passed through :func:`public_report`:

- **banks** are named only when the operator listed them in ``transparency_public_banks``;
  every other bank's figures are added up into one row per detection channel, named
  :data:`OTHER_BANKS`. A bank's *source* is free text typed by whoever made the bank (it
  may hold a URL, a hash, a person's name): it never appears in public output;
- **platforms** (the organisations whose uploads are checked) are named only when the
  organisation agreed, listed in ``transparency_named_platforms``; their figures are shown
  per organisation (a key id is an internal identifier and is never shown), every other
  platform's added up into :data:`OTHER_PLATFORMS`;
- the **accuracy per source** (:mod:`keepdown.reports.accuracy`) follows the banks: named
  when public, without the free-text source, the rest summed per signal type;
- hosting providers stay named: naming the hosts and their time to removal is the report's
  purpose, and they are companies, not the operator's customers.

Totals are unchanged by this: every match and check is still counted, only who it belongs
to is withheld.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, replace

from keepdown.reports.accuracy import SourceAccuracy
from keepdown.reports.figures import BankFigures, PlatformFigures
from keepdown.reports.report import TransparencyReport

__all__ = ["OTHER_BANKS", "OTHER_PLATFORMS", "Publication", "public_report"]

OTHER_BANKS = "other banks"
OTHER_PLATFORMS = "other platforms"


@dataclass(frozen=True)
class Publication:
    """The operator's choices of what is named in public output (settings)."""

    public_banks: frozenset[str] = frozenset()
    named_platforms: frozenset[str] = frozenset()


def public_report(report: TransparencyReport, publication: Publication) -> TransparencyReport:
    """``report`` with only what ``publication`` allows named (module docstring)."""
    return replace(
        report,
        banks=_banks(report.banks, publication.public_banks),
        sources=_sources(report.sources, publication.public_banks),
        platforms=_platforms(report.platforms, publication.named_platforms),
    )


def _banks(rows: Iterable[BankFigures], public: frozenset[str]) -> list[BankFigures]:
    named: list[BankFigures] = []
    others: dict[str, list[BankFigures]] = defaultdict(list)
    for row in rows:
        if row.bank in public:
            named.append(replace(row, bank_source=""))
        else:
            others[row.detection].append(row)
    merged = [_sum_banks(detection, group) for detection, group in sorted(others.items())]
    return named + merged


def _sum_banks(detection: str, group: list[BankFigures]) -> BankFigures:
    def total(field: str) -> int:
        return sum(int(getattr(row, field)) for row in group)

    reviewed = total("review_confirmed") + total("false_positives")
    return BankFigures(
        bank=OTHER_BANKS,
        bank_source="",
        detection=detection,
        matches=total("matches"),
        exact=total("exact"),
        near=total("near"),
        auto_confirmed=total("auto_confirmed"),
        sent_to_review=total("sent_to_review"),
        review_confirmed=total("review_confirmed"),
        false_positives=total("false_positives"),
        error_rate=total("false_positives") / reviewed if reviewed else None,
    )


def _sources(rows: Iterable[SourceAccuracy], public: frozenset[str]) -> list[SourceAccuracy]:
    named: list[SourceAccuracy] = []
    others: dict[str, list[SourceAccuracy]] = defaultdict(list)
    for row in rows:
        if row.bank in public:
            named.append(replace(row, source=""))
        else:
            others[row.signal_type].append(row)
    return named + [_sum_sources(kind, group) for kind, group in sorted(others.items())]


def _sum_sources(signal_type: str, group: list[SourceAccuracy]) -> SourceAccuracy:
    def total(field: str) -> int:
        return sum(int(getattr(row, field)) for row in group)

    reviewed = total("confirmed") + total("rejected")
    return SourceAccuracy(
        bank=OTHER_BANKS,
        source="",
        signal_type=signal_type,
        matches=total("matches"),
        auto_confirmed=total("auto_confirmed"),
        sent_to_review=total("sent_to_review"),
        confirmed=total("confirmed"),
        rejected=total("rejected"),
        false_positive_rate=total("rejected") / reviewed if reviewed else None,
        quarantined=total("quarantined"),
    )


def _platforms(rows: Iterable[PlatformFigures], named: frozenset[str]) -> list[PlatformFigures]:
    groups: dict[str, list[PlatformFigures]] = defaultdict(list)
    for row in rows:
        groups[row.organisation if row.organisation in named else OTHER_PLATFORMS].append(row)
    out = [_sum_platforms(name, groups[name]) for name in sorted(groups) if name != OTHER_PLATFORMS]
    if OTHER_PLATFORMS in groups:
        out.append(_sum_platforms(OTHER_PLATFORMS, groups[OTHER_PLATFORMS]))
    return out


def _sum_platforms(organisation: str, group: list[PlatformFigures]) -> PlatformFigures:
    def total(field: str) -> int:
        return sum(int(getattr(row, field)) for row in group)

    return PlatformFigures(
        key_id="",
        organisation=organisation,
        checked=total("checked"),
        blocked=total("blocked"),
        sent_to_review=total("sent_to_review"),
        allowed=total("allowed"),
        exact=total("exact"),
        near=total("near"),
        automated=total("automated"),
    )
