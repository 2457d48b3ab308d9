"""Accountability's parts: transparency reports from the event log, financial indicators from
the crawl, and alerts to financial institutions through the notice senders.

- :func:`finance_observer` is the crawl's page observer (``open_crawl_services`` plugs it in):
  payment indicators of every fetched page, stored with the provider the registry names;
- :class:`AccountabilityServices` is what ``keepdown report transparency``,
  ``keepdown finance`` and the API use: :meth:`~AccountabilityServices.transparency` (a report
  of a period from the stored events), :meth:`~AccountabilityServices.published` (the same,
  pinned to the chain head, with its provenance, signed: what is published),
  :meth:`~AccountabilityServices.export` (STIX 2.1 or
  CSV), subscriptions (webhook secrets sealed like providers' ones) and the
  :class:`~keepdown.finance.alerts.Alerter`;
- :func:`alert_sender` adapts the notice senders (SMTP, HMAC-signed webhooks; keepdown.finance
  may not import keepdown.notices) to deliver alerts.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

from keepdown.app.runtime import Runtime
from keepdown.clock import Clock
from keepdown.crawl.transport import Resolver
from keepdown.errors import DeliveryError, InvalidInput
from keepdown.finance.alerts import Alert, Alerter, Deliver, Subscription, validate_subscription
from keepdown.finance.extract import Extractor
from keepdown.finance.model import Indicator
from keepdown.finance.observer import FinanceObserver
from keepdown.finance.payments import load_patterns
from keepdown.finance.stix_export import render_indicators_csv, stix_bundle
from keepdown.notices.attribution import registry_match
from keepdown.notices.model import Delivery, DeliveryKind, DeliveryState
from keepdown.notices.providers import Provider
from keepdown.notices.sealing import SecretBox, secret_box
from keepdown.notices.senders import Sender
from keepdown.reports import Period, TransparencyReport, transparency_report
from keepdown.reports.period import parse_period
from keepdown.reports.reproduce import SignedReport
from keepdown.settings import Settings
from keepdown.storage import Storage
from keepdown.storage.figures_store import report_events
from keepdown.storage.indicator_store import SqlAlertStore, SqlIndicatorStore
from keepdown.storage.provider_store import SqlProviderStore

__all__ = [
    "AccountabilityServices",
    "accountability_services",
    "alert_sender",
    "extractor_from",
    "finance_observer",
    "open_accountability",
]


def extractor_from(settings: Settings) -> Extractor:
    return Extractor(
        patterns=load_patterns(settings.finance_payment_patterns_file or None),
        email_window=settings.finance_email_window_chars,
        max_chars=settings.finance_max_page_chars,
    )


def finance_observer(settings: Settings, storage: Storage) -> FinanceObserver:
    """The crawl's page observer: payment indicators of each page, with its provider (the
    registry only: an observer runs on the crawl's event loop, so no RDAP round trip)."""
    registry = SqlProviderStore(storage.engine, secret_box(settings))

    def provider_of(host: str, ip: str | None) -> str | None:
        found = registry_match(registry.list_providers(), host, ip)
        return found.name if found is not None else None

    return FinanceObserver(
        SqlIndicatorStore(storage.engine), extractor_from(settings), provider_of=provider_of
    )


def _delivery(alert: Alert, sub: Subscription) -> tuple[Delivery, Provider]:
    email = sub.channel == "email"
    delivery = Delivery(
        id=alert.id,
        notice_id=0,
        reference=f"KDF-{alert.id:06d}",
        kind=DeliveryKind.NOTICE,
        channel=sub.channel,
        recipients=(sub.target,) if email else (),
        location_ids=(),
        message_key=alert.message_key,
        subject=alert.subject,
        body=alert.body,
        state=DeliveryState.SENDING,
        attempts=alert.attempts,
        created_at=alert.created_at,
    )
    provider = Provider(
        name=sub.name,
        abuse_contacts=(sub.target,) if email else (),
        channel=sub.channel,  # type: ignore[arg-type]
        webhook_url=None if email else sub.target,
        webhook_secret_sealed=None if email else sub.secret,
    )
    return delivery, provider


