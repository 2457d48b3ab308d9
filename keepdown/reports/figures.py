"""Transparency figures for one period, computed from a :class:`~keepdown.reports.ledger.Ledger`.

Which period a fact counts in (the rule every figure follows; docs/transparency.md):

- **flows** count in the period in which their event happened: notices (first sent),
  re-notices, locations (first notified), removals (confirmed), and their **time to removal**
  (so a location notified in June and found gone in July counts, with its whole duration, in
  July's removals and time to removal), reappearances, disputes opened and reviewed,
  acknowledgements, withdrawn locations reopened;
- **locations notified** (the cohort) are the locations first notified in the period less
  those withdrawn (dispute upheld, not reopened) by the period end: a withdrawn location was
  not the material, or not there, so it is neither notified nor present; ``withdrawn`` counts
  withdrawals in the period apart;
- **shares removed within 24 h / 7 days / 42 days** follow the cohort: removed within the
  window *and* confirmed before the period end. A location whose window runs past the period
  end and is not yet removed counts as not removed;
- **still present** is a stock at the period end: every location notified before the end and
  neither removed nor withdrawn before the end, whenever it was notified. A location removed
  after the period end is still present at the period end.

A removal's time ends at the first check that found the location gone (``removed_at``); it
counts in the period of the check that confirmed it (the same check unless the answer needed
a second one). Its **precision** is how late that can be: the time since the last check that
still found the location (or since the first notice); the figures give its median and maximum.

Providers and countries get the same :class:`RemovalFigures`; banks (per detection source)
get :class:`BankFigures`; platform keys :class:`PlatformFigures`.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import timedelta
from typing import Any

from keepdown.reports.ledger import Ledger, LocationRecord
from keepdown.reports.period import Period
from keepdown.reports.stats import hours, median, p90, share

__all__ = [
    "WINDOWS",
    "BankFigures",
    "PlatformFigures",
    "RemovalFigures",
    "bank_figures",
    "platform_figures",
    "removal_figures",
]

WINDOWS: dict[str, timedelta] = {
    "24h": timedelta(hours=24),
    "7d": timedelta(days=7),
    "42d": timedelta(days=42),
}
REAPPEARANCE_WHERE = ("same_url", "same_provider", "other")


@dataclass(frozen=True)
class RemovalFigures:
    """One provider's (or country's, or everyone's) removal figures for a period."""

    key: str
    name: str
    country: str
    notices: int
    renotices: int
    locations: int
    removed: int
    removal_hours: tuple[float, ...]
    median_hours: float | None
    p90_hours: float | None
    median_detection_hours: float | None
    p90_detection_hours: float | None
    #: Reported URLs whose first notice went out in the period, and the median hours from
    #: the report to that notice (docs/transparency.md).
    reports_noticed: int
    median_report_hours: float | None
    removed_within: dict[str, int]
    share_within: dict[str, float | None]
    still_present: int
    withdrawn: int
    escalations: int
    removals_reported: int
    delivery_failures: int
    reappearances: int
    reappearances_by_where: dict[str, int]
    repeat_notices: int
    repeat_share: float | None
    disputes_opened: int
    disputes_upheld: int
    disputes_rejected: int
    disputes_pending: int
    #: Notice to its first acknowledgement, median hours (acknowledgements in the period).
    median_ack_hours: float | None = None
    #: How late the removals' times may be (median and largest, hours; module docstring).
    precision_median_hours: float | None = None
    precision_max_hours: float | None = None
    reopened: int = 0

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["removal_hours"] = list(self.removal_hours)
        return data


@dataclass
class _Tally:
    notices: int = 0
    repeat: int = 0
    renotices: int = 0
    escalations: int = 0
    removals_reported: int = 0
    delivery_failures: int = 0
    reopened: int = 0
    cohort: list[LocationRecord] = field(default_factory=list)
    removal_hours: list[float] = field(default_factory=list)
    precision_hours: list[float] = field(default_factory=list)
    ack_hours: list[float] = field(default_factory=list)
    detection_hours: list[float] = field(default_factory=list)
    report_hours: list[float] = field(default_factory=list)
    still_present: int = 0
    withdrawn: int = 0
    reappearances: Counter[str] = field(default_factory=Counter)
    disputes: Counter[str] = field(default_factory=Counter)


