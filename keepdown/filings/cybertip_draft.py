"""Drafting a CyberTipline report from what keepdown knows, and nothing it does not.

Two sources:

1. **a platform's upload** that matched: the platform names the upload by its hashes (keepdown
   keeps no uploads) with what it knows of the account that uploaded it. keepdown drafts a
   report only for a *confirmed* match (an exact match in a trusted bank: the one rule that
   acts without a person, ``keepdown.matching``), asked again now through the match chain.
   ``fileViewedByEsp`` is the platform's own word (keepdown never showed that file to anyone);
2. **a sighting** of keepdown's crawler that is confirmed, when the operator's profile turns
   this on (``sightings``). ``fileViewedByEsp`` is true only when keepdown's audit log says an
   analyst revealed the media in the review queue (``review.reveal``, settled ok), never
   assumed.

The industry classification (A1, A2, B1, B2) is the matched entry's own label when it is one
of those, or what the drafter says; otherwise it is left out. A file is uploaded to NCMEC only
when the operator preserved a copy (:mod:`keepdown.filings.preserved`); otherwise its hashes go
in the report's text. The report is rendered once, checked against keepdown's schema, and
stored with its ``CyberTipDrafted`` event; the outbox sends it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from keepdown.clock import Clock
from keepdown.errors import Conflict, Forbidden, InvalidInput, NotFound
from keepdown.events import CyberTipDrafted, Event
from keepdown.filings.cybertip_model import (
    CyberTipDraft,
    CyberTipReport,
    CyberTipStore,
    FileFacts,
    IpEvent,
    ReportedUser,
    ReportState,
    Source,
)
from keepdown.filings.cybertip_xml import report_xml
from keepdown.filings.preserved import PreservedFiles
from keepdown.filings.profiles import NcmecProfile, ProfileStore
from keepdown.filings.validate import require_valid, xml_problems

__all__ = [
    "Confirmations",
    "ConfirmedMatch",
    "CyberTipDrafter",
    "SightingFacts",
    "Sightings",
    "UploadFacts",
]

_HEX = {"sha256": 64, "md5": 32, "sha1": 40}
_INDUSTRY = frozenset({"A1", "A2", "B1", "B2"})
_REF = re.compile(r"^[A-Za-z0-9._:@/-]{1,200}$")


@dataclass(frozen=True)
class ConfirmedMatch:
    """A confirmed match of a file: the bank and the entry's own classification label."""

    bank: str
    entry_id: int
    label: str = ""


class Confirmations(Protocol):
    """Asks the match chain whether a file is a confirmed match (the app wires it)."""

    def confirmed(self, sha256: str, md5: str) -> ConfirmedMatch | None: ...


@dataclass(frozen=True)
class SightingFacts:
    """What a confirmed sighting tells a report."""

    sighting_id: int
    media_url: str
    page_url: str
    seen_at: datetime
    sha256: str
    confirmed: bool
    md5: str = ""
    sha1: str = ""
    label: str = ""
    revealed: bool = False  # an analyst saw the media (the audit log's review.reveal)


class Sightings(Protocol):
    def sighting(self, sighting_id: int) -> SightingFacts:
        """NotFound when there is no such sighting."""
        ...


@dataclass(frozen=True)
class UploadFacts:
    """What a platform says about one upload it wants reported."""

    sha256: str
    md5: str = ""
    sha1: str = ""
    upload_ref: str = ""  # the platform's own name of the upload; one report per upload
    file_name: str = ""
    uploaded_at: datetime | None = None
    viewed: bool = False
    publicly_available: bool | None = None
    industry_classification: str = ""
    user: ReportedUser = field(default_factory=ReportedUser)
    upload_ip: IpEvent | None = None
    additional_info: str = ""
    escalate: str = ""


def _hex(value: str, name: str, required: bool = False) -> str:
    value = value.strip().lower()
    if not value:
        if required:
            raise InvalidInput(f"{name} is required", field=name)
        return ""
    if len(value) != _HEX[name] or any(c not in "0123456789abcdef" for c in value):
        raise InvalidInput(f"{name} must be {_HEX[name]} hex digits", field=name)
    return value


def _industry(*labels: str) -> str:
    for label in labels:
        value = label.strip().upper()
        if value in _INDUSTRY:
            return value
    return ""