def alert_sender(senders: Mapping[str, Sender]) -> Deliver:
    """Delivers alerts through the notice senders of their channel."""

    async def deliver(alert: Alert, sub: Subscription) -> None:
        sender = senders.get(sub.channel)
        if sender is None:
            raise DeliveryError(f"no sender for channel {sub.channel!r}", permanent=True)
        delivery, provider = _delivery(alert, sub)
        await sender.send(delivery, provider)

    return deliver


@dataclass
class AccountabilityServices:
    settings: Settings
    storage: Storage
    clock: Clock
    indicators: SqlIndicatorStore
    alerts: SqlAlertStore
    alerter: Alerter
    box: SecretBox
    runtime: Runtime

    @property
    def operator(self) -> str:
        return self.settings.notice_operator_name

    def published(self, period: str, *, view: str = "public", fmt: str = "html") -> SignedReport:
        """The report of ``period`` as published: from the events up to the chain head, with
        its provenance, rendered in ``view`` and ``fmt``, and signed (docs/transparency.md)."""
        return self.runtime.evidence.reproducer().make(
            period, operator=self.operator, now=self.clock.now(), view=view, fmt=fmt
        )

    def transparency(self, period: str | Period) -> TransparencyReport:
        """The report of ``period`` from the stored events (only those before its end)."""
        chosen = parse_period(period) if isinstance(period, str) else period
        events = report_events(self.storage.engine, until=chosen.end)
        return transparency_report(events, chosen, now=self.clock.now(), operator=self.operator)

    def confirmed_indicators(self, *, include_unconfirmed: bool = False) -> list[Indicator]:
        return self.indicators.indicators(confirmed_only=not include_unconfirmed)

    def export(self, fmt: str, *, tlp: str | None = None) -> str:
        """Indicators seen where known material was confirmed, as ``stix`` or ``csv``."""
        level = tlp or self.settings.finance_tlp
        found = self.confirmed_indicators()
        if fmt == "stix":
            return stix_bundle(found, operator=self.operator, tlp=level, now=self.clock.now())
        if fmt == "csv":
            return render_indicators_csv(found, tlp=level)

        raise InvalidInput(f"unknown export format {fmt!r}; use stix or csv", format=fmt)

    def subscribe(self, sub: Subscription) -> Subscription:
        """Store a subscription (checked; a webhook secret sealed before it is stored)."""
        checked = validate_subscription(sub)
        if checked.secret:
            checked = replace(checked, secret=self.box.seal(checked.secret))
        return self.alerts.add_subscription(checked, self.clock.now())

    def close(self) -> None:
        """Close the runtime these parts belong to."""
        self.runtime.close()


def accountability_services(runtime: Runtime) -> AccountabilityServices:
    """The accountability parts of ``runtime`` (:attr:`Runtime.accountability`)."""
    settings, storage = runtime.settings, runtime.storage
    indicators = SqlIndicatorStore(storage.engine)
    alerts = SqlAlertStore(storage.engine)
    domain = settings.notice_from_address.rsplit("@", 1)[-1] or "localhost"
    alerter = Alerter(
        indicators,
        alerts,
        alert_sender(runtime.senders),
        runtime.clock,
        operator=settings.notice_operator_name,
        tlp=settings.finance_tlp,
        domain=domain,
        lease_seconds=settings.notice_delivery_lease_seconds,
        max_attempts=settings.finance_alert_max_attempts,
    )
    return AccountabilityServices(
        settings, storage, runtime.clock, indicators, alerts, alerter, secret_box(settings), runtime
    )


def open_accountability(
    settings: Settings,
    *,
    clock: Clock | None = None,
    senders: Mapping[str, Sender] | None = None,
    resolver: Resolver | None = None,
) -> AccountabilityServices:
    """The accountability parts of a new :class:`Runtime` (closed with ``.close()``)."""
    chosen = dict(senders) if senders is not None else None
    return Runtime(settings, clock=clock, resolver=resolver, senders=chosen).accountability
