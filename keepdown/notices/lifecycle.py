"""The notice lifecycle as a pure state machine: no I/O, no clock of its own.

Each location named in a notice has its own state and times (:class:`LocationStatus`); the
notice's state is derived from its locations (:func:`notice_state`). Every function takes the
time it happens at (``at``) and returns a new status, so the tests drive months of re-checks
with a frozen clock and the stores only persist what these functions decide.

Per location::

    drafted ──sent──► notified ──acknowledged──► acknowledged
                         │  └──re-notice──► renoticed ──escalate──► escalated
                         ├──check: gone──► removed            (time to removal ends here)
                         │   (a gone answer that needs confirming: gone_since, then a
                         │    second check that agrees; removed at the first)
                         └──disputed──► disputed ──reviewed: upheld──► withdrawn ──reopened──┐
                                                  └─reviewed: rejected──► back to where it was ◄─┘

Per notice (:func:`notice_state`): drafted -> sent -> acknowledged -> partially_removed ->
removed, or -> renoticed -> escalated, or -> disputed -> reviewed.

What is *due* (:func:`due`) follows the provider's :class:`~keepdown.notices.providers.Cadence`:
a re-check ``recheck`` after the last one (sooner after an error, see ``error_retry``); a
re-notice ``renotice`` after the last notice once a check has found the content still there;
escalation once, ``escalate_after`` from the first notice, when it is still there. A disputed
location is still re-checked but neither re-noticed nor escalated until an analyst reviews it.
A removed location is watched (re-checked every ``watch_every`` for ``watch_for``) so that the
same URL coming back is seen as a reappearance.

**What counts as gone** is the tracker's to say (:class:`CheckResult`, and whether the answer
``needs_confirmation``: a 401/403 or a page that no longer matches could be a passing fault).
A definite answer (404, 410, 451, no such host...) removes the location at once. One that
needs confirming marks it ``gone_since`` and brings the next check to ``confirm_after`` later;
the location is removed, *at the first such check*, when the next answer is gone too, or at
once when the provider reported the removal since the last check that found it there (the
provider's word and the answer agree). A present answer in between clears ``gone_since``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum

from keepdown.errors import Conflict, InvalidInput
from keepdown.notices.providers import Cadence

__all__ = [
    "CLOSED",
    "OPEN",
    "CheckResult",
    "Due",
    "LocationState",
    "LocationStatus",
    "NoticeState",
    "Policy",
    "acknowledged",
    "checked",
    "disputed",
    "due",
    "escalated",
    "notice_state",
    "removal_reported",
    "reopened",
    "reviewed",
    "sent",
]


class LocationState(StrEnum):
    DRAFTED = "drafted"
    NOTIFIED = "notified"
    ACKNOWLEDGED = "acknowledged"
    RENOTICED = "renoticed"
    ESCALATED = "escalated"
    DISPUTED = "disputed"
    REMOVED = "removed"
    WITHDRAWN = "withdrawn"  # a dispute was upheld: not (or no longer) known material


class NoticeState(StrEnum):
    DRAFTED = "drafted"
    SENT = "sent"
    ACKNOWLEDGED = "acknowledged"
    RENOTICED = "renoticed"
    ESCALATED = "escalated"
    DISPUTED = "disputed"
    PARTIALLY_REMOVED = "partially_removed"
    REMOVED = "removed"
    REVIEWED = "reviewed"  # closed with every location withdrawn after review


class CheckResult(StrEnum):
    PRESENT = "present"
    GONE = "gone"
    ERROR = "error"


#: States in which a location still waits for removal.
OPEN = frozenset(
    {
        LocationState.NOTIFIED,
        LocationState.ACKNOWLEDGED,
        LocationState.RENOTICED,
        LocationState.ESCALATED,
        LocationState.DISPUTED,
    }
)
CLOSED = frozenset({LocationState.REMOVED, LocationState.WITHDRAWN})


@dataclass(frozen=True)
class Policy:
    """The provider's cadence plus the operator-wide retry and watch periods."""

    cadence: Cadence = field(default_factory=Cadence)
    error_retry: timedelta = timedelta(hours=1)
    watch_every: timedelta = timedelta(days=7)
    watch_for: timedelta = timedelta(days=42)
    #: After an answer that needs confirming, the next check comes this much later.
    confirm_after: timedelta = timedelta(minutes=5)


