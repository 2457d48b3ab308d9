"""``keepdown notices``: list and show notices, run due work, resend, settle deliveries, figures.

``send-due`` is one pass of the notice worker (recover interrupted deliveries, draft notices
from confirmed sightings, plan due re-notices and escalations, deliver); ``recheck-due`` runs
every due re-check. ``keepdown serve`` runs both every ``notice_worker_seconds``; a scheduler
(cron, systemd timer) can run them instead. Deliveries left ``uncertain`` by a crash
mid-send, and ``manual`` ones (web-form providers), wait for ``confirm-delivery``; ``failed``
ones (given up for good) are not planned again to the same contact: edit the provider's
contact, or ``retry-delivery``. ``resend`` sends a notice's open locations again now; ``reopen``
reopens a withdrawn location (a dispute upheld) the crawler saw again. Actions that send,
settle or reopen something are in the audit log (actor ``cli``).
"""

from __future__ import annotations

import asyncio
import json

import click

from keepdown.app import NoticeServices, open_notice_services
from keepdown.reports import (
    RemovalFigures,
    duration_text,
    parse_period,
    running_figures,
    to_date,
)
from keepdown.reports.ledger import LEDGER_KINDS
from keepdown.settings import Settings

__all__ = ["command"]


def _when(value: object) -> str:
    return value.isoformat(timespec="minutes") if value is not None else "-"  # type: ignore[attr-defined]


@click.group("notices")
def command() -> None:
    """Notices to providers: list, show, send due, re-check due."""


def _open(settings: Settings) -> NoticeServices:
    return open_notice_services(settings)


@command.command("list")
@click.option("--state", help="Only notices in this state.")
@click.option("--provider", help="Only notices to this provider.")
@click.option("--limit", type=click.IntRange(1, 10_000), default=100, show_default=True)
@click.pass_obj
def list_(settings: Settings, state: str | None, provider: str | None, limit: int) -> None:
    """Reference, provider, state, locations (open/all), first sent, "delivery failed (N)"
    when N of its deliveries were given up for good, and "withdrawn, seen again (N)" when the
    crawler saw N of its withdrawn locations again (``keepdown notices reopen`` decides)."""
    services = _open(settings)
    try:
        ids = [services.providers.get(provider).id] if provider else None
        failed: dict[int, int] = {}
        for d in services.notices.deliveries(states=["failed"]):
            failed[d.notice_id] = failed.get(d.notice_id, 0) + 1
        for n in services.notices.list_notices(
            provider_ids=ids, states=[state] if state else None, limit=limit
        ):
            still = sum(1 for loc in n.locations if loc.status.open)
            again = sum(1 for loc in n.locations if loc.seen_again)
            click.echo(
                f"{n.reference}\t{n.provider}\t{n.state.value}\t"
                f"{still}/{len(n.locations)}\t{_when(n.first_sent_at)}"
                + (f"\tdelivery failed ({failed[n.id]})" if n.id in failed else "")
                + (f"\twithdrawn, seen again ({again})" if again else "")
            )
    finally:
        services.close()


@command.command("show")
@click.argument("reference")
@click.pass_obj
def show(settings: Settings, reference: str) -> None:
    """One notice: its locations with their states and times, and its deliveries."""
    services = _open(settings)
    try:
        n = services.notices.get(reference)
        click.echo(f"{n.reference}  {n.provider}  {n.state.value}  language {n.language}")
        click.echo(f"first sent {_when(n.first_sent_at)}  acknowledged {_when(n.acknowledged_at)}")
        for loc in n.locations:
            s = loc.status
            click.echo(
                f"  location {loc.id}  {s.state.value}  {loc.media_url}"
                + (f" [{loc.archive_member}]" if loc.archive_member else "")
                + (f"  SEEN AGAIN {_when(loc.last_seen_at)}" if loc.seen_again else "")
                + "\n"
                f"    detected {_when(s.detected_at)}  notified {_when(s.first_notice_at)}"
                f"  notices {s.notices_sent}  removed {_when(s.removed_at)}"
                f"  next check {_when(s.next_check_at)}"
            )
        for d in services.notices.deliveries(notice_id=n.id):
            click.echo(
                f"  delivery {d.id}  {d.kind.value}{' (resend)' if d.resend else ''}"
                f"  {d.channel}  {d.state.value}"
                f"  attempts {d.attempts}  sent {_when(d.sent_at)}"
                + (f"  ({d.last_error})" if d.last_error else "")
            )
    finally:
        services.close()


@command.command("send-due")
@click.pass_obj
def send_due(settings: Settings) -> None:
    """Draft, plan and deliver every due notice, re-notice and escalation."""
    services = _open(settings)
    try:
        report = asyncio.run(services.service.send_due())
    finally:
        services.close()
    click.echo(
        f"drafted {len(report.drafted)}  planned {len(report.planned)}  sent {len(report.sent)}"
        f"  retrying {len(report.retrying)}  failed {len(report.failed)}"
        f"  uncertain {len(report.uncertain)}  recovered {len(report.recovered)}"
    )
    for ref in report.drafted:
        click.echo(f"new notice {ref}")


@command.command("recheck-due")
@click.pass_obj
def recheck_due(settings: Settings) -> None:
    """Re-check every location that is due; record removals and reappearances."""
    services = _open(settings)
    try:
        report = asyncio.run(services.tracker.recheck_due())
    finally:
        services.close()
    click.echo(
        f"checked {report.checked}  present {report.present}  gone {report.gone}"
        f"  errors {report.errors}  removals confirmed {len(report.removals)}"
        f"  reappearances {len(report.reappeared)}"
    )


