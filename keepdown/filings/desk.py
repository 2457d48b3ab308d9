"""What the entry points (API, CLI, workers) ask of filings: one protocol, which the
composition root implements (``keepdown.app.filing.FilingServices``). A :class:`Record` is one
record written for an authority (a file: its name, bytes and detached signature).

``organisation`` is whose records a call may touch: a platform's key touches its own
organisation's reports and statements only; ``None`` is the operator at the command line, who
sees every organisation's. ``by`` names the person or key acting (approvals need a second
one).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from keepdown.events import ReferralMade
from keepdown.filings.cybertip_draft import UploadFacts
from keepdown.filings.cybertip_model import CyberTipReport, ReportState
from keepdown.filings.cybertip_outbox import OutboxReport
from keepdown.filings.flagger import FlaggerReport
from keepdown.filings.profiles import FilingProfile
from keepdown.filings.sor_model import StatementState, StoredStatement
from keepdown.filings.sor_outbox import StatementsReport

__all__ = ["REFERRAL_RECIPIENTS", "FilingDesk", "Record"]

#: Whom a referral may go to (``ReferralMade.to``).
REFERRAL_RECIPIENTS = ("ncmec", "law_enforcement", "hotline")


@dataclass(frozen=True)
class Record:
    """One record written for an authority: its file name, bytes and media type, the detached
    signature of a signed report (else empty), and a note (whether it was checked, and
    against what)."""

    name: str
    data: bytes
    media_type: str
    signature: str = ""
    note: str = ""


class FilingDesk(Protocol):
    # --- profiles ------------------------------------------------------------------------------

    def profile(self, organisation: str) -> FilingProfile | None: ...

    def set_profile(
        self, organisation: str, part: str, values: Mapping[str, Any], by: str
    ) -> FilingProfile: ...

    # --- CyberTipline reports ----------------------------------------------------------------

    def draft_upload(self, organisation: str, by: str, facts: UploadFacts) -> CyberTipReport: ...

    def draft_sighting(
        self, organisation: str, by: str, sighting_id: int, *, industry_classification: str = ""
    ) -> CyberTipReport: ...

    def reports(
        self,
        organisation: str | None,
        *,
        states: Sequence[ReportState] | None = None,
        limit: int = 100,
    ) -> list[CyberTipReport]: ...

    def report(self, organisation: str | None, reference: str) -> CyberTipReport: ...

    def act(self, organisation: str | None, reference: str, action: str, by: str) -> CyberTipReport:
        """``approve``, ``cancel``, ``withdraw`` or ``retry`` a report."""
        ...

    def send_reports(self, organisation: str | None = None) -> OutboxReport: ...

    # --- statements of reasons -------------------------------------------------------------

    def send_statements(self, organisation: str | None = None) -> StatementsReport: ...

    def statements(
        self,
        organisation: str | None,
        *,
        states: Sequence[StatementState] | None = None,
        limit: int = 100,
    ) -> list[StoredStatement]: ...

    def statement_counts(self, organisation: str | None) -> dict[str, int]: ...

    # --- the hotline's records -----------------------------------------------------------------

    def flagger_report(self, period: str) -> FlaggerReport: ...

    def refer(
        self,
        *,
        to: str,
        organisation: str,
        by: str,
        reference: str = "",
        recipient: str = "",
        items: int = 0,
    ) -> ReferralMade: ...

    def referrals(self, period: str | None = None) -> list[ReferralMade]: ...

    def goaml(self, organisation: str) -> Record:
        """The goAML report of payment indicators with confirmed sightings."""
        ...

    def hotline_records(self, period: str, organisation: str | None = None) -> list[Record]:
        """A hotline's records of a period (the trusted flagger's report and the regulator
        view, signed; the referrals; goAML when the organisation has a goAML profile)."""
        ...

    # --- one pass ---------------------------------------------------------------------------

    def run(self, organisation: str | None = None) -> dict[str, Any]:
        """Plan and send statements of reasons, move CyberTipline reports on."""
        ...
