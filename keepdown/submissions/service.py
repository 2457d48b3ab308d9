"""Self-submission flows: submit, check with the case number and PIN, withdraw.

Submit (:meth:`SubmissionService.submit`), for a checked :class:`~keepdown.submissions.form.
SubmissionForm`:

1. draw a case number and a PIN; keep the PIN only as an Argon2id hash;
2. store the submission and its hashes in one transaction (a taken case number is drawn again);
3. bring the programme's bank up to date with those hashes (:mod:`keepdown.submissions.
   programme_banks`): matchable from the next index refresh, everywhere;
4. emit :class:`~keepdown.events.SelfSubmissionReceived` (counts only) and hand back the case
   number and the PIN, which keepdown shows once and never again.

Open a case (:meth:`SubmissionService.open_case`): an unknown case number and a wrong PIN get
the same answer, in the same time (a dummy Argon2 verification); ``lock_after`` wrong PINs in a
row lock the case for ``lock_minutes``.

Withdraw (:meth:`SubmissionService.withdraw`): mark the submission withdrawn, take its hashes
out of the bank (tombstones, unless another active submission holds the same hash), close the
removal requests it started (``on_withdrawn``), emit :class:`~keepdown.events.
SelfSubmissionWithdrawn`. Each step can be repeated, so :meth:`reconcile` finishes what a
crash interrupted.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from keepdown.auth.passwords import Passwords
from keepdown.clock import Clock
from keepdown.errors import AuthError, Conflict, NotFound, RateLimited, StorageError
from keepdown.events import EventSink, SelfSubmissionReceived, SelfSubmissionWithdrawn
from keepdown.submissions.codes import (
    format_case_number,
    new_case_number,
    new_pin,
    normalise_case_number,
    normalise_pin,
)
from keepdown.submissions.form import SubmissionForm
from keepdown.submissions.model import Status, Submission, SubmissionStore
from keepdown.submissions.programme_banks import ProgrammeBanks, SyncResult

__all__ = ["CasePolicy", "Receipt", "SubmissionService"]

_WRONG = "the case number or the PIN is wrong"


@dataclass(frozen=True)
class CasePolicy:
    """How many wrong PINs in a row lock a case, and for how long."""

    lock_after: int = 5
    lock_minutes: int = 15


@dataclass(frozen=True)
class Receipt:
    """What the person gets once: the case number (as shown) and the PIN."""

    case_number: str
    pin: str
    submission: Submission
    low_quality: int = 0  #: pictures whose PDQ was too weak to keep (exact hashes kept)


class SubmissionService:
    """See the module docstring."""

    def __init__(
        self,
        store: SubmissionStore,
        banks: ProgrammeBanks,
        events: EventSink,
        clock: Clock,
        *,
        passwords: Passwords | None = None,
        policy: CasePolicy | None = None,
        on_withdrawn: Callable[[Submission], object] | None = None,
    ) -> None:
        self.store = store
        self.banks = banks
        self.events = events
        self.clock = clock
        self.passwords = passwords or Passwords()
        self.policy = policy or CasePolicy()
        self.on_withdrawn = on_withdrawn

    def submit(self, form: SubmissionForm) -> Receipt:
        """Steps 1-4 of the module docstring."""
        now = self.clock.now()
        programme = form.age_at_time.programme
        bank = self.banks.bank(programme, form.share_with_platforms)
        pin = new_pin()
        pin_hash = self.passwords.hash(normalise_pin(pin))
        for _attempt in range(5):
            try:
                submission = self.store.create(
                    case_number=new_case_number(),
                    pin_hash=pin_hash,
                    age_at_time=form.age_at_time,
                    share_with_platforms=form.share_with_platforms,
                    bank=bank.name,
                    hashes=form.hashes,
                    now=now,
                )
                break
            except Conflict:
                continue  # a case number drawn twice in 10**11: draw again
        else:  # pragma: no cover - five collisions in a row do not happen
            raise StorageError("no free case number could be drawn; try again")
        self.banks.sync(bank, {h.key for h in form.hashes}, now)
        self.events.emit(
            SelfSubmissionReceived(
                at=now,
                submission_id=str(submission.id),
                programme=programme.value,
                shared=form.share_with_platforms,
                images=form.images,
                videos=form.videos,
                hashes=len(form.hashes),
            )
        )
        return Receipt(
            format_case_number(submission.case_number), pin, submission, form.low_quality
        )

    def open_case(self, case_number: str, pin: str) -> Submission:
        """The submission, once its PIN is proven (module docstring); AuthError otherwise,
        RateLimited while the case is locked."""
        number = normalise_case_number(case_number)
        typed = normalise_pin(pin)
        try:
            check = self.store.pin_check(number)
        except NotFound:
            self.passwords.burn(typed)  # the same time as a wrong PIN: no oracle
            raise AuthError(_WRONG) from None
        now = self.clock.now()
        if check.locked_until is not None and now < check.locked_until:
            wait = int((check.locked_until - now).total_seconds()) + 1
            raise RateLimited(
                "too many wrong PINs for this case: try again later", retry_after=wait
            )
        ok, _rehash = self.passwords.verify(check.pin_hash, typed)
        self.store.record_pin_attempt(
            check.submission_id,
            ok,
            now,
            lock_after=self.policy.lock_after,
            lock_until=now + timedelta(minutes=self.policy.lock_minutes),
        )
        if not ok:
            raise AuthError(_WRONG)
        return self.store.by_id(check.submission_id)

    def withdraw(self, case_number: str, pin: str) -> Submission:
        """Withdraw a submission (module docstring); the submission as it is now."""
        submission = self.open_case(case_number, pin)
        if submission.status is Status.WITHDRAWN:
            return submission
        now = self.clock.now()
        withdrawn = self.store.withdraw(submission.id, now)
        result = self._unbank(withdrawn)
        if self.on_withdrawn is not None:
            self.on_withdrawn(withdrawn)
        self.events.emit(
            SelfSubmissionWithdrawn(
                at=now,
                submission_id=str(withdrawn.id),
                programme=withdrawn.programme.value,
                hashes_removed=result.removed,
            )
        )
        return withdrawn

    def _unbank(self, submission: Submission) -> SyncResult:
        bank = self.banks.bank(submission.programme, submission.share_with_platforms)
        keys = {h.key for h in self.store.hashes(submission.id)}
        return self.banks.sync(bank, keys, self.clock.now())

    def reconcile(self) -> SyncResult:
        """Every programme bank brought back in line with the submissions (after a crash)."""
        return self.banks.reconcile(self.clock.now())
