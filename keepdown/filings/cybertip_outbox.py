"""The CyberTipline outbox: every report reaches NCMEC once, whatever dies on the way.

A pass (:meth:`CyberTipOutbox.run`):

1. **recover** reports whose step was claimed under a lease that ran out (the sender died):
   - ``submit``: NCMEC may have opened a report the sender never heard of. Such a report is
     never finished, and NCMEC deletes unfinished reports after its time-out, so it can never
     become a second report: submit again;
   - ``upload``: NCMEC may hold the file once already, and a repeat would put it in the report
     twice. The open report is withdrawn (``/retract``) and a new one opened, so the one that
     is finished holds each file once;
   - ``fileinfo``, ``finish``, ``retract``: repeated as they are. A file's details describe
     the same file id again; a second ``finish`` of a finished report answers "already
     finished" (5102), which counts as finished; a second ``retract`` of a withdrawn report
     answers "no such report" (5001), which counts as withdrawn;
2. **watch the deadline**: NCMEC deletes an unfinished report an hour after its last change
   (at the earliest): a report whose steps have stalled for ``idle_limit`` is withdrawn and
   opened again later, rather than left for NCMEC to delete half made;
3. **send**: for each due report, claim its next step (the store marks it in flight under a
   lease, so two workers never send the same step), call NCMEC, and record the result and the
   step's event in one transaction (:meth:`CyberTipStore.apply`, guarded by the step still
   being the one in flight). A report goes through ``submit``, then ``upload`` and
   ``fileinfo`` for each preserved file, then ``finish``.

Failures: a transient one (network, 5xx, NCMEC's 1000) is tried again with back-off, up to
``max_attempts``; a refused document (4100) or a refused credential is final: the open
report (if any) is withdrawn and the report marked ``failed`` for an operator. A report NCMEC
no longer has (5001) is opened again, up to ``max_restarts`` times. A finished report in
NCMEC's production service is a :class:`~keepdown.events.ReferralMade`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from keepdown.clock import Clock
from keepdown.errors import ConfigurationError, Conflict, FilingError, Forbidden, InvalidInput
from keepdown.events import CyberTipStep, Event, ReferralMade
from keepdown.filings.cybertip_client import CyberTipService, Outcome, classify
from keepdown.filings.cybertip_model import (
    CyberTipReport,
    CyberTipStore,
    ReportChange,
    ReportFile,
    ReportState,
    Step,
)
from keepdown.filings.cybertip_xml import Answer, file_details_xml
from keepdown.filings.preserved import PreservedFiles
from keepdown.filings.validate import require_valid, xml_problems

__all__ = ["CyberTipOutbox", "CyberTipPolicy", "OutboxReport", "ServiceFor"]

log = logging.getLogger("keepdown.filings")

#: Builds the service client for (organisation, environment) from the organisation's profile.
ServiceFor = Callable[[str, str], CyberTipService]


@dataclass(frozen=True)
class CyberTipPolicy:
    """How patient the outbox is."""

    lease_seconds: float = 300.0
    max_attempts: int = 5
    backoff_seconds: float = 60.0
    max_restarts: int = 3
    idle_limit: timedelta = timedelta(minutes=45)


@dataclass
class OutboxReport:
    """What one pass did, by report reference (the CLI prints it)."""

    opened: list[str] = field(default_factory=list)
    finished: list[str] = field(default_factory=list)
    retracted: list[str] = field(default_factory=list)
    restarted: list[str] = field(default_factory=list)
    retrying: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    recovered: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, list[str]]:
        return {name: list(getattr(self, name)) for name in self.__dataclass_fields__}


@dataclass(frozen=True)
class _Result:
    """A step's outcome: the answer, or the error that stood for one."""

    outcome: Outcome
    answer: Answer | None = None
    error: str = ""
    code: str = ""