@command.command("confirm-delivery")
@click.argument("delivery_id", type=int)
@click.option(
    "--delivered/--not-delivered",
    required=True,
    help="It reached the provider (record it sent) / it did not (send it again).",
)
@click.pass_obj
def confirm_delivery(settings: Settings, delivery_id: int, delivered: bool) -> None:
    """Settle an uncertain (interrupted) or manual (web form) delivery."""
    services = _open(settings)
    try:
        d = services.service.confirm_delivery(delivery_id, delivered=delivered)
    finally:
        services.close()
    click.echo(f"delivery {d.id} of {d.reference}: {d.state.value}")


@command.command("resend")
@click.argument("reference")
@click.option(
    "--request-id",
    help="Names this request (8-64 letters, digits, - or _): asking again with the same id "
    "sends nothing more. Default: a new request.",
)
@click.pass_obj
def resend(settings: Settings, reference: str, request_id: str | None) -> None:
    """Send a notice's open locations again now (a re-notice, through the outbox)."""
    services = _open(settings)
    try:
        with services.runtime.auth.audited("notice.resend", target=reference) as found:
            done = asyncio.run(
                services.service.resend(reference, requested_by="cli", request_id=request_id)
            )
            d = done.delivery
            found.update(delivery_id=d.id, state=d.state.value, asked_before=done.asked_before)
    finally:
        services.close()
    again = "  (this request was made before: nothing more sent)" if done.asked_before else ""
    click.echo(f"{d.reference}: delivery {d.id}  {d.channel}  {d.state.value}{again}")


@command.command("retry-delivery")
@click.argument("delivery_id", type=int)
@click.pass_obj
def retry_delivery(settings: Settings, delivery_id: int) -> None:
    """Send a failed delivery again as it was (after fixing the mail server, not the contact)."""
    services = _open(settings)
    try:
        with services.runtime.auth.audited("notice.retry_delivery", target=str(delivery_id)):
            d = services.service.retry_delivery(delivery_id)
    finally:
        services.close()
    click.echo(f"delivery {d.id} of {d.reference}: {d.state.value} (the next send pass sends it)")


@command.command("review")
@click.argument("reference")
@click.argument("location_id", type=int)
@click.option("--upheld/--rejected", required=True, help="The dispute is right / is not.")
@click.pass_obj
def review(settings: Settings, reference: str, location_id: int, upheld: bool) -> None:
    """Decide a disputed location."""
    services = _open(settings)
    try:
        n = services.service.review(reference, location_id, "upheld" if upheld else "rejected")
    finally:
        services.close()
    click.echo(f"{n.reference}: {n.location(location_id).status.state.value}")


@command.command("reopen")
@click.argument("reference")
@click.argument("location_id", type=int)
@click.option("--reason", default="", help="Why (kept with the LocationReopened event).")
@click.pass_obj
def reopen(settings: Settings, reference: str, location_id: int, reason: str) -> None:
    """Reopen a withdrawn location (its dispute was upheld): open again, checked at once,
    re-noticed on schedule; the dispute stays in its history."""
    services = _open(settings)
    try:
        with services.runtime.auth.audited(
            "notice.reopen", target=reference, location_id=location_id
        ):
            n = services.service.reopen(reference, location_id, reason=reason, by="cli")
    finally:
        services.close()
    click.echo(f"{n.reference}: location {location_id} {n.location(location_id).status.state}")


@command.command("figures")
@click.option("--json", "as_json", is_flag=True, help="JSON (hours at full precision).")
@click.option(
    "--period",
    help="Only this period (as keepdown report transparency takes it: 2026-Q3, 2026-09, "
    "2026-W27, 2026-07-01, A..B dates). Default: everything to now.",
)
@click.pass_obj
def figures(settings: Settings, as_json: bool, period: str | None) -> None:
    """Time to removal per provider, from the events: the transparency report's rules and
    numbers (see docs/notices.md). Durations under an hour are shown in minutes."""
    services = _open(settings)
    try:
        chosen = parse_period(period) if period else to_date(services.clock.now())
        found = running_figures(
            services.storage.events.read(kinds=LEDGER_KINDS, until=chosen.end), chosen
        )
    finally:
        services.close()
    if as_json:
        click.echo(json.dumps(found.to_dict(), indent=2, ensure_ascii=False))
        return
    click.echo(f"period {chosen.label}")
    click.echo("\t".join(_COLUMNS))
    for f in [*found.providers, found.totals]:
        click.echo("\t".join(_row(f)))


_COLUMNS = (
    "provider",
    "country",
    "notified",
    "removed",
    "still present",
    "withdrawn",
    "median",
    "p90",
    "late by at most",
    "<=24h",
    "<=7d",
    "<=42d",
    "reappearances",
    "deliveries failed",
)


def _share(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"


def _row(f: RemovalFigures) -> list[str]:
    """One line of the table (the totals line is "all providers")."""
    return [
        f.name,
        f.country or "-",
        str(f.locations),
        str(f.removed),
        str(f.still_present),
        str(f.withdrawn),
        duration_text(f.median_hours, missing="-"),
        duration_text(f.p90_hours, missing="-"),
        duration_text(f.precision_max_hours, missing="-"),
        *(_share(f.share_within[k]) for k in ("24h", "7d", "42d")),
        str(f.reappearances),
        str(f.delivery_failures),
    ]
