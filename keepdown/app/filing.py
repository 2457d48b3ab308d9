"""Filings' parts: the records regulators and clearing houses expect, on one storage
(issue 19, docs/filings.md and docs/regulators.md).

:class:`FilingServices` (``runtime.filings``) implements :class:`~keepdown.filings.desk.FilingDesk`,
what ``keepdown regulator``, the API's ``/api/v1/filings`` routes and the workers' filing pass
use:

1. profiles (who files, credentials by environment-variable name) in SQL;
2. CyberTipline reports: drafted from a platform's upload that the runtime's one match chain
   confirms, or from a confirmed sighting; sent through the outbox to NCMEC's service at the
   address of the report's environment (``filings_ncmec_test_url`` / ``..._production_url``);
3. statements of reasons: planned from the decisions in the events, sent in batches to the
   Transparency Database (``filings_dsa_sandbox_url`` / ``..._production_url``);
4. the hotline's records of a period (:meth:`FilingServices.hotline_records`): the trusted
   flagger's report and the regulator view, signed as every published report is, the
   referrals, and the goAML report of payment indicators, checked against the FIU's schema.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from keepdown.app.evidence import flagger_statement
from keepdown.app.runtime import Runtime
from keepdown.clock import Clock
from keepdown.errors import ConfigurationError, InvalidInput
from keepdown.events import ReferralMade
from keepdown.filings.cybertip_client import CyberTipClient
from keepdown.filings.cybertip_draft import ConfirmedMatch, CyberTipDrafter, UploadFacts
from keepdown.filings.cybertip_model import CyberTipReport, ReportState
from keepdown.filings.cybertip_outbox import CyberTipOutbox, CyberTipPolicy, OutboxReport
from keepdown.filings.desk import REFERRAL_RECIPIENTS, Record
from keepdown.filings.dsa_client import DsaClient
from keepdown.filings.flagger import FlaggerReport, flagger_report
from keepdown.filings.goaml import goaml_report
from keepdown.filings.preserved import FolderOfPreserved, NoPreservedFiles, PreservedFiles
from keepdown.filings.profiles import FilingProfile, credential
from keepdown.filings.sor_model import StatementState, StoredStatement
from keepdown.filings.sor_outbox import StatementsOutbox, StatementsPolicy, StatementsReport
from keepdown.filings.validate import load_xsd, require_valid, xml_problems
from keepdown.hashing.types import parse_hash
from keepdown.matching.views import is_confirmed
from keepdown.reports.period import parse_period
from keepdown.settings import Settings
from keepdown.storage.figures_store import report_events
from keepdown.storage.filing_facts import SqlFilingFacts
from keepdown.storage.filing_store import SqlCyberTips, SqlProfiles
from keepdown.storage.statement_store import SqlStatements

__all__ = ["FilingServices", "Record", "filing_services", "open_filings"]


class _ChainConfirmations:
    """A platform's file is reported only if the one match chain confirms it now."""

    def __init__(self, runtime: Runtime, facts: SqlFilingFacts) -> None:
        self.runtime = runtime
        self.facts = facts

    def confirmed(self, sha256: str, md5: str) -> ConfirmedMatch | None:
        values = [parse_hash("sha256", sha256)]
        if md5:
            values.append(parse_hash("md5", md5))
        matcher = self.runtime.matcher
        matcher.refresh()  # cheap when no bank changed; a report never rests on a stale index
        for matches in matcher.match_hashes(values, door="lookup"):
            for m in matches:
                if is_confirmed(m):
                    return ConfirmedMatch(m.bank, m.entry_id, self.facts.entry_label(m.entry_id))
        return None


