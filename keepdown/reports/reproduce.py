"""Reports anyone can reproduce: made from a pinned range of the log, signed, and checked by
recomputing them (``keepdown report transparency`` and ``keepdown report verify``).

Making one (:meth:`Reproducer.make`):

1. read the chain head; the report is computed from the events at positions up to it (of the
   kinds the ledger reads, before the period end), so making it again later, after more
   events, reads exactly the same events;
2. state that in the report (:class:`~keepdown.reports.provenance.Provenance`: the range, the
   head, the genesis, the latest signed checkpoint, the keepdown version, the definitions,
   the view and format, the signing key);
3. render it and sign the bytes (keepdown.reports.signing; the signature is detached).

Checking one (:meth:`Reproducer.verify`):

1. the signature, under the deployment's public key (or one given): a report changed after
   it was signed fails here;
2. the log: the stated head must still be in it, with the stated hash, and (unless asked not
   to) the chain up to it must hold;
3. the figures: the same report is computed again from the log (same range, period,
   operator, generation time and provenance), rendered in the same view and format, and the
   two are compared figure by figure (keepdown.reports.verify).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from keepdown.errors import InvalidInput, SignatureError
from keepdown.events import Event
from keepdown.evidence.keys import SigningKey
from keepdown.evidence.log import ChainStore, CheckpointStore
from keepdown.evidence.verify import verify_chain
from keepdown.reports.exports import render_csv, render_json, render_locations_csv
from keepdown.reports.html_report import render_html
from keepdown.reports.period import Period, parse_period
from keepdown.reports.provenance import (
    DEFINITIONS_VERSION,
    EventRange,
    Provenance,
    definitions_digest,
)
from keepdown.reports.regulator import render_regulator_csv, render_regulator_json
from keepdown.reports.report import TransparencyReport, build_report
from keepdown.reports.signing import report_signature, verify_report_signature
from keepdown.reports.verify import Difference, compare, read_report

__all__ = ["VIEWS", "ReportCheck", "Reproducer", "SignedReport", "View", "render_view"]


@dataclass(frozen=True)
class View:
    """One way of publishing a period's figures: built from the events, rendered in one of
    its formats with its provenance. The public report and the regulator view are here; the
    app layer adds others (the trusted flagger's report, keepdown.filings)."""

    name: str
    formats: tuple[str, ...]
    #: (events, period, generated_at, operator) -> the report object
    build: Callable[[Iterable[Event], Period, datetime, str], Any]
    #: (report, provenance, format) -> the text
    render: Callable[[Any, Provenance, str], str]
    #: the report -> the SHA-256 of the definitions' words it printed
    definitions: Callable[[Any], str]


def _transparency(events: Iterable[Event], period: Period, now: datetime, operator: str) -> Any:
    return build_report(events, period, generated_at=now, operator=operator)


def _words(report: TransparencyReport) -> str:
    return definitions_digest(report.methodology, report.period_rule)


_PUBLIC: dict[str, Callable[[TransparencyReport], str]] = {
    "html": render_html,
    "json": render_json,
    "csv": render_csv,
    "data-csv": render_locations_csv,
}
_REGULATOR: dict[str, Callable[[TransparencyReport], str]] = {
    "json": render_regulator_json,
    "csv": render_regulator_csv,
}

VIEWS: dict[str, View] = {
    "public": View(
        "public",
        tuple(_PUBLIC),
        _transparency,
        lambda r, p, fmt: _PUBLIC[fmt](replace(r, provenance=p)),
        _words,
    ),
    "regulator": View(
        "regulator",
        tuple(_REGULATOR),
        _transparency,
        lambda r, p, fmt: _REGULATOR[fmt](replace(r, provenance=p)),
        _words,
    ),
}


def _view(views: dict[str, View], view: str, fmt: str) -> View:
    found = views.get(view)
    if found is None or fmt not in found.formats:
        known = "; ".join(f"{v.name}: {', '.join(v.formats)}" for v in views.values())
        raise InvalidInput(
            f"no {view} report in {fmt} (views and formats: {known})", view=view, format=fmt
        )
    return found


def render_view(report: TransparencyReport, view: str, fmt: str) -> str:
    """The report in ``view`` (public, regulator) and ``fmt``, with the provenance it has."""
    if report.provenance is None:
        raise InvalidInput("render_view renders a report with its provenance")
    return _view(VIEWS, view, fmt).render(report, report.provenance, fmt)


@dataclass(frozen=True)
class SignedReport:
    text: str
    signature: str
    provenance: Provenance


@dataclass
class ReportCheck:
    """What :meth:`Reproducer.verify` found; ``ok`` when nothing is wrong."""

    provenance: Provenance
    signature: str = "not checked"  # "valid" or the reason it is not
    chain: str = "not checked"
    compared: int = 0
    differences: list[Difference] = field(default_factory=list)
    identical: bool = False
    notes: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems and not self.differences

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "provenance": self.provenance.to_dict(),
            "signature": self.signature,
            "chain": self.chain,
            "figures_compared": self.compared,
            "differences": [
                {"figure": d.figure, "stated": repr(d.stated), "recomputed": repr(d.recomputed)}
                for d in self.differences
            ],
            "byte_identical": self.identical,
            "problems": list(self.problems),
            "notes": list(self.notes),
        }


