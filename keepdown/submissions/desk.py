"""The public desk of the self-submission programme: what the submission pages call.

It joins the checked form (:func:`~keepdown.submissions.form.parse_form`), the submission
service and the removal requests a case started, and carries the limits the page shows
(:class:`PageLimits`, from settings), so the web layer never reads settings or stores.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from keepdown.submissions.form import parse_form
from keepdown.submissions.model import Submission
from keepdown.submissions.removal import RemovalService
from keepdown.submissions.service import Receipt, SubmissionService

__all__ = ["Desk", "PageLimits"]


@dataclass(frozen=True)
class PageLimits:
    """What the page and its endpoint allow (settings ``self_submission_*`` and the image
    limits keepdown's own decoder has)."""

    max_items: int = 20
    max_body_bytes: int = 256 * 1024
    quality_floor: int = 50
    max_image_bytes: int = 50 * 1024 * 1024
    max_video_bytes: int = 500 * 1024 * 1024
    max_pixels: int = 100_000_000
    apply_exif_orientation: bool = False
    quick_exit_url: str = "https://www.wikipedia.org/"


@dataclass
class Desk:
    """The submission pages' one door into keepdown (module docstring). ``limit`` counts
    requests per client (a daily pseudonym of the address, never the address)."""

    submissions: SubmissionService
    removals: RemovalService
    limits: PageLimits
    limit: Any

    def submit(self, body: Any) -> Receipt:
        form = parse_form(
            body, max_items=self.limits.max_items, quality_floor=self.limits.quality_floor
        )
        return self.submissions.submit(form)

    def open_case(self, case_number: str, pin: str) -> tuple[Submission, int]:
        """The submission and how many copies its requests removed, once the PIN is right."""
        submission = self.submissions.open_case(case_number, pin)
        return submission, self._removed(submission)

    def withdraw(self, case_number: str, pin: str) -> tuple[Submission, int]:
        submission = self.submissions.withdraw(case_number, pin)
        return submission, self._removed(submission)

    def _removed(self, submission: Submission) -> int:
        return sum(
            1
            for request in self.removals.store.for_submission(submission.id)
            for item in request.items
            if item.removed_at is not None
        )
