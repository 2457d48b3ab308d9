"""Evidence's parts: the event chain, its signed checkpoints, signed reproducible reports and a
provider's own evidence, on one storage (issue 23, docs/transparency.md).

:class:`EvidenceServices` is what ``keepdown verify``, ``keepdown report transparency`` and
``report verify``, the API's evidence endpoints and the checkpoint task use:

- :meth:`~EvidenceServices.key`: the signing key (``evidence_signing_key``, made on first
  use in the data dir when the setting is empty);
- :meth:`~EvidenceServices.record_checkpoint`: sign the chain's head (the periodic task);
- :meth:`~EvidenceServices.verify_events`: walk the chain, from the genesis or a checkpoint;
- :meth:`~EvidenceServices.reproducer`: make and verify signed reports;
- :meth:`~EvidenceServices.provider_evidence`: a provider's evidence, signed.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from keepdown.app.runtime import Runtime
from keepdown.clock import Clock
from keepdown.errors import ConfigurationError
from keepdown.events import Event
from keepdown.evidence import (
    SignedCheckpoint,
    SigningKey,
    Verification,
    record_checkpoint,
    verify_chain,
)
from keepdown.notices.providers import Provider
from keepdown.reports.methodology import METHODOLOGY, PERIOD_RULE
from keepdown.reports.period import Period, parse_period
from keepdown.reports.provenance import definitions_digest
from keepdown.reports.provider_evidence import (
    EVIDENCE_KINDS,
    EvidenceScope,
    provider_evidence,
    sign_evidence,
)
from keepdown.reports.reproduce import VIEWS, Reproducer, View
from keepdown.settings import Settings
from keepdown.storage import Storage
from keepdown.storage.checkpoint_store import SqlCheckpointStore
from keepdown.storage.event_chain import SqlEventChain
from keepdown.storage.evidence_store import stored_events
from keepdown.storage.figures_store import REPORT_KINDS, report_events, report_range

__all__ = [
    "EvidenceServices",
    "evidence_services",
    "flagger_statement",
    "flagger_view",
    "keepdown_version",
    "open_evidence",
    "signing_key_path",
]


def keepdown_version() -> str:
    try:
        return version("keepdown")
    except PackageNotFoundError:  # pragma: no cover - a source tree without metadata
        from keepdown import __version__

        return __version__


def signing_key_path(settings: Settings) -> Path:
    """``evidence_signing_key``, or ``<data_dir>/evidence-signing.pem``."""
    configured = settings.evidence_signing_key
    return (
        Path(configured).expanduser() if configured else settings.data_path / "evidence-signing.pem"
    )


@dataclass
class EvidenceServices:
    """Evidence's parts of one :class:`~keepdown.app.runtime.Runtime` (``runtime.evidence``)."""

    settings: Settings
    storage: Storage
    clock: Clock
    chain: SqlEventChain
    checkpoints: SqlCheckpointStore
    runtime: Runtime | None = None
    _key: SigningKey | None = field(default=None, repr=False)

    @property
    def operator(self) -> str:
        return self.settings.notice_operator_name

    def key(self) -> SigningKey:
        """The signing key; made (mode 0600, and its ``.pub``) the first time it is needed."""
        if self._key is None:
            self._key = SigningKey.load(signing_key_path(self.settings), create=True)
        return self._key

    def record_checkpoint(self) -> SignedCheckpoint | None:
        return record_checkpoint(
            self.chain, self.checkpoints, self.key(), now=self.clock.now(), operator=self.operator
        )

    def verify_events(
        self, *, start: SignedCheckpoint | None = None, jobs: int = 1
    ) -> Verification:
        recorded = self.checkpoints.list(limit=1_000_000)
        return verify_chain(
            self.chain, start=start, recorded=recorded, trusted=self.key().public, jobs=jobs
        )

    def reproducer(self) -> Reproducer:
        """Makes and verifies signed reports: the public report, the regulator view and the
        trusted flagger's report (keepdown.filings.flagger)."""
        engine = self.storage.engine
        return Reproducer(
            events=lambda end, upto: report_events(engine, until=end, upto=upto),
            event_range=lambda end, upto: report_range(engine, until=end, upto=upto),
            chain=self.chain,
            checkpoints=self.checkpoints,
            key=self.key,
            version=keepdown_version(),
            views={**VIEWS, "flagger": flagger_view(flagger_statement(self.settings))},
        )

    def provider_named(self, name: str) -> Provider:
        """A provider of the registry by name (NotFound if there is none)."""
        from keepdown.notices.sealing import secret_box
        from keepdown.storage.provider_store import SqlProviderStore

        return SqlProviderStore(self.storage.engine, secret_box(self.settings)).get(name)

    def for_providers(
        self,
        providers: Sequence[Provider],
        *,
        notice_ref: str | None = None,
        period: str | None = None,
    ) -> dict[str, Any]:
        """The signed evidence of these registry entries (one provider, or the providers an
        organisation acts for), of one notice or one period or everything."""
        scope = EvidenceScope(
            provider_ids=frozenset(str(p.id) for p in providers),
            provider_names=frozenset(p.name for p in providers),
            notice_ref=notice_ref,
            period=parse_period(period) if period else None,
        )
        who = [{"id": str(p.id), "name": p.name, "country": p.country} for p in providers]
        return self.provider_evidence(scope, {"providers": who})

    def provider_evidence(self, scope: EvidenceScope, provider: dict[str, Any]) -> dict[str, Any]:
        """The signed evidence of ``scope`` (one provider, one notice or period)."""
        head = self.chain.head()
        stored = stored_events(self.chain, [*EVIDENCE_KINDS, *REPORT_KINDS], head.position)
        latest = self.checkpoints.latest()
        document = provider_evidence(
            stored,
            scope,
            provider=provider,
            generated_at=self.clock.now(),
            operator=self.operator,
            chain={
                "head": {"position": head.position, "hash": head.hash.hex()},
                "genesis": self.chain.info().genesis.hex(),
                "checkpoint": latest.to_dict() if latest is not None else None,
            },
        )
        return sign_evidence(document, self.key())

    def close(self) -> None:
        """Close the runtime these parts belong to."""
        if self.runtime is not None:
            self.runtime.close()


