"""Self-submission and removal requests (keepdown.submissions).

Each attribute is one setting (:mod:`keepdown.settings.setting`); docs/settings.md lists them.
"""

from __future__ import annotations

from keepdown.settings.setting import integer, text

__all__ = ["SubmissionSettings"]


class SubmissionSettings:
    """Self-submission and removal requests."""

    self_submission_bank_prefix = text(
        "self-submission",
        "Name prefix of the self-submitted banks (<prefix>-minors, <prefix>-adults, and the "
        "-hotline pair for hashes platforms may not use); created on first use.",
    )
    removal_request_hours = integer(
        48,
        "Hours a platform has to remove what a removal request names (the TAKE IT DOWN Act's "
        "48 hours); the clock runs from when the request was received.",
        minimum=1,
        maximum=24 * 90,
    )
