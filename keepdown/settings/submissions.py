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
    self_submission_max_items = integer(
        20, "Most pictures and videos one self-submission may carry.", minimum=1, maximum=200
    )
    self_submission_rate_limit = text(
        "20/hour",
        "Requests (submissions, case checks, withdrawals) one client may make to the "
        "self-submission page, in `limits` notation; counted under a daily keyed pseudonym of "
        "the address, never the address. Empty: no limit.",
    )
    self_submission_exit_url = text(
        "https://www.wikipedia.org/",
        "Where the self-submission page's 'leave this page quickly' link goes.",
    )
    removal_request_hours = integer(
        48,
        "Hours a platform has to remove what a removal request names (the TAKE IT DOWN Act's "
        "48 hours); the clock runs from when the request was received.",
        minimum=1,
        maximum=24 * 90,
    )
