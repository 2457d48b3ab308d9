"""The regulator view: the fields regulators ask about known-CSAM hash matching, filled from a
:class:`~keepdown.reports.report.TransparencyReport` where keepdown's events allow it.

Three regimes (field names and the texts they come from: ``docs/regulators.md``):

- **EU DSA** (Regulation (EU) 2022/2065): Article 15(1)(b) notices and median time to action,
  15(1)(c) own-initiative moderation and automated tools, 15(1)(d) complaints, 15(1)(e)
  automated means and their accuracy; and the statement-of-reasons database fields
  ``automated_detection``, ``automated_decision``, ``source_type``, ``category_specification``;
- **UK Online Safety Act 2023**: Ofcom's Illegal Content Codes (user-to-user) measure ICU C9,
  hash matching for CSAM (human review share, false-positive rate, hash lists), and the
  transparency-report matters of Schedule 8;
- **Australia**: eSafety's transparency notices on child sexual exploitation and abuse under
  the Basic Online Safety Expectations (Online Safety Act 2021 ss 49 and 56): tools used to
  detect known material, items detected, human review, time to act.

A field keepdown cannot fill from its events is listed with ``status`` ``not_available`` and
the reason, never left out or guessed.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from keepdown.reports.exports import provenance_rows
from keepdown.reports.report import TransparencyReport
from keepdown.reports.stats import share
from keepdown.spreadsheet import dict_writer

__all__ = [
    "REGULATOR_FIELDS",
    "FieldSpec",
    "regulator_view",
    "render_regulator_csv",
    "render_regulator_json",
]

Value = Callable[[TransparencyReport], Any]


@dataclass(frozen=True)
class FieldSpec:
    regime: str
    field: str
    label: str
    unit: str
    value: Value | None
    note: str = ""


def _uploads(r: TransparencyReport, attr: str) -> int:
    return sum(getattr(p, attr) for p in r.platforms)


def _by_source(r: TransparencyReport) -> dict[str, float | None]:
    """Each source's false-positive rate, keyed ``bank/signal type`` (None: none reviewed)."""
    return {
        f"{s.bank}/{s.signal_type}": None
        if s.false_positive_rate is None
        else round(s.false_positive_rate, 4)
        for s in r.sources
    }


def _banks(r: TransparencyReport, attr: str) -> int:
    return sum(getattr(b, attr) for b in r.banks)


def _error_rate(r: TransparencyReport) -> float | None:
    fp = _banks(r, "false_positives")
    return share(fp, fp + _banks(r, "review_confirmed"))


def _human_reviewed(r: TransparencyReport) -> int:
    """Matches a person decided (confirmed or not a match). Items only *sent* to review are
    not reviewed until someone decides: counting them made the UK share say 0.2 while the EU
    and AU counts of human decisions said 0."""
    return _banks(r, "review_confirmed") + _banks(r, "false_positives")


def _review_share(r: TransparencyReport) -> float | None:
    return share(_human_reviewed(r), _banks(r, "matches"))


def _automated_decisions(r: TransparencyReport) -> int:
    return _banks(r, "auto_confirmed") + _uploads(r, "automated")


def _methods(r: TransparencyReport) -> str:
    return ";".join(f"{k}={v}" for k, v in r.signal_types.items())


def _disputes_reversed(r: TransparencyReport) -> int:
    return r.totals.disputes_upheld


NA_PROVIDER = "filled by the hosting provider, not visible in keepdown's events"

DSA = "EU DSA"
OSA = "UK OSA"
AUS = "AU eSafety"

