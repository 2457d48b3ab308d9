"""The self-submission parts of a runtime (``Runtime.submissions``).

Built once per process from settings and storage: the programme banks and the submission
service (case number, PIN, withdrawal), the removal requests with their clock
(``removal_request_hours``), the held uploads, and :class:`~keepdown.submissions.platforms.
PlatformDesk`, the one door a platform's API calls and analysts' decisions go through. The
self-submission stage of the match chain (:class:`~keepdown.submissions.stage.
SelfSubmittedStage`) is built by :meth:`keepdown.app.runtime.Runtime.match_stages`; the desk
asks that same stage which banks are self-submitted, so the chain and the holds agree.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from keepdown.api.ratelimit import ClientLimiter
from keepdown.storage.hold_store import SqlHoldStore
from keepdown.storage.removal_store import SqlRemovalStore
from keepdown.storage.submission_store import SqlSubmissionStore
from keepdown.submissions.desk import Desk, PageLimits
from keepdown.submissions.holds import HoldService
from keepdown.submissions.platforms import PlatformDesk
from keepdown.submissions.programme_banks import ProgrammeBanks
from keepdown.submissions.removal import ClockPolicy, RemovalService
from keepdown.submissions.service import SubmissionService

if TYPE_CHECKING:
    from keepdown.app.runtime import Runtime

__all__ = ["SubmissionServices", "submission_services"]


@dataclass
class SubmissionServices:
    """What the entry points use of the programme (module docstring)."""

    submissions: SubmissionService
    programme: ProgrammeBanks
    removals: RemovalService
    holds: HoldService
    platform: PlatformDesk
    #: The public page's door (submit, check, withdraw) with its limits.
    desk: Desk


def submission_services(runtime: Runtime) -> SubmissionServices:
    settings = runtime.settings
    engine = runtime.storage.engine
    events = runtime.storage.events
    store = SqlSubmissionStore(engine)
    programme = ProgrammeBanks(
        runtime.banks,
        store,
        prefix=settings.self_submission_bank_prefix,
        owner=settings.operator_organisation,
    )
    policy = ClockPolicy(deadline=timedelta(hours=settings.removal_request_hours))
    removals = RemovalService(SqlRemovalStore(engine), events, runtime.clock, policy)
    submissions = SubmissionService(
        store, programme, events, runtime.clock, on_withdrawn=removals.withdraw_for
    )
    holds = HoldService(SqlHoldStore(engine), store, removals, events, runtime.clock)
    platform = PlatformDesk(
        removals=removals,
        holds=holds,
        events=events,
        clock=runtime.clock,
        operator=settings.operator_organisation,
        self_submitted=runtime.self_submitted.is_self_submitted,
        sweep_soon=_no_sweep,
    )
    limits = PageLimits(
        max_items=settings.self_submission_max_items,
        quality_floor=settings.pdq_quality_floor,
        max_image_bytes=settings.max_image_bytes,
        max_video_bytes=settings.video_max_bytes,
        max_pixels=settings.max_image_pixels,
        apply_exif_orientation=settings.apply_exif_orientation,
        quick_exit_url=settings.self_submission_exit_url,
    )
    limit = ClientLimiter(
        settings.self_submission_rate_limit,
        settings.rate_limit_storage_url,
        timeout_seconds=settings.rate_limit_timeout_seconds,
        key_prefix="keepdown-self-submission",
        what="requests",
    )
    desk = Desk(submissions, removals, limits, limit)
    return SubmissionServices(submissions, programme, removals, holds, platform, desk)


def _no_sweep(request_id: int) -> None:
    """Sweeps of a platform's stored content are not wired to a source yet (the closing note
    of issue 21): a request closes when every copy is recorded removed or dismissed."""
