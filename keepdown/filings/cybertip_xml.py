"""The XML keepdown sends to NCMEC's CyberTipline reporting service, and its answers.

Two documents go out: the ``<report>`` (POST /submit) and one ``<fileDetails>`` per uploaded
file (POST /fileinfo). NCMEC rejects elements out of order, so each is written in one place,
in the order of ``keepdown/filings/schemas/cybertip.xsd``, and checked against that schema
before it is stored (:mod:`keepdown.filings.validate`). Optional elements with no value are
left out, never sent empty.

Answers are ``<reportResponse>`` (responseCode, responseDescription, reportId, and for an
upload fileId and hash) and, for /finish, ``<reportDoneResponse>``. They are read only after
their size is checked (:data:`MAX_ANSWER_BYTES`), and only the documented children are kept:
a description may echo what was sent, so it is cut short before it reaches a log.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from keepdown.errors import FilingError
from keepdown.filings.cybertip_model import CyberTipDraft, FileFacts, IpEvent, ReportedUser
from keepdown.filings.profiles import NcmecProfile

__all__ = [
    "INCIDENT_TYPE",
    "MAX_ANSWER_BYTES",
    "Answer",
    "file_details_xml",
    "parse_answer",
    "report_xml",
]

#: keepdown reports known child sexual abuse material: NCMEC's incident type for it.
INCIDENT_TYPE = "Child Pornography (possession, manufacture, and distribution)"
#: The largest answer read from the service.
MAX_ANSWER_BYTES = 256 * 1024
_TEXT_LIMIT = 3000


def _iso(at: datetime) -> str:
    """NCMEC's dateTime: UTC with a Z, to the second."""
    return at.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _add(parent: ET.Element, tag: str, text: str | None = None) -> ET.Element:
    child = ET.SubElement(parent, tag)
    if text is not None:
        child.text = text
    return child


def _maybe(parent: ET.Element, tag: str, text: str | None) -> None:
    if text:
        _add(parent, tag, text)


def _flag(parent: ET.Element, tag: str, value: bool | None) -> None:
    if value is not None:
        _add(parent, tag, "true" if value else "false")


def _clip(text: str) -> str:
    return text if len(text) <= _TEXT_LIMIT else text[: _TEXT_LIMIT - 1] + "…"


def _ip_events(parent: ET.Element, events: Iterable[IpEvent]) -> None:
    for e in events:
        node = _add(parent, "ipCaptureEvent")
        _add(node, "ipAddress", e.ip)
        _maybe(node, "eventName", e.event)
        if e.at is not None:
            _add(node, "dateTime", _iso(e.at))
        _flag(node, "possibleProxy", e.possible_proxy)
        if e.port is not None:
            _add(node, "port", str(e.port))


def _reporter(root: ET.Element, profile: NcmecProfile) -> None:
    reporter = _add(root, "reporter")
    person = _add(reporter, "reportingPerson")
    _maybe(person, "firstName", profile.reporter_first_name)
    _maybe(person, "lastName", profile.reporter_last_name)
    _add(person, "email", profile.reporter_email)
    _maybe(reporter, "companyTemplate", profile.company_template)
    _maybe(reporter, "termsOfService", profile.terms_of_service)
    _maybe(reporter, "legalURL", profile.legal_url)


def _reported_user(root: ET.Element, user: ReportedUser, profile: NcmecProfile) -> None:
    if user.empty:
        return
    node = _add(root, "personOrUserReported")
    if user.emails:
        person = _add(node, "personOrUserReportedPerson")
        for address in user.emails:
            _add(person, "email", address)
    _maybe(node, "espIdentifier", user.esp_identifier)
    _maybe(node, "espService", profile.esp_service or profile.company_template)
    _maybe(node, "screenName", user.screen_name)
    _maybe(node, "displayName", user.display_name)
    _maybe(node, "profileUrl", user.profile_url)
    _ip_events(node, user.ip_events)
    _flag(node, "accountPermanentlyDisabled", user.account_disabled)


