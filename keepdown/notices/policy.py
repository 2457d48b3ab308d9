"""The lifecycle policy of one provider: its cadence under the operator's settings, and what
its answers are taken to mean (keepdown.notices.checks)."""

from __future__ import annotations

from datetime import timedelta

from keepdown.notices.checks import RemovalRules
from keepdown.notices.lifecycle import Policy
from keepdown.notices.providers import Provider
from keepdown.settings import Settings

__all__ = ["policy_for", "rules_for"]


def policy_for(provider: Provider, settings: Settings) -> Policy:
    """The provider's re-check / re-notice / escalation cadence, plus the operator-wide
    error retry and reappearance watch (``notice_recheck_error_hours``, ``notice_watch_*``).

    ``notice_recheck_floor_minutes`` protects providers: no location is checked, and no
    provider reminded, more often than that, whatever the provider's cadence or the watch
    says; the confirming second check after a 401/403 or a "content removed" page comes that
    long after the first."""
    floor = timedelta(minutes=settings.notice_recheck_floor_minutes)
    return Policy(
        cadence=provider.cadence.floored(floor),
        error_retry=max(timedelta(hours=settings.notice_recheck_error_hours), floor),
        watch_every=max(timedelta(hours=settings.notice_watch_every_hours), floor),
        watch_for=timedelta(days=settings.notice_watch_days),
        confirm_after=floor,
    )


def rules_for(provider: Provider) -> RemovalRules:
    """How the provider's 401/403 and no-longer-matching answers are read
    (``forbidden_means``, ``unmatched_means``; by default gone once a second check, or the
    provider's own report, agrees)."""
    return RemovalRules(
        forbidden_means=provider.forbidden_means, unmatched_means=provider.unmatched_means
    )