Group = Callable[[str, str], str]  # (provider key, country) -> group key


def _tallies(ledger: Ledger, period: Period, group: Group) -> dict[str, _Tally]:
    t: dict[str, _Tally] = defaultdict(_Tally)
    end = period.end
    for n in ledger.notices.values():
        if n.first_sent_at in period:
            t[group(n.provider, n.country)].notices += 1
            t[group(n.provider, n.country)].repeat += n.repeat
    flows = (
        (ledger.renotices, "renotices"),
        (ledger.escalations, "escalations"),
        (ledger.removals_reported, "removals_reported"),
        (ledger.delivery_failures, "delivery_failures"),
        (ledger.reopenings, "reopened"),
    )
    for occurrences, attr in flows:
        for o in occurrences:
            if o.at in period:
                tally = t[group(o.provider, o.country)]
                setattr(tally, attr, getattr(tally, attr) + 1)
    for o in ledger.reappearances:
        if o.at in period:
            t[group(o.provider, o.country)].reappearances[o.kind] += 1
    for o in ledger.detection_delays:
        if o.at in period:
            t[group(o.provider, o.country)].detection_hours.append(o.value)
    for o in ledger.report_delays:
        if o.at in period:
            t[group(o.provider, o.country)].report_hours.append(o.value)
    for o in ledger.acknowledgements:
        if o.at in period:
            t[group(o.provider, o.country)].ack_hours.append(o.value)
    for loc in ledger.locations.values():
        if loc.first_notice_at < end:
            _count_location(t[group(loc.provider, loc.country)], loc, period)
    for d in ledger.disputes:
        tally = t[group(d.provider, d.country)]
        if d.opened_at in period:
            tally.disputes["opened"] += 1
        if d.reviewed_at is not None and d.reviewed_at in period and d.outcome:
            tally.disputes[d.outcome] += 1
        if d.opened_at < end and (d.reviewed_at is None or d.reviewed_at >= end):
            tally.disputes["pending"] += 1
    return t


def _count_location(tally: _Tally, loc: LocationRecord, period: Period) -> None:
    """One location's part in its group's figures (module docstring)."""
    end = period.end
    if loc.first_notice_at in period and not loc.withdrawn_by(end):
        tally.cohort.append(loc)
    if loc.confirmed_at is not None and loc.confirmed_at in period:
        tally.removal_hours.append(loc.removal_hours or 0.0)
        if loc.precision_hours is not None:
            tally.precision_hours.append(loc.precision_hours)
    if loc.present_at(end):
        tally.still_present += 1
    if loc.withdrawn_at is not None and loc.withdrawn_at in period:
        tally.withdrawn += 1


def _figures(key: str, name: str, country: str, t: _Tally, end: Any) -> RemovalFigures:
    within = {
        label: sum(
            1
            for loc in t.cohort
            if loc.removed_by(end)
            and loc.removal_hours is not None
            and loc.removal_hours <= hours(window)
        )
        for label, window in WINDOWS.items()
    }
    removal = sorted(t.removal_hours)
    return RemovalFigures(
        key=key,
        name=name,
        country=country,
        notices=t.notices,
        renotices=t.renotices,
        locations=len(t.cohort),
        removed=len(removal),
        removal_hours=tuple(removal),
        median_hours=median(removal),
        p90_hours=p90(removal),
        median_detection_hours=median(t.detection_hours),
        p90_detection_hours=p90(t.detection_hours),
        reports_noticed=len(t.report_hours),
        median_report_hours=median(t.report_hours),
        removed_within=within,
        share_within={label: share(n, len(t.cohort)) for label, n in within.items()},
        still_present=t.still_present,
        withdrawn=t.withdrawn,
        escalations=t.escalations,
        removals_reported=t.removals_reported,
        delivery_failures=t.delivery_failures,
        reappearances=sum(t.reappearances.values()),
        reappearances_by_where={w: t.reappearances[w] for w in REAPPEARANCE_WHERE},
        repeat_notices=t.repeat,
        repeat_share=share(t.repeat, t.notices),
        disputes_opened=t.disputes["opened"],
        disputes_upheld=t.disputes["upheld"],
        disputes_rejected=t.disputes["rejected"],
        disputes_pending=t.disputes["pending"],
        median_ack_hours=median(t.ack_hours),
        precision_median_hours=median(t.precision_hours),
        precision_max_hours=max(t.precision_hours, default=None),
        reopened=t.reopened,
    )


