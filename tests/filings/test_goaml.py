"""goAML reports of payment and wallet indicators: an activity report with one party per
indicator that has confirmed sightings, the evidence in numbers, never a page's URL; valid
against the FIU's goAML schema when one is at hand.

The schema check needs a goAML XSD: an FIU's own (``KEEPDOWN_GOAML_XSD``), or one in the
reference test data (``$KEEPDOWN_TESTDATA/goaml/goAMLSchema.xsd``). keepdown ships none: each
FIU publishes its own, with its own lookup values, and under its own terms. It was run here
against the UAE FIU's public goAML 5.0.2 schema (docs/finance.md says where it was read); the
configuration below uses that FIU's codes (``CSAM1`` is one of its report indicators).
"""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

from keepdown.errors import InvalidInput
from keepdown.filings.goaml import GoamlConfig, goaml_report
from keepdown.filings.validate import load_xsd, xml_problems
from keepdown.finance.model import Indicator
from tests.conftest import testdata_root as reference_data

from .conftest import T0

CONFIG = GoamlConfig(
    rentity_id=4711,
    rentity_branch="Hotline",
    reporting_first_name="Analyst",
    reporting_last_name="On Duty",
    reporting_email="fiu-desk@hotline.test",
    address="1 Example Street",
    city="Exampleton",
    country_code="NL",
    entity_reference="KD-2026-05",
    state="Exampleshire",
    report_code="STR",
    indicator_codes=("CSAM1",),
)
PAGE = "https://planted.example.test/secret/page.html"


def indicator(n: int, kind: str, value: str, detail: str = "", confirmed: int = 2) -> Indicator:
    return Indicator(
        id=n,
        type=kind,
        value=value,
        detail=detail,
        pages=(PAGE, PAGE + "?2"),
        providers=("Hosting A", "Cloud C"),
        first_seen=T0 - timedelta(days=3),
        last_seen=T0,
        confirmed_sightings=confirmed,
        confirmed_pages=1,
    )


INDICATORS = [
    indicator(1, "btc", "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq"),
    indicator(2, "eth", "0x52908400098527886E0F7030069857D2E4169EE7"),
    indicator(3, "payment_link", "https://pay.example.test/m/someone", "examplepay:someone"),
    indicator(4, "email", "payer@mail.test"),
    indicator(5, "xmr", "4" + "A" * 94, confirmed=0),  # no confirmed sighting: left out
]


def goaml_xsd() -> Path:
    named = os.environ.get("KEEPDOWN_GOAML_XSD", "")
    path = Path(named) if named else reference_data() / "goaml" / "goAMLSchema.xsd"
    if not path.is_file():
        pytest.skip(f"no goAML schema at {path} (set KEEPDOWN_GOAML_XSD to an FIU's XSD)")
    return path


def test_one_party_per_confirmed_indicator_in_the_schemas_order():
    root = ET.fromstring(goaml_report(INDICATORS, CONFIG, now=T0))
    assert [c.tag for c in root] == [
        "rentity_id",
        "rentity_branch",
        "submission_code",
        "report_code",
        "entity_reference",
        "submission_date",
        "currency_code_local",
        "reporting_person",
        "location",
        "reason",
        "activity",
        "report_indicators",
    ]
    parties = root.findall("activity/report_parties/report_party")
    assert len(parties) == 4
    btc = parties[0].find("account")
    assert btc is not None
    assert [c.tag for c in btc] == [
        "institution_name",
        "institution_code",
        "non_bank_institution",
        "account",
        "account_name",
    ]
    assert btc.findtext("institution_code") == "BTC"
    assert btc.findtext("account_name") == "Unknown holder of a Bitcoin wallet"
    assert parties[2].findtext("entity/url") == "https://pay.example.test/m/someone"
    assert parties[2].findtext("entity/name") == "examplepay someone"  # goAML's name characters
    assert root.findtext("location/state") == "Exampleshire"
    assert parties[3].findtext("entity/email") == "payer@mail.test"
    assert "2 confirmed sighting(s)" in (parties[0].findtext("reason") or "")
    assert root.findtext("submission_date") == "2026-05-04T09:00:00"


def test_no_page_url_is_ever_written():
    document = goaml_report(INDICATORS, CONFIG, now=T0).decode()
    assert "planted.example.test" not in document


def test_without_the_operators_reference_one_is_derived_from_the_day_and_indicators():
    bare = replace(CONFIG, entity_reference="")
    first = ET.fromstring(goaml_report(INDICATORS, bare, now=T0)).findtext("entity_reference")
    again = ET.fromstring(goaml_report(INDICATORS, bare, now=T0)).findtext("entity_reference")
    other = ET.fromstring(goaml_report(INDICATORS[:2], bare, now=T0)).findtext("entity_reference")
    assert first == again
    assert first is not None
    assert first.startswith("keepdown-20260504-")
    assert other != first


def test_net_anchors_in_an_fius_patterns_are_read_as_its_portal_reads_them(tmp_path):
    schema = tmp_path / "goAMLSchema.xsd"
    schema.write_text(
        '<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" '
        'xmlns:goaml="http://www.unodc.org/goaml"><xs:element name="name"><xs:simpleType>'
        '<xs:restriction base="xs:string"><xs:pattern value="^[a-zA-Z .\'-]*$" />'
        "</xs:restriction></xs:simpleType></xs:element></xs:schema>"
    )
    checker = load_xsd(str(schema))
    assert xml_problems(b"<name>Analyst On Duty</name>", checker) == []
    assert xml_problems(b"<name>someone@example</name>", checker)


def test_what_the_fiu_must_give_is_asked_for():
    with pytest.raises(InvalidInput, match="city"):
        goaml_report(INDICATORS, replace(CONFIG, city=""), now=T0)
    with pytest.raises(InvalidInput, match="rentity_id"):
        goaml_report(INDICATORS, replace(CONFIG, rentity_id=0), now=T0)
    with pytest.raises(InvalidInput, match="nothing to report"):
        goaml_report(INDICATORS[-1:], CONFIG, now=T0)


def test_the_report_is_valid_against_the_goaml_schema():
    schema = load_xsd(str(goaml_xsd()))
    assert xml_problems(goaml_report(INDICATORS, CONFIG, now=T0), schema) == []
    # and the schema is really checking: a report without its indicators is refused
    broken = ET.fromstring(goaml_report(INDICATORS, CONFIG, now=T0))
    codes = broken.find("report_indicators")
    assert codes is not None
    broken.remove(codes)
    assert xml_problems(ET.tostring(broken), schema)