@dataclass
class Reproducer:
    """Makes and checks reports over one log (module docstring)."""

    events: Callable[[datetime, int], Iterable[Event]]  # (period end, head) -> events
    event_range: Callable[[datetime, int], EventRange]
    chain: ChainStore
    checkpoints: CheckpointStore
    key: Callable[[], SigningKey]
    version: str
    views: dict[str, View] = field(default_factory=lambda: dict(VIEWS))

    def make(
        self, period: str, *, operator: str, now: datetime, view: str, fmt: str
    ) -> SignedReport:
        chosen = parse_period(period)
        shape = _view(self.views, view, fmt)  # a wrong combination fails before any reading
        head = self.chain.head()
        latest = self.checkpoints.latest()
        key = self.key()
        report = shape.build(self.events(chosen.end, head.position), chosen, now, operator)
        provenance = Provenance(
            period=chosen.label,
            operator=operator,
            generated_at=now.isoformat(),
            view=view,
            format=fmt,
            events=self.event_range(chosen.end, head.position),
            head_position=head.position,
            head_hash=head.hash.hex(),
            genesis=self.chain.info().genesis.hex(),
            keepdown_version=self.version,
            definitions=DEFINITIONS_VERSION,
            definitions_sha256=shape.definitions(report),
            key_sha256=key.fingerprint,
            checkpoint=latest.to_dict() if latest is not None else None,
        )
        text = shape.render(report, provenance, fmt)
        return SignedReport(text, report_signature(text.encode("utf-8"), key), provenance)

    def verify(
        self,
        data: bytes,
        signature: str | None,
        *,
        public_key: bytes | None = None,
        walk: bool = True,
    ) -> ReportCheck:
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InvalidInput("a keepdown report is UTF-8 text") from exc
        found = read_report(text)
        check = ReportCheck(found.provenance)
        if found.provenance.view not in self.views:
            check.problems.append(f"this keepdown has no {found.provenance.view} view to recompute")
            return check
        self._signature(check, data, signature, public_key)
        if self._log(check, walk):
            self._figures(check, found.kind, text)
        return check

    def _signature(
        self, check: ReportCheck, data: bytes, signature: str | None, public_key: bytes | None
    ) -> None:
        key = public_key if public_key is not None else self.key().public
        if signature is None:
            check.signature = "missing"
            check.problems.append("no signature: nothing says the operator published this file")
            return
        try:
            verify_report_signature(data, signature, key)
        except SignatureError as exc:
            check.signature = "invalid"
            check.problems.append(exc.message)
            return
        check.signature = "valid"

    def _log(self, check: ReportCheck, walk: bool) -> bool:
        """False when the log cannot reproduce the report at all (its head is not there)."""
        p = check.provenance
        stored = self.chain.hash_at(p.head_position) if p.head_position else None
        if p.head_position and stored is None:
            check.chain = "head missing"
            check.problems.append(
                f"the log has no event at the report's chain head {p.head_position}: "
                "events were removed since the report was made, or it comes from another log"
            )
            return False
        if p.head_position and stored is not None and stored.hex() != p.head_hash:
            check.chain = "head differs"
            check.problems.append(
                f"the log's hash at position {p.head_position} is not the report's: the log "
                "was rewritten at or before that position since the report was made"
            )
        if walk:
            found = verify_chain(self.chain, recorded=self._recorded(p.head_position))
            if found.broken is not None:
                check.chain = f"broken at {found.broken.position}"
                check.problems.append(f"the event chain breaks: {found.broken.message}")
            elif check.chain == "not checked":
                check.chain = f"holds ({found.walked.checked} events)"
        return True

    def _recorded(self, upto: int) -> list[Any]:
        return [c for c in self.checkpoints.list(limit=1_000_000) if c.checkpoint.position <= upto]

    def _figures(self, check: ReportCheck, kind: str, text: str) -> None:
        p = check.provenance
        if p.keepdown_version != self.version:
            check.notes.append(
                f"made by keepdown {p.keepdown_version}, recomputed by {self.version}: a "
                "difference may come from a changed definition"
            )
        period = parse_period(p.period)
        shape = _view(self.views, p.view, p.format)
        when = datetime.fromisoformat(p.generated_at)
        report = shape.build(self.events(period.end, p.head_position), period, when, p.operator)
        if shape.definitions(report) != p.definitions_sha256:
            check.notes.append("the definitions' words differ from this keepdown's")
        recomputed = shape.render(report, p, p.format)
        result = compare(kind, text, recomputed)
        check.compared, check.differences = result.compared, result.differences
        check.identical = recomputed == text
