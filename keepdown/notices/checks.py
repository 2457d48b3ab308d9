"""What a re-check's answer means: present, gone (at once, or once confirmed) or an error.

keepdown publishes how fast each provider removes known material, so "removed" has to mean
**no longer publicly available at that place**, decided the same way for everyone and said
with the answer that showed it. The rules (docs/notices.md, "What a re-check decides"):

=======================================  ==============  =================================
answer at the media URL                  ``answer``      result
=======================================  ==============  =================================
HTTP 404, 410, 451                       removed_status  gone
the host name no longer exists           no_such_host    gone
a ZIP that no longer holds the entry     entry_gone      gone
HTTP 401, 403                            refused         gone once confirmed (provider:
                                                         ``forbidden_means``)
200, but no longer known material (a     unmatched       gone once confirmed (provider:
"content removed" page, a placeholder,                   ``unmatched_means``)
another picture, no longer a ZIP)
200 with the known material              known           present
anything else (timeouts, 5xx, 429, a     error           error: checked again, never
truncated body, a temporary DNS                          removal
failure, an archive past the limits)
=======================================  ==============  =================================

**Confirmed** means a second check that is gone too (any gone answer), ``confirm_after``
later, or the provider's own report of the removal since the last check that still found it
(:func:`keepdown.notices.lifecycle.corroborated`): a 403 from a bucket whose key was deleted
and a CDN's passing 403 look alike on one request. The removal then counts from the first of
those checks. Per provider, ``forbidden_means`` may say ``removed`` (its object store answers
403 for deleted keys: no second check) or ``error`` (its firewall answers 403 to robots: never
removal), and ``unmatched_means`` may say ``removed``.

Every check keeps the HTTP status it saw (``status``) and its ``answer``, in
``notice_checks`` and in the ``LocationRechecked`` and ``RemovalConfirmed`` events.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass
from enum import StrEnum

from keepdown.errors import BlockedAddress, FetchError
from keepdown.notices.lifecycle import CheckResult
from keepdown.notices.providers import Meaning

__all__ = [
    "GONE_STATUSES",
    "REFUSED_STATUSES",
    "Answer",
    "Check",
    "Meaning",
    "RemovalRules",
    "classify_error",
    "judge_refused",
    "judge_unmatched",
]

GONE_STATUSES = frozenset({404, 410, 451})
REFUSED_STATUSES = frozenset({401, 403})
_NO_SUCH_NAME = {socket.EAI_NONAME, getattr(socket, "EAI_NODATA", socket.EAI_NONAME)}


class Answer(StrEnum):
    """What the media URL answered (module docstring)."""

    KNOWN = "known"
    REMOVED_STATUS = "removed_status"
    NO_SUCH_HOST = "no_such_host"
    ENTRY_GONE = "entry_gone"
    REFUSED = "refused"
    UNMATCHED = "unmatched"
    ERROR = "error"


@dataclass(frozen=True)
class RemovalRules:
    """A provider's choices (module docstring); the defaults confirm both."""

    forbidden_means: Meaning = Meaning.CONFIRM
    unmatched_means: Meaning = Meaning.CONFIRM


@dataclass(frozen=True)
class Check:
    """One re-check's outcome (``retry_after``: seconds the server asked us to wait;
    ``confirm``: a gone answer that waits for a confirming check)."""

    result: CheckResult
    status: int | None = None
    detail: str = ""
    retry_after: float | None = None
    answer: Answer = Answer.ERROR
    confirm: bool = False


def _gone(
    status: int | None,
    detail: str,
    answer: Answer,
    meaning: Meaning,
    retry_after: float | None = None,
) -> Check:
    if meaning is Meaning.ERROR:
        return Check(CheckResult.ERROR, status, detail, retry_after, answer)
    confirm = meaning is Meaning.CONFIRM
    return Check(CheckResult.GONE, status, detail, answer=answer, confirm=confirm)


def judge_refused(status: int, rules: RemovalRules, retry_after: float | None = None) -> Check:
    """A 401 or 403 at the media URL, as the provider's ``forbidden_means`` says."""
    return _gone(status, f"HTTP {status}", Answer.REFUSED, rules.forbidden_means, retry_after)


def judge_unmatched(status: int | None, detail: str, rules: RemovalRules) -> Check:
    """An answer that is no longer known material, as ``unmatched_means`` says."""
    meaning = rules.unmatched_means
    if meaning is Meaning.ERROR:  # not offered for pages: one that changed is not a fault
        meaning = Meaning.CONFIRM
    return _gone(status, detail, Answer.UNMATCHED, meaning)


def classify_error(exc: FetchError) -> Check:
    """A fetch that raised: a name that no longer exists is gone; everything else an error."""
    if isinstance(exc, BlockedAddress):
        return Check(CheckResult.ERROR, None, exc.message)
    cause = exc.__cause__
    gone = Check(CheckResult.GONE, None, "host name no longer exists", answer=Answer.NO_SUCH_HOST)
    if isinstance(cause, socket.gaierror):
        if cause.errno in _NO_SUCH_NAME:
            return gone
        return Check(CheckResult.ERROR, None, exc.message)
    if cause is None and exc.message.startswith("cannot resolve host"):
        return gone
    return Check(CheckResult.ERROR, exc.details.get("status"), exc.message)