REGULATOR_FIELDS: tuple[FieldSpec, ...] = (
    FieldSpec(
        DSA,
        "art15_1_b.notices_submitted",
        "Notices submitted (Art. 16) about CSAM",
        "count",
        lambda r: r.totals.notices,
        "notices keepdown's operator sent to hosting providers",
    ),
    FieldSpec(
        DSA,
        "art15_1_b.type_of_alleged_illegal_content",
        "Type of alleged illegal content",
        "text",
        lambda r: "child sexual abuse material",
        "every keepdown notice is about known CSAM",
    ),
    FieldSpec(
        DSA,
        "art15_1_b.notices_by_trusted_flaggers",
        "Notices submitted by trusted flaggers",
        "count",
        None,
        "depends on the operator's trusted-flagger status (Art. 22), which events do not record",
    ),
    FieldSpec(
        DSA,
        "art15_1_b.action_taken",
        "Action taken pursuant to the notices (removal confirmed)",
        "count",
        lambda r: r.totals.removed,
    ),
    FieldSpec(
        DSA,
        "art15_1_b.notices_processed_by_automated_means",
        "Notices processed by automated means",
        "count",
        None,
        NA_PROVIDER,
    ),
    FieldSpec(
        DSA,
        "art15_1_b.median_time_to_action",
        "Median time needed for taking the action",
        "hours",
        lambda r: r.totals.median_hours,
        "first notice to the first re-check that found the location gone (an upper "
        "bound: re-checks run on the provider's cadence)",
    ),
    FieldSpec(
        DSA,
        "art15_1_c.own_initiative_items_detected",
        "Own-initiative moderation: items of known CSAM detected",
        "count",
        lambda r: _banks(r, "matches") + _uploads(r, "blocked") + _uploads(r, "sent_to_review"),
        "matched sightings plus platform uploads blocked or sent to review",
    ),
    FieldSpec(
        DSA,
        "art15_1_c.detection_method",
        "Automated tools used (hash matches per signal type)",
        "text",
        _methods,
        "e.g. sha256=3;pdq=5",
    ),
    FieldSpec(
        DSA,
        "art15_1_d.complaints_decisions_reversed",
        "Complaints: decisions reversed (disputes upheld)",
        "count",
        _disputes_reversed,
        "provider disputes upheld by an analyst; the provider's own Art. 20 complaints "
        "are not visible",
    ),
    FieldSpec(
        DSA,
        "art15_1_e.automated_means.indicators_of_accuracy",
        "Automated means: indicators of accuracy (error rate of reviewed matches)",
        "share",
        _error_rate,
        "false positives / (false positives + confirmed by review)",
    ),
    FieldSpec(
        DSA,
        "art15_1_e.automated_means.indicators_of_accuracy_by_source",
        "Automated means: error rate of each hash list (bank or feed), per signal type",
        "shares",
        lambda r: _by_source(r),
        "bank (feed) / signal type: not-a-match decisions over reviewed matches",
    ),
    FieldSpec(
        DSA,
        "sor.automated_detection=Yes",
        "Statements of reasons: automated detection",
        "count",
        lambda r: _banks(r, "matches") + _uploads(r, "checked"),
    ),
    FieldSpec(
        DSA,
        "sor.automated_decision=AUTOMATED_DECISION_FULLY",
        "Statements of reasons: fully automated decisions",
        "count",
        _automated_decisions,
        "exact matches on trusted banks confirmed without review, and automated upload verdicts",
    ),
    FieldSpec(
        DSA,
        "sor.automated_decision=AUTOMATED_DECISION_NOT_AUTOMATED",
        "Statements of reasons: decisions taken by a human",
        "count",
        _human_reviewed,
    ),
    FieldSpec(
        DSA,
        "sor.source_type=SOURCE_VOLUNTARY",
        "Statements of reasons: own-initiative source",
        "count",
        lambda r: _uploads(r, "checked"),
    ),
    FieldSpec(
        DSA,
        "sor.category_specification",
        "Statements of reasons: category specification",
        "text",
        lambda r: "KEYWORD_CHILD_SEXUAL_ABUSE_MATERIAL",
    ),
    FieldSpec(
        OSA,
        "icu_c9.content_detected_by_hash_matching",
        "ICU C9: content detected as CSAM by hash matching",
        "count",
        lambda r: _banks(r, "matches"),
    ),
    FieldSpec(
        OSA,
        "icu_c9.proportion_reviewed_by_human_moderators",
        "ICU C9: proportion of detected content reviewed by human moderators",
        "share",
        _review_share,
    ),
    FieldSpec(
        OSA,
        "icu_c9.false_positive_rate",
        "ICU C9: false-positive rate of the reviewed matches",
        "share",
        _error_rate,
    ),
    FieldSpec(
        OSA,
        "icu_c9.false_positive_rate_by_hash_list",
        "ICU C9: false-positive rate of each hash list, per signal type",
        "shares",
        lambda r: _by_source(r),
        "bank (feed) / signal type: not-a-match decisions over reviewed matches",
    ),
    FieldSpec(
        OSA,
        "icu_c9.hash_lists_used",
        "ICU C9: hash databases used",
        "count",
        lambda r: len({b.bank for b in r.banks}),
        "banks with a match in the period",
    ),
    FieldSpec(
        OSA,
        "icu_c9.recall",
        "ICU C9: recall (share of CSAM present that was detected)",
        "share",
        None,
        "unknowable from matches alone: material no bank holds is never seen",
    ),
    FieldSpec(
        OSA,
        "icu_c10.csam_urls_detected",
        "ICU C10: CSAM URLs detected by URL matching",
        "count",
        None,
        "keepdown matches media hashes, not URL lists",
    ),
    FieldSpec(
        OSA,
        "sch8.time_to_take_down",
        "Schedule 8: swiftness of take-down (median time to removal)",
        "hours",
        lambda r: r.totals.median_hours,
    ),
    FieldSpec(
        OSA,
        "sch8.proactive_technology_items",
        "Schedule 8: items found by proactive technology",
        "count",
        lambda r: _banks(r, "matches") + _uploads(r, "blocked"),
    ),
    FieldSpec(
        AUS,
        "bose.known_csem_detection_tools",
        "Tools used to detect known CSEM (hash matching)",
        "text",
        _methods,
    ),
    FieldSpec(
        AUS,
        "bose.known_csem_items_detected",
        "Items of known CSEM detected by hash matching",
        "count",
        lambda r: _banks(r, "matches") + _uploads(r, "blocked"),
    ),
    FieldSpec(
        AUS,
        "bose.human_review_of_detections",
        "Detections reviewed by a human",
        "count",
        _human_reviewed,
    ),
    FieldSpec(
        AUS,
        "bose.median_time_to_action",
        "Median time from notice to removal",
        "hours",
        lambda r: r.totals.median_hours,
    ),
    FieldSpec(
        AUS,
        "bose.median_time_detection_to_notice",
        "Median time from detection to notice",
        "hours",
        lambda r: r.totals.median_detection_hours,
    ),
    FieldSpec(
        AUS,
        "bose.reports_to_ncmec_or_law_enforcement",
        "Reports made to NCMEC or law enforcement",
        "count",
        lambda r: r.referrals.get("ncmec", 0) + r.referrals.get("law_enforcement", 0),
        "referrals in the period (ReferralMade): CyberTipline reports NCMEC's production "
        "service finished, and referrals to law enforcement an analyst recorded; reports to "
        "NCMEC's test service are not counted",
    ),
    FieldSpec(
        AUS,
        "bose.median_time_to_respond_to_user_reports",
        "Median time from a reported URL to the notice to its host",
        "hours",
        lambda r: r.totals.median_report_hours,
        "reports to keepdown (public, trusted flaggers, hotlines; not own-initiative) whose "
        "crawl found known material: first report to the first notice naming it; a "
        "platform's own user reports are the platform's",
    ),
    FieldSpec(
        AUS,
        "bose.user_reports_actioned",
        "Reported URLs that led to a notice",
        "count",
        lambda r: r.totals.reports_noticed,
    ),
)