class CyberTipOutbox:
    """Moves reports through NCMEC's service (module docstring)."""

    def __init__(
        self,
        store: CyberTipStore,
        service_for: ServiceFor,
        preserved: PreservedFiles,
        clock: Clock,
        policy: CyberTipPolicy | None = None,
    ) -> None:
        self.store = store
        self.service_for = service_for
        self.preserved = preserved
        self.clock = clock
        self.policy = policy or CyberTipPolicy()
        #: One client per organisation and environment for the length of a pass.
        self._services: dict[tuple[str, str], CyberTipService] = {}

    # --- a pass --------------------------------------------------------------------------------

    def run(self, *, limit: int = 100, organisation: str | None = None) -> OutboxReport:
        """One pass over every organisation's reports, or ``organisation``'s only."""
        report = OutboxReport()
        self.recover(report)
        self.watch_deadlines()
        try:
            for report_id in self.store.due(self.clock.now(), limit):
                if organisation is not None and self.store.get(report_id).organisation != (
                    organisation
                ):
                    continue
                self.advance(report_id, report)
        finally:
            for service in self._services.values():
                service.close()
            self._services.clear()
        return report

    def advance(self, report_id: int, report: OutboxReport) -> None:
        """Take one report through as many steps as it can go now."""
        for _ in range(4 + 2 * len(self.store.get(report_id).files)):
            current = self.store.get(report_id)
            nxt = current.next_step()
            if nxt is None or (current.next_attempt_at and current.next_attempt_at > self.now):
                return
            if not self._step(current, *nxt, report):
                return

    @property
    def now(self) -> datetime:
        return self.clock.now()

    # --- 1. recover ------------------------------------------------------------------------------

    def recover(self, report: OutboxReport) -> None:
        for stale in self.store.expired(self.now):
            step = stale.in_flight

            def decide(r: CyberTipReport, step: Step | None = step) -> ReportChange:
                change = ReportChange(report={"in_flight": None, "lease_expires": None})
                if step is Step.UPLOAD and r.state is ReportState.OPEN and not r.retract_then:
                    change.report["retract_then"] = "restart"
                    change.events.append(
                        self._event(r, "interrupted", detail="upload interrupted: withdrawing")
                    )
                else:
                    change.events.append(
                        self._event(r, "interrupted", detail=f"{step} interrupted: repeating")
                    )
                return change

            if self.store.apply(stale.id, decide, in_flight=step) is not None:
                report.recovered.append(stale.reference)

    # --- 2. deadlines ----------------------------------------------------------------------------

    def watch_deadlines(self) -> None:
        """Withdraw open reports whose steps stalled past ``idle_limit`` (module docstring)."""
        cutoff = self.now - self.policy.idle_limit
        for r in self.store.select(states=[ReportState.OPEN], limit=1000):
            stalled = (r.last_step_at or r.opened_at or r.drafted_at) < cutoff
            if not stalled or r.retract_then or r.in_flight is not None:
                continue
            nxt = r.next_step()
            if nxt is not None and nxt[0] is Step.FINISH:
                continue  # finishing is the next thing done: no need to withdraw

            def decide(cur: CyberTipReport) -> ReportChange | None:
                if cur.retract_then or cur.state is not ReportState.OPEN:
                    return None
                return ReportChange(
                    report={"retract_then": "restart", "next_attempt_at": None, "attempts": 0},
                    events=[
                        self._event(cur, "stalled", detail="withdrawing before NCMEC's time-out")
                    ],
                )

            self.store.apply(r.id, decide)

    # --- 3. one step -----------------------------------------------------------------------------

    def _step(
        self, r: CyberTipReport, step: Step, f: ReportFile | None, report: OutboxReport
    ) -> bool:
        """Claim and send ``step``; True when the report may go on at once."""
        claimed = self.store.claim(r.id, step, self.now, self.policy.lease_seconds)
        if claimed is None:
            return False  # another worker holds it
        result = self._call(claimed, step, f)
        handler = {
            Step.SUBMIT: self._after_submit,
            Step.UPLOAD: self._after_upload,
            Step.FILEINFO: self._after_fileinfo,
            Step.FINISH: self._after_finish,
            Step.RETRACT: self._after_retract,
        }[step]
        return handler(claimed, f, result, report)

    def _call(self, r: CyberTipReport, step: Step, f: ReportFile | None) -> _Result:
        key = (r.organisation, r.environment)
        try:
            if key not in self._services:
                self._services[key] = self.service_for(*key)
        except ConfigurationError as exc:
            return _Result(Outcome.TRANSIENT, error=exc.message)
        service = self._services[key]
        try:
            answer = self._send(service, r, step, f)
        except InvalidInput as exc:  # a document keepdown would not send as it is
            return _Result(Outcome.REFUSED, error=exc.message)
        except FilingError as exc:
            auth = bool(exc.details.get("auth"))
            outcome = (
                Outcome.AUTH
                if auth
                else (Outcome.REFUSED if exc.details.get("permanent") else Outcome.TRANSIENT)
            )
            return _Result(outcome, error=exc.message)
        if answer is None:
            return _Result(Outcome.REFUSED, error="the preserved copy of the file is gone")
        return _Result(
            classify(answer.code), answer, error=answer.description, code=str(answer.code)
        )

    def _send(
        self, service: CyberTipService, r: CyberTipReport, step: Step, f: ReportFile | None
    ) -> Answer | None:
        if step is Step.SUBMIT:
            return service.submit(r.report_xml)
        if step is Step.UPLOAD:
            assert f is not None
            data = self.preserved.read(f.facts.sha256)
            if data is None:
                return None
            return service.upload(r.ncmec_report_id, f.facts.file_name or f.facts.sha256, data)
        if step is Step.FILEINFO:
            assert f is not None
            details = file_details_xml(r.ncmec_report_id, f.ncmec_file_id, f.facts)
            require_valid(xml_problems(details), "the file's details")
            return service.file_info(details)
        if step is Step.FINISH:
            return service.finish(r.ncmec_report_id)
        return service.retract(r.ncmec_report_id)

    # --- what each answer does ------------------------------------------------------------

    def _after_submit(
        self, r: CyberTipReport, _f: ReportFile | None, res: _Result, report: OutboxReport
    ) -> bool:
        if res.outcome is Outcome.OK and res.answer is not None and res.answer.report_id:
            rid = res.answer.report_id
            values: dict[str, object] = {
                "state": ReportState.OPEN,
                "ncmec_report_id": rid,
                "opened_at": self.now,
            }
            event = self._event(r, "opened", ncmec_report_id=rid)
            if self._settle(r, Step.SUBMIT, values, [event]):
                report.opened.append(r.reference)
                return True
            return False
        if res.outcome in (Outcome.REFUSED, Outcome.AUTH):
            return self._fail(r, Step.SUBMIT, res, report)
        return self._retry(r, Step.SUBMIT, res, report, then_fail=True)

    def _after_upload(
        self, r: CyberTipReport, f: ReportFile | None, res: _Result, report: OutboxReport
    ) -> bool:
        assert f is not None
        if res.outcome is Outcome.OK and res.answer is not None and res.answer.file_id:
            fid = res.answer.file_id
            event = self._event(r, "file_uploaded", file_id=fid)
            return self._settle(
                r,
                Step.UPLOAD,
                {},
                [event],
                files={f.id: {"ncmec_file_id": fid, "uploaded": self.now}},
            )
        return self._open_report_failed(r, Step.UPLOAD, res, report)

    def _after_fileinfo(
        self, r: CyberTipReport, f: ReportFile | None, res: _Result, report: OutboxReport
    ) -> bool:
        assert f is not None
        if res.outcome is Outcome.OK:
            event = self._event(r, "file_described", file_id=f.ncmec_file_id)
            return self._settle(
                r, Step.FILEINFO, {}, [event], files={f.id: {"described": self.now}}
            )
        return self._open_report_failed(r, Step.FILEINFO, res, report)

    def _after_finish(
        self, r: CyberTipReport, _f: ReportFile | None, res: _Result, report: OutboxReport
    ) -> bool:
        if res.outcome in (Outcome.OK, Outcome.FINISHED):
            if self._settle(r, Step.FINISH, *self._finished(r)):
                report.finished.append(r.reference)
            return False
        return self._open_report_failed(r, Step.FINISH, res, report)

    def _after_retract(
        self, r: CyberTipReport, _f: ReportFile | None, res: _Result, report: OutboxReport
    ) -> bool:
        if res.outcome is Outcome.FINISHED:  # it was finished after all: it stands
            if self._settle(r, Step.RETRACT, *self._finished(r)):
                report.finished.append(r.reference)
            return False
        if res.outcome not in (Outcome.OK, Outcome.GONE):
            if res.outcome is Outcome.AUTH:
                return self._fail(r, Step.RETRACT, res, report)
            return self._retry(r, Step.RETRACT, res, report, then_fail=False)
        events: list[Event] = [self._event(r, "retracted", detail=r.retract_then)]
        if r.retract_then == "restart" and r.restarts < self.policy.max_restarts:
            values, files = self._restart_values(r)
            events.append(self._event(r, "restarted", detail="opening a new report"))
            if self._settle(r, Step.RETRACT, values, events, files=files):
                report.retracted.append(r.reference)
                report.restarted.append(r.reference)
                return True
            return False
        state = ReportState.RETRACTED if r.retract_then == "operator" else ReportState.FAILED
        final: dict[str, object] = {"state": state, "retract_then": ""}
        if state is ReportState.FAILED and not r.last_error:
            final["last_error"] = "withdrawn: it could not be completed"
        if self._settle(r, Step.RETRACT, final, events):
            report.retracted.append(r.reference)
            if state is ReportState.FAILED:
                report.failed.append(r.reference)
        return False

    # --- shared outcomes ----------------------------------------------------------------------

    def _open_report_failed(
        self, r: CyberTipReport, step: Step, res: _Result, report: OutboxReport
    ) -> bool:
        """A step of an open report did not succeed."""
        if res.outcome is Outcome.GONE:  # NCMEC deleted it (time-out): open a new one
            if r.restarts >= self.policy.max_restarts:
                return self._fail(r, step, res, report)
            values, files = self._restart_values(r)
            event = self._event(r, "restarted", code=res.code, detail="NCMEC no longer has it")
            if self._settle(r, step, values, [event], files=files):
                report.restarted.append(r.reference)
                return True
            return False
        if res.outcome is Outcome.AUTH:
            return self._fail(r, step, res, report)
        if res.outcome is Outcome.FINISHED:  # NCMEC has it for good already
            if self._settle(r, step, *self._finished(r)):
                report.finished.append(r.reference)
            return False
        if res.outcome is Outcome.REFUSED:
            return self._withdraw(r, step, res)
        return self._retry(r, step, res, report, then_fail=False)

    def _retry(
        self, r: CyberTipReport, step: Step, res: _Result, report: OutboxReport, *, then_fail: bool
    ) -> bool:
        attempts = r.attempts + 1
        if attempts >= self.policy.max_attempts:
            if then_fail or step is Step.RETRACT or r.state is not ReportState.OPEN:
                return self._fail(r, step, res, report)
            return self._withdraw(r, step, res)
        wait = self.policy.backoff_seconds * 2 ** (attempts - 1)
        values: dict[str, object] = {
            "attempts": attempts,
            "next_attempt_at": self.now + timedelta(seconds=wait),
            "last_error": res.error[:2000],
            "last_code": res.code,
        }
        log.warning("%s %s: %s; retrying in %.0f s", r.reference, step, res.error, wait)
        if self._settle(r, step, values, []):
            report.retrying.append(r.reference)
        return False

    def _withdraw(self, r: CyberTipReport, step: Step, res: _Result) -> bool:
        """Withdraw the open report at NCMEC, then mark it failed (the next step: retract)."""
        values: dict[str, object] = {
            "retract_then": "fail",
            "attempts": 0,
            "next_attempt_at": None,
            "last_error": f"{step}: {res.error}"[:2000],
            "last_code": res.code,
        }
        event = self._event(r, "failed", code=res.code, detail=f"{step}: {res.error}"[:500])
        return self._settle(r, step, values, [event])

    def _fail(self, r: CyberTipReport, step: Step, res: _Result, report: OutboxReport) -> bool:
        values: dict[str, object] = {
            "state": ReportState.FAILED,
            "retract_then": "",
            "last_error": f"{step}: {res.error}"[:2000],
            "last_code": res.code,
        }
        event = self._event(r, "failed", code=res.code, detail=f"{step}: {res.error}"[:500])
        if self._settle(r, step, values, [event]):
            report.failed.append(r.reference)
        return False

    def _restart_values(
        self, r: CyberTipReport
    ) -> tuple[dict[str, object], dict[int, dict[str, object]]]:
        values: dict[str, object] = {
            "state": ReportState.READY,
            "ncmec_report_id": "",
            "opened_at": None,
            "retract_then": "",
            "restarts": r.restarts + 1,
            "attempts": 0,
            "next_attempt_at": None,
        }
        files: dict[int, dict[str, object]] = {
            f.id: {"ncmec_file_id": "", "uploaded": None, "described": None} for f in r.files
        }
        return values, files

    def _finished(self, r: CyberTipReport) -> tuple[dict[str, object], list[Event]]:
        values: dict[str, object] = {
            "state": ReportState.FINISHED,
            "finished_at": self.now,
            "retract_then": "",
        }
        events: list[Event] = [self._event(r, "finished", ncmec_report_id=r.ncmec_report_id)]
        if r.environment == "production":  # the test service discards reports
            events.append(
                ReferralMade(
                    at=self.now,
                    to="ncmec",
                    organisation=r.organisation,
                    source=r.source.value,
                    reference=r.ncmec_report_id,
                    recipient="NCMEC CyberTipline",
                    items=len(r.files),
                    by=r.approved_by or r.drafted_by,
                )
            )
        return values, events

    def _settle(
        self,
        r: CyberTipReport,
        step: Step,
        values: dict[str, object],
        events: list[Event],
        *,
        files: dict[int, dict[str, object]] | None = None,
    ) -> bool:
        """Record a step's result, if the step is still the one in flight."""
        base: dict[str, object] = {"in_flight": None, "lease_expires": None}
        if values.get("state") is not None or step is not Step.RETRACT:
            base["last_step_at"] = self.now
        if "attempts" not in values and values.get("state") is not ReportState.FAILED:
            base.update(attempts=0, next_attempt_at=None)
        change = ReportChange(report={**base, **values}, files=files or {}, events=events)
        return self.store.apply(r.id, lambda _cur: change, in_flight=step) is not None

    def _event(self, r: CyberTipReport, step: str, **fields: str) -> CyberTipStep:
        return CyberTipStep(
            at=self.now,
            report_ref=r.reference,
            organisation=r.organisation,
            environment=r.environment,
            step=step,
            ncmec_report_id=fields.pop("ncmec_report_id", r.ncmec_report_id),
            **fields,
        )

    # --- an operator's word ---------------------------------------------------------------------

    def approve(self, report_id: int, by: str) -> CyberTipReport:
        """A second person lets an awaiting report go (never the person who drafted it)."""

        def decide(r: CyberTipReport) -> ReportChange:
            if r.state is not ReportState.AWAITING_APPROVAL:
                raise Conflict(f"{r.reference} is {r.state.value}, not awaiting approval")
            if r.drafted_by == by:
                raise Forbidden("a report is approved by a second person, not by who drafted it")
            return ReportChange(
                report={"state": ReportState.READY, "approved_by": by, "approved_at": self.now},
                events=[self._event(r, "approved", by=by)],
            )

        return self._operator(report_id, decide)

    def cancel(self, report_id: int, by: str) -> CyberTipReport:
        """Drop a report that NCMEC has not seen (awaiting approval, or ready)."""

        def decide(r: CyberTipReport) -> ReportChange:
            if r.state not in (ReportState.AWAITING_APPROVAL, ReportState.READY) or r.in_flight:
                raise Conflict(
                    f"{r.reference} is {r.state.value}: only an unsent report is cancelled"
                )
            return ReportChange(
                report={"state": ReportState.CANCELLED},
                events=[self._event(r, "cancelled", by=by)],
            )

        return self._operator(report_id, decide)

    def withdraw(self, report_id: int, by: str) -> CyberTipReport:
        """Withdraw an open report at NCMEC (the next pass sends ``/retract``)."""

        def decide(r: CyberTipReport) -> ReportChange:
            if r.state is not ReportState.OPEN:
                raise Conflict(
                    f"{r.reference} is {r.state.value}: only an open report is withdrawn"
                )
            return ReportChange(
                report={"retract_then": "operator", "attempts": 0, "next_attempt_at": None},
                events=[self._event(r, "withdrawal_requested", by=by)],
            )

        return self._operator(report_id, decide)

    def retry(self, report_id: int, by: str) -> CyberTipReport:
        """Send a failed or withdrawn report again, as a new report at NCMEC."""

        def decide(r: CyberTipReport) -> ReportChange:
            if r.state not in (ReportState.FAILED, ReportState.RETRACTED):
                raise Conflict(f"{r.reference} is {r.state.value}: only a failed one is retried")
            values, files = self._restart_values(r)
            values.update(restarts=r.restarts, last_error="", last_code="")
            return ReportChange(
                report=values, files=files, events=[self._event(r, "retry_requested", by=by)]
            )

        return self._operator(report_id, decide)

    def _operator(
        self, report_id: int, decide: Callable[[CyberTipReport], ReportChange]
    ) -> CyberTipReport:
        done = self.store.apply(report_id, decide)
        return done if done is not None else self.store.get(report_id)
