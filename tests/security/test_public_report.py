"""Issue 16, item 5 (the report's part): public output names only what the operator made public.

The public transparency page showed private bank names, each bank's free-text source
verbatim (a planted URL and hash came out unchanged) and every platform key with its
organisation and counts. :func:`keepdown.reports.publication.public_report` is what every
public output goes through; here each format of it is searched for the planted texts.
"""

from __future__ import annotations

import base64
import re

from keepdown.clock import utc
from keepdown.events import SightingRecorded, UploadChecked
from keepdown.reports import FORMATS, build_report, parse_period, render
from keepdown.reports.publication import OTHER_BANKS, OTHER_PLATFORMS, Publication, public_report
from tests.reports.scenario import history

SOURCE = "partner list http://planted-source.example.test/x " + "ab" * 32
PRIVATE_BANK = "partner-private-bank"
KEY = "0123456789abcdef"


def events() -> list:
    return [
        *history(),
        SightingRecorded(
            at=utc(2026, 8, 12),
            sighting_id="s-private",
            media_url="http://planted.example.test/m.jpg",
            page_url="http://planted.example.test/p.html",
            bank=PRIVATE_BANK,
            entry_id=77,
            match_type="exact",
            state="confirmed",
            bank_source=SOURCE,
        ),
        UploadChecked(at=utc(2026, 8, 13), key_id=KEY, organisation="acme-shop", outcome="block"),
    ]


def every_output(report) -> str:
    texts = [render(report, fmt) for fmt in FORMATS]
    for blob in re.findall(r"base64,([A-Za-z0-9+/=]+)", render(report, "html")):
        texts.append(base64.b64decode(blob).decode("utf-8", "replace"))
    return "\n".join(texts)


def test_public_output_names_nothing_the_operator_did_not_make_public() -> None:
    full = build_report(events(), parse_period("2026-Q3"), generated_at=utc(2026, 10, 5))
    assert SOURCE in every_output(full)  # the staff's report has it all
    public = public_report(full, Publication())
    text = every_output(public)
    for private in (SOURCE, "planted-source", PRIVATE_BANK, KEY, "acme-shop"):
        assert private not in text, private
    assert {b.bank for b in public.banks} == {OTHER_BANKS}
    assert {p.organisation for p in public.platforms} == {OTHER_PLATFORMS}
    assert OTHER_BANKS in text
    assert OTHER_PLATFORMS in text
    # nothing is lost from the figures, only who they belong to
    assert sum(b.matches for b in public.banks) == sum(b.matches for b in full.banks)
    assert sum(p.checked for p in public.platforms) == sum(p.checked for p in full.platforms)
    assert public.totals == full.totals


def test_what_the_operator_made_public_is_named_and_free_text_still_is_not() -> None:
    full = build_report(events(), parse_period("2026-Q3"), generated_at=utc(2026, 10, 5))
    chosen = Publication(
        public_banks=frozenset({PRIVATE_BANK}), named_platforms=frozenset({"acme-shop"})
    )
    text = every_output(public_report(full, chosen))
    assert PRIVATE_BANK in text
    assert "acme-shop" in text
    assert SOURCE not in text
    assert "planted-source" not in text
    assert KEY not in text