def flagger_statement(settings: Settings) -> str:
    """The trusted flagger's independence statement (``filings_flagger_statement_file``)."""
    path = settings.filings_flagger_statement_file
    if not path:
        return ""
    try:
        return Path(path).expanduser().read_text(encoding="utf-8").strip()[:20_000]
    except OSError as exc:
        raise ConfigurationError(
            f"filings_flagger_statement_file: cannot read {path}: {exc.strerror}"
        ) from exc


def flagger_view(independence: str = "") -> View:
    """The trusted flagger's report (DSA Art. 22(3)) as a published view: json, csv, text.

    Its independence statement is the operator's words, not the log's: a report recomputed
    after the statement changed differs in that one field."""
    from keepdown.filings.flagger import flagger_report, render

    def build(events: Iterable[Event], period: Period, now: datetime, operator: str) -> Any:
        return flagger_report(
            events, period, operator=operator, generated_at=now, independence=independence
        )

    return View(
        "flagger",
        ("json", "csv", "text"),
        build,
        lambda report, provenance, fmt: render(replace(report, provenance=provenance), fmt),
        lambda _report: definitions_digest(METHODOLOGY, PERIOD_RULE),
    )


def evidence_services(runtime: Runtime) -> EvidenceServices:
    """The evidence parts of ``runtime`` (:attr:`Runtime.evidence`)."""
    engine = runtime.storage.engine
    return EvidenceServices(
        runtime.settings,
        runtime.storage,
        runtime.clock,
        SqlEventChain(engine),
        SqlCheckpointStore(engine),
        runtime,
    )


def open_evidence(settings: Settings, *, clock: Clock | None = None) -> EvidenceServices:
    """The evidence parts of a new :class:`Runtime`, for one command (closed with .close())."""
    return Runtime(settings, clock=clock).evidence