@dataclass
class FilingServices:
    """Filings' parts of one :class:`~keepdown.app.runtime.Runtime` (module docstring)."""

    settings: Settings
    runtime: Runtime
    clock: Clock
    profiles: SqlProfiles
    cybertips: SqlCyberTips
    statements_store: SqlStatements
    facts: SqlFilingFacts
    preserved: PreservedFiles
    drafter: CyberTipDrafter
    outbox: CyberTipOutbox
    statements_outbox: StatementsOutbox
    environ: Mapping[str, str] | None = field(default=None, repr=False)

    # --- profiles ------------------------------------------------------------------------------

    def profile(self, organisation: str) -> FilingProfile | None:
        return self.profiles.get(organisation)

    def set_profile(
        self, organisation: str, part: str, values: Mapping[str, Any], by: str
    ) -> FilingProfile:
        current = self.profiles.get(organisation) or FilingProfile(organisation)
        changed = current.with_changes(part, values)
        stamped = FilingProfile(
            organisation=organisation,
            ncmec=changed.ncmec,
            dsa=changed.dsa,
            goaml=changed.goaml,
            updated_at=self.clock.now(),
            updated_by=by,
        )
        return self.profiles.put(stamped)

    # --- CyberTipline reports ----------------------------------------------------------------

    def draft_upload(self, organisation: str, by: str, facts: UploadFacts) -> CyberTipReport:
        return self.drafter.upload(organisation, by, facts)

    def draft_sighting(
        self, organisation: str, by: str, sighting_id: int, *, industry_classification: str = ""
    ) -> CyberTipReport:
        return self.drafter.sighting(
            organisation, by, sighting_id, industry_classification=industry_classification
        )

    def reports(
        self,
        organisation: str | None,
        *,
        states: Sequence[ReportState] | None = None,
        limit: int = 100,
    ) -> list[CyberTipReport]:
        return self.cybertips.select(organisation=organisation, states=states, limit=limit)

    def report(self, organisation: str | None, reference: str) -> CyberTipReport:
        return self.drafter.get(organisation, reference)

    def act(self, organisation: str | None, reference: str, action: str, by: str) -> CyberTipReport:
        report = self.report(organisation, reference)
        actions = {
            "approve": self.outbox.approve,
            "cancel": self.outbox.cancel,
            "withdraw": self.outbox.withdraw,
            "retry": self.outbox.retry,
        }
        if action not in actions:
            raise InvalidInput(f"unknown action {action!r}: one of {', '.join(actions)}")
        return actions[action](report.id, by)

    def send_reports(self, organisation: str | None = None) -> OutboxReport:
        return self.outbox.run(organisation=organisation)

    def ncmec_schema(self, organisation: str, environment: str | None = None) -> bytes:
        """NCMEC's own XSD, fetched with the organisation's credentials (``GET /xsd``)."""
        profile = self.profiles.get(organisation)
        if profile is None or profile.ncmec is None:
            raise InvalidInput(f"{organisation} has no NCMEC filing profile")
        service = self._cybertip_service(organisation, environment or profile.ncmec.environment)
        try:
            return service.schema()
        finally:
            service.close()

    def check_report(self, reference: str, schema: str | None = None) -> list[str]:
        """Why the stored report would be refused by ``schema`` (an XSD file: NCMEC's own, as
        ``ncmec_schema`` fetched it), or by keepdown's schema; empty when it is valid."""
        report = self.report(None, reference)
        return xml_problems(report.report_xml, load_xsd(schema) if schema else None)

    # --- statements of reasons -------------------------------------------------------------

    def send_statements(self, organisation: str | None = None) -> StatementsReport:
        return self.statements_outbox.run(organisation)

    def statements(
        self,
        organisation: str | None,
        *,
        states: Sequence[StatementState] | None = None,
        limit: int = 100,
    ) -> list[StoredStatement]:
        return self.statements_store.select(organisation=organisation, states=states, limit=limit)

    def statement_counts(self, organisation: str | None) -> dict[str, int]:
        return self.statements_store.counts(organisation)

    def run(self, organisation: str | None = None) -> dict[str, Any]:
        """One filing pass: plan and send statements of reasons, move CyberTipline reports on
        (one organisation's, or everyone's). What ``keepdown regulator file`` and the workers'
        filing task do."""
        statements = self.send_statements(organisation)
        reports = self.send_reports(organisation)
        return {"statements": statements.to_dict(), "cybertip": reports.to_dict()}

    # --- the hotline's records -----------------------------------------------------------------

    def flagger_report(self, period: str) -> FlaggerReport:
        chosen = parse_period(period)
        events = report_events(self.runtime.storage.engine, until=chosen.end)
        return flagger_report(
            events,
            chosen,
            operator=self.settings.notice_operator_name,
            generated_at=self.clock.now(),
            independence=flagger_statement(self.settings),
        )

    def refer(
        self,
        *,
        to: str,
        organisation: str,
        by: str,
        reference: str = "",
        recipient: str = "",
        items: int = 0,
    ) -> ReferralMade:
        if to not in REFERRAL_RECIPIENTS:
            raise InvalidInput(f"a referral goes to one of {', '.join(REFERRAL_RECIPIENTS)}")
        if to != "ncmec" and not recipient.strip():
            raise InvalidInput("name the recipient (the agency or the hotline)", field="recipient")
        if not 0 <= items <= 1_000_000:
            raise InvalidInput("items: 0 to 1,000,000", field="items")
        event = ReferralMade(
            at=self.clock.now(),
            to=to,
            organisation=organisation,
            source="manual",
            reference=reference.strip()[:200],
            recipient=recipient.strip()[:200],
            items=items,
            by=by,
        )
        self.runtime.storage.events.emit(event)
        return event

    def referrals(self, period: str | None = None) -> list[ReferralMade]:
        chosen = parse_period(period) if period else None
        found = self.runtime.storage.events.read(
            ReferralMade.kind,
            since=chosen.start if chosen else None,
            until=chosen.end if chosen else None,
        )
        return [e for e in found if isinstance(e, ReferralMade)]

    def goaml(self, organisation: str) -> Record:
        """The goAML report of payment and wallet indicators with confirmed sightings, from
        ``organisation``'s goAML profile; checked against ``filings_goaml_xsd`` when it is set
        (an invalid report is refused, never written)."""
        profile = self.profiles.get(organisation)
        if profile is None or profile.goaml is None:
            raise InvalidInput(
                f"{organisation} has no goAML profile "
                f"(keepdown regulator profile set {organisation} goaml rentity_id=...)"
            )
        indicators = self.runtime.accountability.confirmed_indicators()
        document = goaml_report(indicators, profile.goaml, now=self.clock.now())
        xsd = self.settings.filings_goaml_xsd
        if not xsd:
            return Record(
                "goaml.xml", document, "application/xml", note="not checked: no FIU schema set"
            )
        require_valid(xml_problems(document, load_xsd(xsd)), "the goAML report")
        return Record("goaml.xml", document, "application/xml", note=f"valid against {xsd}")

    def hotline_records(self, period: str, organisation: str | None = None) -> list[Record]:
        """A hotline's records of ``period`` (module docstring, step 4): the trusted flagger's
        report (JSON, CSV, text) and the regulator view (JSON, CSV), each signed; the
        referrals; and the goAML report when ``organisation`` has a goAML profile."""
        published = self.runtime.accountability.published
        out = []
        for view, formats in (("flagger", ("json", "csv", "text")), ("regulator", ("json", "csv"))):
            for fmt in formats:
                signed = published(period, view=view, fmt=fmt)
                ext = "txt" if fmt == "text" else fmt
                media = {"json": "application/json", "csv": "text/csv"}.get(fmt, "text/plain")
                out.append(
                    Record(f"{view}-{period}.{ext}", signed.text.encode(), media, signed.signature)
                )
        referrals = [e.to_dict() for e in self.referrals(period)]
        body = json.dumps({"period": period, "referrals": referrals}, indent=2) + "\n"
        out.append(Record(f"referrals-{period}.json", body.encode(), "application/json"))
        profile = self.profiles.get(organisation) if organisation else None
        if profile is not None and profile.goaml is not None:
            try:
                record = self.goaml(profile.organisation)
            except InvalidInput as exc:
                if "nothing to report" not in exc.message:
                    raise
            else:
                out.append(
                    Record(f"goaml-{period}.xml", record.data, record.media_type, "", record.note)
                )
        return out

    # --- the services ----------------------------------------------------------------------

    def _cybertip_service(self, organisation: str, environment: str) -> CyberTipClient:
        profile = self.profiles.get(organisation)
        if profile is None or profile.ncmec is None:
            raise ConfigurationError(f"{organisation} has no NCMEC filing profile")
        user, password = profile.ncmec.credential_names(environment)
        url = (
            self.settings.filings_ncmec_production_url
            if environment == "production"
            else self.settings.filings_ncmec_test_url
        )
        return CyberTipClient(
            url,
            credential(user, f"{organisation}'s NCMEC {environment} username", self.environ),
            credential(password, f"{organisation}'s NCMEC {environment} password", self.environ),
            timeout=self.settings.filings_timeout_seconds,
        )

    def _dsa_service(self, organisation: str, environment: str) -> DsaClient:
        profile = self.profiles.get(organisation)
        if profile is None or profile.dsa is None:
            raise ConfigurationError(f"{organisation} has no DSA filing profile")
        url = (
            self.settings.filings_dsa_production_url
            if environment == "production"
            else self.settings.filings_dsa_sandbox_url
        )
        if not url:
            raise ConfigurationError(
                f"no address for the Transparency Database's {environment} "
                "(filings_dsa_sandbox_url: the one your Digital Services Coordinator gave)"
            )
        token = credential(
            profile.dsa.token_name(environment),
            f"{organisation}'s Transparency Database {environment} token",
            self.environ,
        )
        return DsaClient(url, token, timeout=self.settings.filings_timeout_seconds)


