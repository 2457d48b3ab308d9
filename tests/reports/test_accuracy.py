"""Accuracy per source: matches, confirmed, rejected and false-positive rate per bank (feed)
and signal type, in the transparency report and the regulator view."""

from __future__ import annotations

import json

from keepdown.clock import utc
from keepdown.events import EntryQuarantined, ReviewDecided, SightingRecorded
from keepdown.reports.period import Period
from keepdown.reports.regulator import regulator_view, render_regulator_csv
from keepdown.reports.report import build_report


def sighting(n: int, bank: str, signal: str, state: str) -> SightingRecorded:
    return SightingRecorded(
        at=utc(2027, 3, 2, 10, n),
        sighting_id=str(n),
        media_url=f"http://h.example/{n}.jpg",
        page_url="http://h.example/",
        bank=bank,
        entry_id=n,
        match_type="exact" if signal == "md5" else "near",
        state=state,
        bank_source="StopNCII" if bank == "sncii" else "hotline",
        signal_type=signal,
    )


def decision(n: int, verdict: str) -> ReviewDecided:
    # Older producers did not name the signal type: the sighting's is used.
    return ReviewDecided(at=utc(2027, 3, 2, 11, n), sighting_id=str(n), decision=verdict)


def test_figures_per_source_and_signal_type() -> None:
    events = [
        sighting(1, "sncii", "pdq", "pending_review"),
        sighting(2, "sncii", "pdq", "pending_review"),
        sighting(3, "sncii", "pdq", "pending_review"),
        sighting(4, "sncii", "md5", "confirmed"),
        sighting(5, "hotline", "pdq", "pending_review"),
        decision(1, "not_a_match"),
        decision(2, "not_a_match"),
        decision(3, "confirm"),
        decision(5, "confirm"),
        EntryQuarantined(
            at=utc(2027, 3, 2, 12),
            bank="sncii",
            entry_id=1,
            signal_type="pdq",
            matches=50,
            baseline=0.0,
            threshold=50,
            window_seconds=3600,
        ),
    ]
    period = Period("2027-03", utc(2027, 3, 1), utc(2027, 4, 1))
    report = build_report(events, period, generated_at=utc(2027, 4, 2))
    rows = {(s.bank, s.signal_type): s for s in report.sources}
    pdq = rows[("sncii", "pdq")]
    assert (pdq.matches, pdq.sent_to_review, pdq.confirmed, pdq.rejected) == (3, 3, 1, 2)
    assert round(pdq.false_positive_rate or 0, 4) == 0.6667
    assert pdq.quarantined == 1
    assert pdq.source == "StopNCII"
    md5 = rows[("sncii", "md5")]
    assert (md5.matches, md5.auto_confirmed, md5.false_positive_rate) == (1, 1, None)
    assert rows[("hotline", "pdq")].false_positive_rate == 0.0
    view = {row["field"]: row for row in regulator_view(report)}
    by_source = view["art15_1_e.automated_means.indicators_of_accuracy_by_source"]["value"]
    assert by_source == {"hotline/pdq": 0.0, "sncii/md5": None, "sncii/pdq": 0.6667}
    assert view["icu_c9.false_positive_rate_by_hash_list"]["value"] == by_source
    line = next(x for x in render_regulator_csv(report).splitlines() if "by_hash_list" in x)
    assert '""sncii/pdq"": 0.6667' in line
    assert report.to_dict()["accuracy_by_source"][0]["bank"] == "hotline"
    json.dumps(report.to_dict())
