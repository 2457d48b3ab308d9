"""The CyberTipline documents: written in NCMEC's element order, valid against keepdown's XSD,
nothing empty sent, and answers read defensively."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime

import pytest

from keepdown.errors import FilingError
from keepdown.filings.cybertip_model import (
    CyberTipDraft,
    FileFacts,
    IpEvent,
    ReportedUser,
    Source,
)
from keepdown.filings.cybertip_xml import (
    INCIDENT_TYPE,
    MAX_ANSWER_BYTES,
    file_details_xml,
    parse_answer,
    report_xml,
)
from keepdown.filings.profiles import NcmecProfile
from keepdown.filings.validate import xml_problems

T = datetime(2026, 4, 1, 12, 30, 15, 123456, tzinfo=UTC)
PROFILE = NcmecProfile(
    reporter_email="reports@platform.test",
    reporter_first_name="Trust",
    reporter_last_name="Safety",
    company_template="Platform",
    legal_url="https://platform.test/legal",
    terms_of_service="No illegal content.",
    esp_service="Platform photos",
)
FILE = FileFacts(
    sha256="a" * 64,
    md5="b" * 32,
    sha1="c" * 40,
    file_name="upload.jpg",
    uploaded_at=T,
    viewed=False,
    publicly_available=False,
    industry_classification="B2",
    preserved=True,
    ip_events=(IpEvent("192.0.2.7", at=T, port=443, possible_proxy=False),),
)


def draft(**changes) -> CyberTipDraft:
    values = {
        "organisation": "platform",
        "source": Source.UPLOAD,
        "source_ref": "u-1",
        "environment": "test",
        "incident_at": T,
        "files": (FILE,),
        "drafted_by": "analyst",
        "user": ReportedUser(
            esp_identifier="user-42",
            screen_name="someone",
            display_name="Some One",
            emails=("someone@mail.test",),
            profile_url="https://platform.test/u/42",
            ip_events=(IpEvent("2001:db8::5", event="Login", at=T),),
            account_disabled=True,
        ),
        "page_urls": ("https://platform.test/p/9",),
        "additional_info": "Blocked at upload.",
        "escalate": "",
    }
    values.update(changes)
    return CyberTipDraft(**values)


def children(document: bytes, path: str = ".") -> list[str]:
    node = ET.fromstring(document).find(path)
    assert node is not None
    return [c.tag for c in node]


def test_a_full_report_is_valid_and_in_ncmecs_order():
    document = report_xml(draft(), PROFILE)
    assert xml_problems(document) == []
    assert children(document) == [
        "incidentSummary",
        "internetDetails",
        "reporter",
        "personOrUserReported",
        "additionalInfo",
    ]
    assert children(document, "incidentSummary") == ["incidentType", "incidentDateTime"]
    assert children(document, "reporter") == [
        "reportingPerson",
        "companyTemplate",
        "termsOfService",
        "legalURL",
    ]
    assert children(document, "personOrUserReported") == [
        "personOrUserReportedPerson",
        "espIdentifier",
        "espService",
        "screenName",
        "displayName",
        "profileUrl",
        "ipCaptureEvent",
        "accountPermanentlyDisabled",
    ]
    root = ET.fromstring(document)
    assert root.findtext("incidentSummary/incidentType") == INCIDENT_TYPE
    assert root.findtext("incidentSummary/incidentDateTime") == "2026-04-01T12:30:15Z"
    assert root.findtext("reporter/reportingPerson/email") == "reports@platform.test"


def test_a_minimal_report_leaves_out_what_it_does_not_know():
    document = report_xml(
        draft(user=ReportedUser(), page_urls=(), additional_info=""),
        NcmecProfile(reporter_email="r@platform.test"),
    )
    assert xml_problems(document) == []
    assert children(document) == ["incidentSummary", "reporter"]
    for node in ET.fromstring(document).iter():  # nothing sent empty
        assert len(node) or (node.text or "").strip(), node.tag


def test_files_without_a_preserved_copy_are_named_by_their_hashes_in_the_text():
    unpreserved = FileFacts(sha256="d" * 64, md5="e" * 32)
    document = report_xml(draft(files=(FILE, unpreserved), additional_info=""), PROFILE)
    info = ET.fromstring(document).findtext("additionalInfo") or ""
    assert "d" * 64 in info
    assert "e" * 32 in info
    assert "a" * 64 not in info  # the preserved file is uploaded, not listed


def test_an_escalation_is_stated_before_the_incident_time():
    document = report_xml(draft(escalate="A child may be in danger now."), PROFILE)
    assert children(document, "incidentSummary") == [
        "incidentType",
        "escalateToHighPriority",
        "incidentDateTime",
    ]
    assert xml_problems(document) == []


def test_file_details_are_valid_and_in_order():
    document = file_details_xml("1234567", "f-1", FILE)
    assert xml_problems(document) == []
    assert children(document) == [
        "reportId",
        "fileId",
        "originalFileName",
        "uploadedToEspTimestamp",
        "fileViewedByEsp",
        "publiclyAvailable",
        "fileRelevance",
        "industryClassification",
        "originalFileHash",
        "originalFileHash",
        "originalFileHash",
        "ipCaptureEvent",
    ]
    root = ET.fromstring(document)
    hashes = {h.get("hashType"): h.text for h in root.iterfind("originalFileHash")}
    assert hashes == {"MD5": "b" * 32, "SHA1": "c" * 40, "SHA256": "a" * 64}
    assert root.findtext("fileViewedByEsp") == "false"
    event = root.find("ipCaptureEvent")
    assert event is not None
    assert [c.tag for c in event] == [
        "ipAddress",
        "eventName",
        "dateTime",
        "possibleProxy",
        "port",
    ]


def test_the_schema_refuses_elements_out_of_order():
    document = report_xml(draft(), PROFILE)
    root = ET.fromstring(document)
    reporter = root.find("reporter")
    assert reporter is not None
    root.remove(reporter)
    root.insert(0, reporter)  # reporter before incidentSummary
    problems = xml_problems(ET.tostring(root))
    assert problems
    assert any("incidentSummary" in p for p in problems)


@pytest.mark.parametrize(
    ("broken", "words"),
    [
        (b"<report><incidentSummary/></report>", "incidentType"),
        (b"<fileDetails><reportId>x</reportId><fileId>f</fileId></fileDetails>", "reportId"),
        (b"<report>", "well-formed"),
        (b"<unknown/>", "unknown"),
    ],
)
def test_the_schema_names_what_is_wrong(broken, words):
    problems = xml_problems(broken)
    assert problems
    assert any(words in p for p in problems), problems


def test_a_bad_industry_class_or_url_is_refused():
    bad = FileFacts(sha256="a" * 64, industry_classification="C9", location="https://a b")
    problems = xml_problems(file_details_xml("1", "f", bad))
    assert len(problems) == 2


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            b"<reportResponse><responseCode>0</responseCode><responseDescription>Success"
            b"</responseDescription><reportId>77</reportId></reportResponse>",
            (0, "77", "", ()),
        ),
        (
            b"<reportResponse><responseCode>0</responseCode><reportId>77</reportId>"
            b"<fileId>abc</fileId><hash>ff</hash></reportResponse>",
            (0, "77", "abc", ()),
        ),
        (
            b"<reportDoneResponse><responseCode>0</responseCode><reportId>77</reportId>"
            b"<files><fileId>a</fileId><fileId>b</fileId></files></reportDoneResponse>",
            (0, "77", "", ("a", "b")),
        ),
        (
            b"<reportResponse><responseCode>4100</responseCode></reportResponse>",
            (4100, "", "", ()),
        ),
    ],
)
def test_answers_are_read(body, expected):
    answer = parse_answer(body)
    assert (answer.code, answer.report_id, answer.file_id, answer.files) == expected


@pytest.mark.parametrize(
    "body",
    [
        b"not xml",
        b"<html><body>gateway</body></html>",
        b"<reportResponse><responseDescription>x</responseDescription></reportResponse>",
        b"<reportResponse>" + b" " * (MAX_ANSWER_BYTES + 1) + b"</reportResponse>",
    ],
)
def test_what_is_not_an_answer_is_an_error(body):
    with pytest.raises(FilingError):
        parse_answer(body)


def test_a_long_description_is_cut_before_it_reaches_a_log():
    body = b"<reportResponse><responseCode>1000</responseCode><responseDescription>"
    body += b"x" * 5000 + b"</responseDescription></reportResponse>"
    assert len(parse_answer(body).description) == 200
