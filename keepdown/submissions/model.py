"""Self-submitted hashes: the values a submission is made of, and the store they live in.

A person hashes their own pictures and videos on their device (the page's JavaScript) and sends
only the hashes, with two answers: how old they were in the pictures, and whether platforms may
use the hashes. keepdown keeps a :class:`Submission` under a case number, with a PIN the person
holds (stored only as a slow hash), and puts the hashes in the self-submitted bank of the
programme and use they chose (:class:`Programme`, :func:`bank_role`).

:class:`SubmissionStore` is what :mod:`keepdown.submissions.service` needs from storage;
``keepdown.storage.submission_store`` implements it, :mod:`keepdown.submissions.memory` is its
in-memory twin.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from keepdown.hashing.types import SignalType

__all__ = [
    "HOTLINE_ONLY_SOURCE",
    "PROGRAMME_SOURCE",
    "AgeAtTime",
    "HashKey",
    "Media",
    "PinCheck",
    "Programme",
    "Status",
    "Submission",
    "SubmissionStore",
    "SubmittedHash",
    "bank_role",
    "is_self_submitted",
    "platforms_may_use",
]

#: The ``source`` of every self-submitted bank, and of those platforms may not use.
PROGRAMME_SOURCE = "self-submission"
HOTLINE_ONLY_SOURCE = "self-submission/hotline-only"


class Programme(StrEnum):
    """Who the pictures show: a child (under 18 at the time) or an adult."""

    MINORS = "minors"
    ADULTS = "adults"


class AgeAtTime(StrEnum):
    """The person's answer to "how old were you in these pictures?"."""

    UNDER_13 = "under-13"
    FROM_13_TO_15 = "13-15"
    FROM_16_TO_17 = "16-17"
    ADULT = "18-plus"
    NOT_SURE = "not-sure"
    NOT_SAID = "not-said"

    @property
    def programme(self) -> Programme:
        """Adults' programme for 18 or older; the children's otherwise, including "not sure"
        and "rather not say" (the protection for children is the stronger one)."""
        return Programme.ADULTS if self is AgeAtTime.ADULT else Programme.MINORS


class Media(StrEnum):
    IMAGE = "image"
    VIDEO = "video"


class Status(StrEnum):
    ACTIVE = "active"
    WITHDRAWN = "withdrawn"


def bank_role(programme: Programme, shared: bool) -> str:
    """The role of the bank a submission's hashes go to: ``minors`` / ``adults``, with
    ``-hotline`` when the person did not let platforms use them."""
    return programme.value if shared else f"{programme.value}-hotline"


def is_self_submitted(bank: object) -> bool:
    """True for a bank of self-submitted hashes (by its ``source``). Its matches always go
    to review: a self-submitted hash is never proof enough to block without a person."""
    return str(getattr(bank, "source", "")).startswith(PROGRAMME_SOURCE)


def platforms_may_use(bank: object) -> bool:
    """False for the self-submitted banks whose people did not let platforms use them."""
    return str(getattr(bank, "source", "")) != HOTLINE_ONLY_SOURCE


#: (signal type, lower-case hex value): one hash, whatever picture it came from.
HashKey = tuple[str, str]


@dataclass(frozen=True, slots=True)
class SubmittedHash:
    """One hash of one picture or video of a submission (``item`` counts from 0)."""

    item: int
    media: Media
    signal_type: SignalType
    value: str
    variant: str | None = None  # the rotation or mirror of a PDQ hash
    quality: int | None = None  # PDQ's quality of the picture

    @property
    def key(self) -> HashKey:
        return (str(self.signal_type), self.value)


@dataclass(frozen=True)
class Submission:
    """A stored submission, as keepdown shows it (never the PIN, never a hash)."""

    id: int
    case_number: str
    programme: Programme
    age_at_time: AgeAtTime
    share_with_platforms: bool
    status: Status
    created_at: datetime
    withdrawn_at: datetime | None
    images: int
    videos: int
    hashes: int
    bank: str  #: the bank its hashes went to

    @property
    def active(self) -> bool:
        return self.status is Status.ACTIVE


@dataclass(frozen=True)
class PinCheck:
    """What the store knows about a case's PIN: its slow hash and the lock-out state."""

    submission_id: int
    pin_hash: str
    failed_attempts: int
    locked_until: datetime | None


class SubmissionStore(Protocol):
    """Where submissions live (implemented by ``keepdown.storage``)."""

    def create(
        self,
        *,
        case_number: str,
        pin_hash: str,
        age_at_time: AgeAtTime,
        share_with_platforms: bool,
        bank: str,
        hashes: Iterable[SubmittedHash],
        now: datetime,
    ) -> Submission:
        """Store a new submission and its hashes in one transaction; Conflict when the case
        number is taken (the caller draws another)."""
        ...

    def get(self, case_number: str) -> Submission:
        """The submission with this case number; NotFound otherwise."""
        ...

    def by_id(self, submission_id: int) -> Submission: ...

    def pin_check(self, case_number: str) -> PinCheck:
        """The PIN hash and lock-out state of a case; NotFound for an unknown case."""
        ...

    def record_pin_attempt(
        self, submission_id: int, ok: bool, now: datetime, *, lock_after: int, lock_until: datetime
    ) -> PinCheck:
        """Count a wrong PIN (locking the case until ``lock_until`` once ``lock_after`` in a
        row were wrong) or clear the count after a right one."""
        ...

    def withdraw(self, submission_id: int, now: datetime) -> Submission:
        """Mark the submission withdrawn (a no-op when it already is)."""
        ...

    def hashes(self, submission_id: int) -> list[SubmittedHash]: ...

    def held(self, bank: str, keys: Iterable[HashKey]) -> set[HashKey]:
        """Which of ``keys`` an active submission of ``bank`` still holds."""
        ...

    def holders(self, bank: str, key: HashKey) -> list[int]:
        """The active submissions of ``bank`` holding ``key``, oldest first."""
        ...

    def all_keys(self, bank: str) -> tuple[set[HashKey], set[HashKey]]:
        """(held by an active submission, held only by withdrawn ones) for ``bank``."""
        ...

    def counts(self) -> Mapping[str, int]:
        """Submissions by status and programme, for the operator's page."""
        ...