def _active(t: _Tally) -> bool:
    return bool(
        t.notices
        or t.cohort
        or t.removal_hours
        or t.still_present
        or t.reappearances
        or t.disputes
        or t.renotices
        or t.removals_reported
        or t.delivery_failures
        or t.withdrawn
        or t.ack_hours
        or t.reopened
    )


def removal_figures(
    ledger: Ledger, period: Period, by: str = "provider"
) -> dict[str, RemovalFigures]:
    """Figures per provider (``by="provider"``), per country (``"country"``) or for all
    (``"all"``, one entry keyed ``""``), for every group with something in the period."""
    groups: dict[str, Group] = {
        "provider": lambda provider, _country: provider,
        "country": lambda _provider, country: country,
        "all": lambda _provider, _country: "",
    }
    tallies = _tallies(ledger, period, groups[by])
    out: dict[str, RemovalFigures] = {}
    for key in sorted(tallies):
        tally = tallies[key]
        if not _active(tally) and by != "all":
            continue
        if by == "provider":
            name, country = (
                ledger.provider_names.get(key, key),
                ledger.provider_countries.get(key, ""),
            )
        else:
            name, country = (key, key) if by == "country" else ("all providers", "")
        out[key] = _figures(key, name, country, tally, period.end)
    if by == "all" and not out:
        out[""] = _figures("", "all providers", "", _Tally(), period.end)
    return out


@dataclass(frozen=True)
class BankFigures:
    """Matches of one bank (and its source, the bank's provenance when events name it) from
    one detection channel (crawl, upload, scan, report)."""

    bank: str
    bank_source: str
    detection: str
    matches: int
    exact: int
    near: int
    auto_confirmed: int
    sent_to_review: int
    review_confirmed: int
    false_positives: int
    error_rate: float | None  # false positives / reviewed (confirmed + not a match)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def bank_figures(ledger: Ledger, period: Period) -> list[BankFigures]:
    counts: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
    for s in ledger.sightings:
        if s.at in period:
            c = counts[(s.bank, s.source)]
            c["matches"] += 1
            c[s.match_type] += 1
            c["auto" if s.state == "confirmed" else "review"] += 1
    for r in ledger.reviews:
        if r.at in period:
            counts[(r.bank, r.source)][r.decision] += 1
    out = []
    for (bank, detection), c in sorted(counts.items()):
        reviewed = c["confirm"] + c["not_a_match"]
        out.append(
            BankFigures(
                bank=bank,
                bank_source=ledger.bank_sources.get(bank, ""),
                detection=detection,
                matches=c["matches"],
                exact=c["exact"],
                near=c["near"],
                auto_confirmed=c["auto"],
                sent_to_review=c["review"],
                review_confirmed=c["confirm"],
                false_positives=c["not_a_match"],
                error_rate=share(c["not_a_match"], reviewed),
            )
        )
    return out


@dataclass(frozen=True)
class PlatformFigures:
    """What one platform key's upload checks came to."""

    key_id: str
    organisation: str
    checked: int
    blocked: int
    sent_to_review: int
    allowed: int
    exact: int
    near: int
    automated: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def platform_figures(ledger: Ledger, period: Period) -> list[PlatformFigures]:
    counts: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
    for u in ledger.uploads:
        if u.at in period:
            c = counts[(u.key_id, u.organisation)]
            c["checked"] += 1
            c[u.outcome] += 1
            if u.match_type:
                c[u.match_type] += 1
            c["automated"] += u.automated
    return [
        PlatformFigures(
            key_id=key_id,
            organisation=org,
            checked=c["checked"],
            blocked=c["block"],
            sent_to_review=c["review"],
            allowed=c["allow"],
            exact=c["exact"],
            near=c["near"],
            automated=c["automated"],
        )
        for (key_id, org), c in sorted(counts.items())
    ]