def _preserved(settings: Settings) -> PreservedFiles:
    folder = settings.filings_preserved_dir
    return FolderOfPreserved(Path(folder).expanduser()) if folder else NoPreservedFiles()


def filing_services(runtime: Runtime, environ: Mapping[str, str] | None = None) -> FilingServices:
    """The filing parts of ``runtime`` (:attr:`Runtime.filings`). ``environ`` is where
    credentials are read (the process environment by default)."""
    settings, engine = runtime.settings, runtime.storage.engine
    profiles, cybertips = SqlProfiles(engine), SqlCyberTips(engine)
    statements, facts = SqlStatements(engine), SqlFilingFacts(engine)
    preserved = _preserved(settings)
    drafter = CyberTipDrafter(
        cybertips, profiles, _ChainConfirmations(runtime, facts), facts, preserved, runtime.clock
    )
    services: FilingServices | None = None

    def cybertip_for(organisation: str, environment: str) -> CyberTipClient:
        assert services is not None
        return services._cybertip_service(organisation, environment)

    def dsa_for(organisation: str, environment: str) -> DsaClient:
        assert services is not None
        return services._dsa_service(organisation, environment)

    outbox = CyberTipOutbox(
        cybertips,
        cybertip_for,
        preserved,
        runtime.clock,
        CyberTipPolicy(
            lease_seconds=settings.notice_delivery_lease_seconds,
            max_attempts=settings.filings_max_attempts,
            idle_limit=timedelta(minutes=settings.filings_idle_minutes),
        ),
    )
    statements_outbox = StatementsOutbox(
        statements,
        profiles,
        runtime.storage.events,
        dsa_for,
        runtime.clock,
        StatementsPolicy(lease_seconds=settings.notice_delivery_lease_seconds),
    )
    services = FilingServices(
        settings,
        runtime,
        runtime.clock,
        profiles,
        cybertips,
        statements,
        facts,
        preserved,
        drafter,
        outbox,
        statements_outbox,
        environ,
    )
    return services


def open_filings(settings: Settings, *, clock: Clock | None = None) -> FilingServices:
    """The filing parts of a new :class:`Runtime`, for one command (``.runtime.close()``)."""
    return Runtime(settings, clock=clock).filings
