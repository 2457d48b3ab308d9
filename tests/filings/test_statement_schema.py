"""The statement-of-reasons schema keepdown keeps, checked against the Transparency Database's
own rules one by one: a valid statement, then one change at a time, each either still valid
or refused on the field the database's rule names."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from keepdown.filings.validate import statement_problems, statement_schema

VALID: dict[str, Any] = {
    "decision_visibility": ["DECISION_VISIBILITY_CONTENT_REMOVED"],
    "decision_ground": "DECISION_GROUND_ILLEGAL_CONTENT",
    "illegal_content_legal_ground": "Directive 2011/93/EU",
    "illegal_content_explanation": "Known material, matched by hash.",
    "content_type": ["CONTENT_TYPE_IMAGE"],
    "category": "STATEMENT_CATEGORY_PROTECTION_OF_MINORS",
    "category_specification": ["KEYWORD_CHILD_SEXUAL_ABUSE_MATERIAL"],
    "territorial_scope": ["DE", "FR"],
    "content_date": "2026-03-01",
    "application_date": "2026-03-01",
    "decision_facts": "The upload was refused.",
    "source_type": "SOURCE_VOLUNTARY",
    "automated_detection": "Yes",
    "automated_decision": "AUTOMATED_DECISION_FULLY",
    "puid": "kd-upload-0123abcd",
}

_DROP = object()


def changed(**changes: Any) -> dict[str, Any]:
    statement = copy.deepcopy(VALID)
    for name, value in changes.items():
        if value is _DROP:
            statement.pop(name, None)
        else:
            statement[name] = value
    return statement


STILL_VALID = {
    "another decision instead of visibility": changed(
        decision_visibility=_DROP, decision_account="DECISION_ACCOUNT_SUSPENDED"
    ),
    "visibility null with a monetary decision": changed(
        decision_visibility=None, decision_monetary="DECISION_MONETARY_SUSPENSION"
    ),
    "visibility other, explained": changed(
        decision_visibility=["DECISION_VISIBILITY_OTHER"], decision_visibility_other="held"
    ),
    "content type other, explained": changed(
        content_type=["CONTENT_TYPE_OTHER"], content_type_other="a sticker"
    ),
    "incompatible content, with its ground and explanation": changed(
        decision_ground="DECISION_GROUND_INCOMPATIBLE_CONTENT",
        illegal_content_legal_ground=_DROP,
        illegal_content_explanation=_DROP,
        incompatible_content_ground="terms 4.2",
        incompatible_content_explanation="not allowed",
        incompatible_content_illegal="Yes",
    ),
    "territorial scope null": changed(territorial_scope=None),
    "last day accepted": changed(content_date="2038-01-01", application_date="2038-01-01"),
    "first days accepted": changed(content_date="2000-01-01", application_date="2020-01-01"),
    "500-character puid with - and _": changed(puid="a-_" * 166 + "ab"),
    "5000 characters of facts": changed(decision_facts="x" * 5000),
    "a reference URL": changed(decision_ground_reference_url="https://platform.test/terms"),
    "a content language": changed(content_language="EN"),
    "an EAN-13 content id": changed(content_id={"EAN-13": "0123456789123"}),
    "an end date": changed(end_date_visibility_restriction="2030-12-31"),
    "voluntary with no source identity": changed(source_identity=None),
}

REFUSED = {
    "no decision at all": (changed(decision_visibility=_DROP), "at least one decision"),
    "an empty visibility list": (changed(decision_visibility=[]), "at least one decision"),
    "an unknown visibility": (changed(decision_visibility=["REMOVED"]), "decision_visibility"),
    "visibility other unexplained": (
        changed(decision_visibility=["DECISION_VISIBILITY_OTHER"]),
        "decision_visibility_other",
    ),
    "monetary other unexplained": (
        changed(decision_monetary="DECISION_MONETARY_OTHER"),
        "decision_monetary_other",
    ),
    "no decision ground": (changed(decision_ground=_DROP), "decision_ground"),
    "illegal content without its legal ground": (
        changed(illegal_content_legal_ground=_DROP),
        "illegal_content_legal_ground",
    ),
    "illegal content with an empty explanation": (
        changed(illegal_content_explanation=""),
        "illegal_content_explanation",
    ),
    "a legal ground over 500 characters": (
        changed(illegal_content_legal_ground="x" * 501),
        "illegal_content_legal_ground",
    ),
    "an explanation over 2000 characters": (
        changed(illegal_content_explanation="x" * 2001),
        "illegal_content_explanation",
    ),
    "incompatible content without its ground": (
        changed(decision_ground="DECISION_GROUND_INCOMPATIBLE_CONTENT"),
        "incompatible_content_ground",
    ),
    "no content type": (changed(content_type=[]), "content_type"),
    "content type other unexplained": (
        changed(content_type=["CONTENT_TYPE_OTHER"]),
        "content_type_other",
    ),
    "an unknown category": (changed(category="STATEMENT_CATEGORY_CSAM"), "category"),
    "an unknown keyword": (
        changed(category_specification=["KEYWORD_CSAM"]),
        "category_specification",
    ),
    "a country outside the EEA": (changed(territorial_scope=["US"]), "territorial_scope"),
    "a lower-case country": (changed(territorial_scope=["de"]), "territorial_scope"),
    "a content date before 2000": (changed(content_date="1999-12-31"), "content_date"),
    "an application date before 2020": (
        changed(application_date="2019-12-31"),
        "application_date",
    ),
    "a date after 2038-01-01": (changed(application_date="2038-01-02"), "application_date"),
    "a date that does not exist": (changed(content_date="2026-02-30"), "content_date"),
    "a date with a time": (changed(content_date="2026-03-01T10:00:00Z"), "content_date"),
    "no facts": (changed(decision_facts=""), "decision_facts"),
    "facts over 5000 characters": (changed(decision_facts="x" * 5001), "decision_facts"),
    "an unknown source type": (changed(source_type="SOURCE_USER"), "source_type"),
    "automated detection as a boolean": (changed(automated_detection=True), "automated_detection"),
    "an unknown automated decision": (
        changed(automated_decision="AUTOMATED_DECISION_MAYBE"),
        "automated_decision",
    ),
    "no puid": (changed(puid=_DROP), "puid"),
    "a puid with a space": (changed(puid="kd upload"), "puid"),
    "a puid with a dot": (changed(puid="kd.upload"), "puid"),
    "a puid over 500 characters": (changed(puid="a" * 501), "puid"),
    "a reference that is not a URL": (
        changed(decision_ground_reference_url="terms page"),
        "decision_ground_reference_url",
    ),
    "an unknown language": (changed(content_language="XX"), "content_language"),
    "a bad EAN-13": (changed(content_id={"EAN-13": "12345"}), "content_id"),
    "an end date after 2038-01-01": (
        changed(end_date_account_restriction="2040-01-01"),
        "end_date_account_restriction",
    ),
    "a field the database does not know": (changed(puids="x"), "puids"),
}


def test_the_base_statement_is_valid():
    assert statement_problems(VALID) == []


@pytest.mark.parametrize("name", sorted(STILL_VALID))
def test_what_the_database_accepts_passes(name):
    assert statement_problems(STILL_VALID[name]) == []


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_what_the_database_refuses_is_refused_on_its_field(name):
    statement, field = REFUSED[name]
    problems = statement_problems(statement)
    assert problems, f"{name}: accepted"
    assert any(field in p[:160] for p in problems), problems
    assert all(len(p) <= 400 for p in problems)


def test_the_schema_names_its_sources():
    schema = statement_schema()
    assert "StatementStoreRequest" in schema["description"]
    assert schema["properties"]["puid"]["maxLength"] == 500