@dataclass(frozen=True)
class LocationStatus:
    """One location's state and the times the lifecycle keeps for it."""

    state: LocationState = LocationState.DRAFTED
    detected_at: datetime | None = None
    first_notice_at: datetime | None = None
    last_notice_at: datetime | None = None
    notices_sent: int = 0
    acknowledged_at: datetime | None = None
    removal_reported_at: datetime | None = None
    escalated_at: datetime | None = None
    disputed_at: datetime | None = None
    reviewed_at: datetime | None = None
    review_outcome: str | None = None
    removed_at: datetime | None = None
    last_check_at: datetime | None = None
    last_check_result: CheckResult | None = None
    next_check_at: datetime | None = None
    checks: int = 0
    errors_in_row: int = 0
    #: The last check that found the location still there: its removal happened after it.
    last_present_at: datetime | None = None
    #: The first of a run of gone answers that need confirming (module docstring).
    gone_since: datetime | None = None
    #: An analyst reopened it after its dispute had been upheld (the dispute stays recorded).
    reopened_at: datetime | None = None

    @property
    def open(self) -> bool:
        return self.state in OPEN


def _resting_state(s: LocationStatus) -> LocationState:
    """Where an open location stands once nothing more urgent (a dispute) applies."""
    if s.escalated_at is not None:
        return LocationState.ESCALATED
    if s.notices_sent > 1:
        return LocationState.RENOTICED
    if s.acknowledged_at is not None:
        return LocationState.ACKNOWLEDGED
    return LocationState.NOTIFIED


def _need_open(s: LocationStatus, action: str) -> None:
    if not s.open:
        raise Conflict(f"cannot {action} a location that is {s.state.value}", state=s.state.value)


def sent(s: LocationStatus, at: datetime, policy: Policy) -> LocationStatus:
    """A notice naming this location went out (the first one, or a re-notice)."""
    if s.state is LocationState.DRAFTED:
        return replace(
            s,
            state=LocationState.NOTIFIED,
            first_notice_at=at,
            last_notice_at=at,
            notices_sent=1,
            next_check_at=at + policy.cadence.recheck,
        )
    _need_open(s, "re-notice")
    later = replace(s, last_notice_at=at, notices_sent=s.notices_sent + 1)
    if s.state is LocationState.DISPUTED:
        return later
    return replace(later, state=_resting_state(later))


def acknowledged(s: LocationStatus, at: datetime) -> LocationStatus:
    """The provider acknowledged the notice (the first acknowledgement counts)."""
    if s.state is LocationState.DRAFTED:
        raise Conflict("cannot acknowledge a notice that was not sent")
    if not s.open or s.acknowledged_at is not None:
        return s
    later = replace(s, acknowledged_at=at)
    return (
        later if s.state is LocationState.DISPUTED else replace(later, state=_resting_state(later))
    )


def removal_reported(s: LocationStatus, at: datetime) -> LocationStatus:
    """The provider says it removed the location: check it at once (it counts only when a
    check finds it gone)."""
    _need_open(s, "report removal of")
    return replace(s, removal_reported_at=at, next_check_at=at)


def corroborated(s: LocationStatus) -> bool:
    """The provider reported the removal after the last check that found it there."""
    reported = s.removal_reported_at
    return reported is not None and (s.last_present_at is None or reported > s.last_present_at)


def disputed(s: LocationStatus, at: datetime) -> LocationStatus:
    _need_open(s, "dispute")
    if s.state is LocationState.DISPUTED:
        return s
    return replace(
        s, state=LocationState.DISPUTED, disputed_at=at, reviewed_at=None, review_outcome=None
    )


def reviewed(s: LocationStatus, at: datetime, outcome: str) -> LocationStatus:
    """An analyst's decision on a dispute: ``upheld`` withdraws the location, ``rejected``
    puts it back where it was (re-notices and escalation resume)."""
    if s.state is not LocationState.DISPUTED:
        raise Conflict("only a disputed location can be reviewed", state=s.state.value)
    if outcome == "upheld":
        return replace(s, state=LocationState.WITHDRAWN, reviewed_at=at, review_outcome=outcome)
    if outcome == "rejected":
        later = replace(s, reviewed_at=at, review_outcome=outcome)
        return replace(later, state=_resting_state(later))
    raise InvalidInput("a review outcome is 'upheld' or 'rejected'", outcome=outcome)


def reopened(s: LocationStatus, at: datetime) -> LocationStatus:
    """An analyst reopens a withdrawn location (seen again, or the dispute was wrong): it is
    open again where it rested, re-checked at once; its dispute stays in its history."""
    if s.state is not LocationState.WITHDRAWN:
        raise Conflict("only a withdrawn location can be reopened", state=s.state.value)
    later = replace(s, reopened_at=at, next_check_at=at, gone_since=None)
    return replace(later, state=_resting_state(later))


def escalated(s: LocationStatus, at: datetime) -> LocationStatus:
    _need_open(s, "escalate")
    if s.escalated_at is not None:
        return s
    later = replace(s, escalated_at=at)
    return (
        later if s.state is LocationState.DISPUTED else replace(later, state=_resting_state(later))
    )


