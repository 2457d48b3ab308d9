"""The lifecycle policy of one provider: its cadence under the operator's settings."""

from __future__ import annotations

from datetime import timedelta

from keepdown.notices.lifecycle import Policy
from keepdown.notices.providers import Provider
from keepdown.settings import Settings

__all__ = ["policy_for"]


def policy_for(provider: Provider, settings: Settings) -> Policy:
    """The provider's re-check / re-notice / escalation cadence, plus the operator-wide
    error retry and reappearance watch (``notice_recheck_error_hours``, ``notice_watch_*``)."""
    return Policy(
        cadence=provider.cadence,
        error_retry=timedelta(hours=settings.notice_recheck_error_hours),
        watch_every=timedelta(hours=settings.notice_watch_every_hours),
        watch_for=timedelta(days=settings.notice_watch_days),
    )