def regulator_view(report: TransparencyReport) -> list[dict[str, Any]]:
    """One row per :data:`REGULATOR_FIELDS` entry with its value for ``report``."""
    rows = []
    for spec in REGULATOR_FIELDS:
        value = spec.value(report) if spec.value is not None else None
        if isinstance(value, float):
            value = round(value, 4)
        rows.append(
            {
                "regime": spec.regime,
                "field": spec.field,
                "label": spec.label,
                "value": value,
                "unit": spec.unit,
                "status": "filled" if spec.value is not None else "not_available",
                "note": spec.note,
            }
        )
    return rows


def render_regulator_json(report: TransparencyReport) -> str:
    doc = {
        "view": "keepdown regulator view",
        "operator": report.operator,
        "period": report.period.to_dict(),
        "generated_at": report.generated_at.isoformat(),
        "fields": regulator_view(report),
        **({"provenance": report.provenance.to_dict()} if report.provenance else {}),
    }
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


def render_regulator_csv(report: TransparencyReport) -> str:
    out = io.StringIO()
    columns = ("regime", "field", "label", "value", "unit", "status", "note")
    writer = dict_writer(out, columns)
    writer.writeheader()
    for row in regulator_view(report):
        value = row["value"]
        if isinstance(value, dict):
            value = json.dumps(value, sort_keys=True)
        writer.writerow({**row, "value": "" if value is None else value})
    for name, value in provenance_rows(report):
        writer.writerow({"regime": "provenance", "field": name, "value": value})
    return out.getvalue()