class CyberTipDrafter:
    """Drafts reports (module docstring)."""

    def __init__(
        self,
        store: CyberTipStore,
        profiles: ProfileStore,
        confirmations: Confirmations,
        sightings: Sightings,
        preserved: PreservedFiles,
        clock: Clock,
    ) -> None:
        self.store = store
        self.profiles = profiles
        self.confirmations = confirmations
        self.sightings = sightings
        self.preserved = preserved
        self.clock = clock

    def profile_of(self, organisation: str) -> NcmecProfile:
        """The organisation's NCMEC profile, complete enough to draft; InvalidInput otherwise."""
        profile = self.profiles.get(organisation)
        ncmec = profile.ncmec if profile is not None else None
        if ncmec is None:
            raise InvalidInput(
                f"{organisation} has no NCMEC filing profile "
                f"(keepdown regulator profile ncmec {organisation} ...)"
            )
        missing = ncmec.missing()
        if missing:
            raise InvalidInput(f"{organisation}'s NCMEC profile lacks " + ", ".join(missing))
        return ncmec

    def upload(self, organisation: str, by: str, facts: UploadFacts) -> CyberTipReport:
        """Draft a report of a platform's upload that is a confirmed match."""
        profile = self.profile_of(organisation)
        sha256 = _hex(facts.sha256, "sha256", required=True)
        md5, sha1 = _hex(facts.md5, "md5"), _hex(facts.sha1, "sha1")
        match = self.confirmations.confirmed(sha256, md5)
        if match is None:
            raise Conflict(
                "this file is not a confirmed match (an exact match in a trusted bank): "
                "keepdown drafts reports of confirmed matches only"
            )
        ref = facts.upload_ref.strip() or f"{sha256}:{facts.user.esp_identifier}"
        if not _REF.match(ref):
            raise InvalidInput("upload_ref: 1-200 letters, digits and ._:@/-", field="upload_ref")
        ips = (facts.upload_ip,) if facts.upload_ip else ()
        file = FileFacts(
            sha256=sha256,
            md5=md5,
            sha1=sha1,
            file_name=facts.file_name[:255],
            uploaded_at=facts.uploaded_at,
            viewed=facts.viewed,
            publicly_available=facts.publicly_available,
            industry_classification=_industry(facts.industry_classification, match.label),
            preserved=self.preserved.has(sha256),
            ip_events=ips,
        )
        draft = CyberTipDraft(
            organisation=organisation,
            source=Source.UPLOAD,
            source_ref=ref,
            environment=profile.environment.value,
            incident_at=facts.uploaded_at or self.clock.now(),
            files=(file,),
            drafted_by=by,
            user=facts.user,
            additional_info=facts.additional_info[:3000],
            escalate=facts.escalate[:3000],
            approval=profile.approval,
        )
        return self._store(draft, profile)

    def sighting(
        self, organisation: str, by: str, sighting_id: int, *, industry_classification: str = ""
    ) -> CyberTipReport:
        """Draft a report of a confirmed crawl sighting (when the profile allows it)."""
        profile = self.profile_of(organisation)
        if not profile.sightings:
            raise Forbidden(
                f"{organisation}'s NCMEC profile does not report crawl sightings "
                "(set sightings=true to turn it on)"
            )
        seen = self.sightings.sighting(sighting_id)
        if not seen.confirmed:
            raise Conflict(f"sighting {sighting_id} is not confirmed: it is not reported")
        file = FileFacts(
            sha256=seen.sha256,
            md5=seen.md5,
            sha1=seen.sha1,
            location=seen.media_url,
            viewed=seen.revealed,
            publicly_available=True,
            industry_classification=_industry(industry_classification, seen.label),
            preserved=self.preserved.has(seen.sha256),
        )
        draft = CyberTipDraft(
            organisation=organisation,
            source=Source.SIGHTING,
            source_ref=str(sighting_id),
            environment=profile.environment.value,
            incident_at=seen.seen_at,
            files=(file,),
            drafted_by=by,
            page_urls=tuple(dict.fromkeys(u for u in (seen.page_url, seen.media_url) if u)),
            additional_info=(
                "Known child sexual abuse material (exact hash match) publicly available at "
                "the address(es) above, found by a hotline's crawler."
            ),
            approval=profile.approval,
        )
        return self._store(draft, profile)

    def _store(self, draft: CyberTipDraft, profile: NcmecProfile) -> CyberTipReport:
        existing = self.store.find(draft.organisation, draft.source, draft.source_ref)
        if existing is not None:
            raise Conflict(
                f"{existing.reference} already reports this {draft.source.value}",
                reference=existing.reference,
            )
        document = report_xml(draft, profile)
        require_valid(xml_problems(document), "the CyberTipline report")
        state = ReportState.AWAITING_APPROVAL if draft.approval else ReportState.READY
        now = self.clock.now()

        def drafted(r: CyberTipReport) -> Sequence[Event]:
            return [
                CyberTipDrafted(
                    at=now,
                    report_ref=r.reference,
                    organisation=r.organisation,
                    source=r.source.value,
                    environment=r.environment,
                    files=len(r.files),
                    drafted_by=r.drafted_by,
                    approval=draft.approval,
                )
            ]

        return self.store.add(draft, document, state, now, drafted)

    def get(self, organisation: str | None, reference: str) -> CyberTipReport:
        """A report by its reference (``CT-000012`` or 12), seen from ``organisation`` (None:
        the operator, who sees every organisation's)."""
        raw = reference.strip().upper().removeprefix("CT-")
        # ASCII digits only ('²'.isdigit() is true), and no more than a 64-bit id holds.
        if not (raw.isascii() and raw.isdigit()) or len(raw) > 18:
            raise InvalidInput(f"not a report reference: {reference!r}")
        report = self.store.get(int(raw))
        if organisation is not None and report.organisation != organisation:
            raise NotFound(f"no CyberTipline report {reference}")
        return report
