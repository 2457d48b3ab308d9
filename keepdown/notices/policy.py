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
    error retry and reappearance watch (``notice_recheck_error_hours``, ``notice_watch_*``)."""
    return Policy(
        cadence=provider.cadence,
        error_retry=timedelta(hours=settings.notice_recheck_error_hours),
        watch_every=timedelta(hours=settings.notice_watch_every_hours),
        watch_for=timedelta(days=settings.notice_watch_days),
    )


def rules_for(provider: Provider) -> RemovalRules:
    """How the provider's 401/403 and no-longer-matching answers are read (the defaults:
    gone once a second check, or the provider's own report, agrees)."""
    del provider  # per-provider choices come with the provider's fields
    return RemovalRules()