def checked(
    s: LocationStatus,
    at: datetime,
    result: CheckResult,
    policy: Policy,
    *,
    retry_after: timedelta | None = None,
    needs_confirmation: bool = False,
) -> tuple[LocationStatus, bool]:
    """A re-check's result; also True when this check is the one that confirms removal.

    After an error the next check comes ``error_retry`` later, or when the server's
    ``retry_after`` (Retry-After) says, whichever is later, but never later than one re-check
    period (nor than ``confirm_after`` while a gone answer waits for its confirmation): an
    error never counts as removal, and never stops the checks either. A gone answer that
    ``needs_confirmation`` removes the location only as the module docstring says."""
    if s.state is LocationState.DRAFTED:
        raise Conflict("a drafted location is not re-checked")
    base = replace(s, last_check_at=at, checks=s.checks + 1)
    if result is CheckResult.ERROR:
        wait = max(policy.error_retry, retry_after or timedelta(0))
        retry = min(wait, policy.cadence.recheck)
        if s.gone_since is not None and s.state not in CLOSED:
            retry = min(retry, policy.confirm_after)
        return replace(base, errors_in_row=s.errors_in_row + 1, next_check_at=at + retry), False
    base = replace(base, last_check_result=result, errors_in_row=0)
    if result is CheckResult.PRESENT:
        base = replace(base, last_present_at=at, gone_since=None)
    if s.state in CLOSED:  # watching a closed location for reappearance
        return replace(base, next_check_at=_next_watch(s, at, policy)), False
    if result is CheckResult.GONE:
        return _gone(s, base, at, policy, needs_confirmation)
    return replace(base, next_check_at=at + policy.cadence.recheck), False


def _gone(
    s: LocationStatus, base: LocationStatus, at: datetime, policy: Policy, confirm: bool
) -> tuple[LocationStatus, bool]:
    """An open location answered gone: removed now, or waiting for a confirming check."""
    if confirm and s.gone_since is None and not corroborated(s):
        return replace(base, gone_since=at, next_check_at=at + policy.confirm_after), False
    since = s.gone_since or at
    removed = replace(base, state=LocationState.REMOVED, removed_at=since, gone_since=None)
    return replace(removed, next_check_at=_next_watch(removed, at, policy)), True


def _next_watch(s: LocationStatus, at: datetime, policy: Policy) -> datetime | None:
    if s.state is not LocationState.REMOVED or s.removed_at is None:
        return None
    following = at + policy.watch_every
    return following if following <= s.removed_at + policy.watch_for else None


@dataclass(frozen=True)
class Due:
    """What is due for one location now."""

    recheck: bool = False
    renotice: bool = False
    escalate: bool = False
    watch: bool = False  # a removed location's reappearance check


def due(s: LocationStatus, now: datetime, policy: Policy) -> Due:
    """What the tracker and the sender should do about this location at ``now``."""
    if s.state is LocationState.DRAFTED:
        return Due()
    check_due = s.next_check_at is not None and now >= s.next_check_at
    if s.state in CLOSED:
        return Due(watch=check_due and s.state is LocationState.REMOVED)
    still_there = (
        s.last_check_result is CheckResult.PRESENT
        and s.last_check_at is not None
        and s.last_notice_at is not None
        and s.last_check_at >= s.last_notice_at
    )
    active = s.state is not LocationState.DISPUTED
    assert s.last_notice_at is not None
    assert s.first_notice_at is not None
    return Due(
        recheck=check_due,
        renotice=active and still_there and now >= s.last_notice_at + policy.cadence.renotice,
        escalate=active
        and s.escalated_at is None
        and s.last_check_result is CheckResult.PRESENT
        and now >= s.first_notice_at + policy.cadence.escalate_after,
    )


def notice_state(locations: Iterable[LocationStatus], *, acknowledged: bool) -> NoticeState:
    """A notice's state from its locations (precedence as in the module docstring)."""
    states = [s.state for s in locations]
    if not states or all(st is LocationState.DRAFTED for st in states):
        return NoticeState.DRAFTED
    if all(st in CLOSED for st in states):
        if LocationState.REMOVED in states:
            return NoticeState.REMOVED
        return NoticeState.REVIEWED
    if LocationState.DISPUTED in states:
        return NoticeState.DISPUTED
    if LocationState.REMOVED in states:
        return NoticeState.PARTIALLY_REMOVED
    if LocationState.ESCALATED in states:
        return NoticeState.ESCALATED
    if LocationState.RENOTICED in states:
        return NoticeState.RENOTICED
    if acknowledged or LocationState.ACKNOWLEDGED in states:
        return NoticeState.ACKNOWLEDGED
    return NoticeState.SENT