def _hash_lines(files: Iterable[FileFacts]) -> str:
    lines = []
    for f in files:
        parts = [f"SHA-256 {f.sha256}"]
        if f.md5:
            parts.append(f"MD5 {f.md5}")
        lines.append("; ".join(parts))
    return "\n".join(lines)


def report_xml(draft: CyberTipDraft, profile: NcmecProfile) -> bytes:
    """The ``<report>`` document for ``draft`` (module docstring)."""
    root = ET.Element("report")
    summary = _add(root, "incidentSummary")
    _add(summary, "incidentType", INCIDENT_TYPE)
    _maybe(summary, "escalateToHighPriority", _clip(draft.escalate) if draft.escalate else "")
    _add(summary, "incidentDateTime", _iso(draft.incident_at))
    for url in draft.page_urls:
        web = _add(_add(root, "internetDetails"), "webPageIncident")
        _add(web, "url", url)
    _reporter(root, profile)
    _reported_user(root, draft.user, profile)
    info = draft.additional_info
    unsent = [f for f in draft.files if not f.preserved]
    if unsent:
        # Files with no preserved copy cannot be uploaded, so NCMEC cannot receive their
        # details through /fileinfo: their original hashes are stated here instead.
        hashes = "Files matched by hash whose copies were not preserved:\n" + _hash_lines(unsent)
        info = f"{info}\n\n{hashes}" if info else hashes
    _maybe(root, "additionalInfo", _clip(info) if info else "")
    return _serialise(root)


def file_details_xml(report_id: str, file_id: str, facts: FileFacts) -> bytes:
    """The ``<fileDetails>`` document for one uploaded file."""
    root = ET.Element("fileDetails")
    _add(root, "reportId", report_id)
    _add(root, "fileId", file_id)
    _maybe(root, "originalFileName", facts.file_name)
    if facts.uploaded_at is not None:
        _add(root, "uploadedToEspTimestamp", _iso(facts.uploaded_at))
    _maybe(root, "locationOfFile", facts.location)
    _flag(root, "fileViewedByEsp", facts.viewed)
    _flag(root, "publiclyAvailable", facts.publicly_available)
    _add(root, "fileRelevance", "Reported")
    _maybe(root, "industryClassification", facts.industry_classification)
    for hash_type, value in (("MD5", facts.md5), ("SHA1", facts.sha1), ("SHA256", facts.sha256)):
        if value:
            _add(root, "originalFileHash", value).set("hashType", hash_type)
    _ip_events(root, facts.ip_events)
    return _serialise(root)


def _serialise(root: ET.Element) -> bytes:
    data: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return data


@dataclass(frozen=True)
class Answer:
    """What NCMEC answered: its response code (0 is success) and the ids it gave."""

    code: int
    description: str = ""
    report_id: str = ""
    file_id: str = ""
    file_hash: str = ""
    files: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return self.code == 0


def parse_answer(body: bytes) -> Answer:
    """The answer in ``body``; FilingError when it is not one of NCMEC's answers."""
    if len(body) > MAX_ANSWER_BYTES:
        raise FilingError("NCMEC's answer is larger than expected; not read", permanent=False)
    try:
        root = ET.fromstring(body)
    except ET.ParseError as exc:
        raise FilingError("NCMEC's answer is not XML", permanent=False) from exc
    if root.tag not in ("reportResponse", "reportDoneResponse"):
        raise FilingError(f"unexpected answer <{root.tag[:40]}> from NCMEC", permanent=False)
    raw_code = (root.findtext("responseCode") or "").strip()
    if not (raw_code.isascii() and raw_code.lstrip("-").isdigit()):
        raise FilingError("NCMEC's answer has no response code", permanent=False)
    return Answer(
        code=int(raw_code),
        description=(root.findtext("responseDescription") or "").strip()[:200],
        report_id=(root.findtext("reportId") or "").strip(),
        file_id=(root.findtext("fileId") or "").strip(),
        file_hash=(root.findtext("hash") or "").strip(),
        files=tuple((f.text or "").strip() for f in root.iterfind("files/fileId")),
    )
