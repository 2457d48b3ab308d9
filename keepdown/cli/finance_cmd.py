"""``keepdown finance``: payment indicators seen where known material was confirmed.

::

    keepdown finance list [--all] [--format text|csv|json]
    keepdown finance export --format stix --tlp amber -o bundle.json
    keepdown finance subscribe BANK-A --email fiu@bank-a.test --threshold 2
    keepdown finance subscribe BANK-B --webhook https://bank-b.test/hook --secret-env BANK_B_KEY
    keepdown finance subscriptions
    keepdown finance unsubscribe BANK-A
    keepdown finance alert          # plan and send due alerts (run it from a scheduler)
    keepdown finance alerts         # what was sent, to whom, when

``list`` shows indicators with at least one confirmed sighting behind them (``--all``: every
indicator the crawl recorded). A webhook's secret is read from the environment variable
named by ``--secret-env``, never from the command line.
"""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path

import click

from keepdown.app.accountability import open_accountability
from keepdown.errors import InvalidInput
from keepdown.finance.alerts import Subscription
from keepdown.finance.extract import INDICATOR_TYPES
from keepdown.finance.stix_export import TLP, render_indicators_csv
from keepdown.settings import Settings

__all__ = ["command"]


@click.group("finance")
def command() -> None:
    """Financial indicators: list, export (STIX 2.1, CSV), alert subscribed institutions."""


@command.command("list")
@click.option("--all", "show_all", is_flag=True, help="Also indicators with no confirmation.")
@click.option("--format", "fmt", type=click.Choice(["text", "csv", "json"]), default="text")
@click.pass_obj
def list_(settings: Settings, show_all: bool, fmt: str) -> None:
    """Indicators with their confirmed sightings, pages, providers, first and last seen."""
    services = open_accountability(settings)
    try:
        found = services.confirmed_indicators(include_unconfirmed=show_all)
    finally:
        services.close()
    if fmt == "json":
        click.echo(json.dumps([i.to_public() for i in found], indent=2))
    elif fmt == "csv":
        click.echo(render_indicators_csv(found, tlp=settings.finance_tlp), nl=False)
    else:
        for i in found:
            providers = ",".join(i.providers) or "-"
            click.echo(
                f"{i.type}\t{i.value}\tconfirmed {i.confirmed_sightings}\tpages {len(i.pages)}"
                f"\t{providers}\t{i.first_seen.isoformat()}\t{i.last_seen.isoformat()}"
            )


@command.command("export")
@click.option("--format", "fmt", type=click.Choice(["stix", "csv"]), default="stix")
@click.option("--tlp", type=click.Choice(sorted(TLP)), help="TLP 2.0 level (default: setting).")
@click.option("--output", "-o", type=click.Path(dir_okay=False), help="Write here, not stdout.")
@click.pass_obj
def export(settings: Settings, fmt: str, tlp: str | None, output: str | None) -> None:
    """Export confirmed indicators as a STIX 2.1 bundle or CSV, marked with a TLP level."""
    services = open_accountability(settings)
    try:
        text = services.export(fmt, tlp=tlp)
    finally:
        services.close()
    if output:
        Path(output).write_text(text, encoding="utf-8")
    else:
        click.echo(text, nl=False)


@command.command("subscribe")
@click.argument("name")
@click.option("--email", help="Send alerts to this address.")
@click.option("--webhook", help="POST signed alerts to this URL.")
@click.option("--secret-env", help="Environment variable holding the webhook's HMAC secret.")
@click.option("--threshold", type=int, help="Confirmed sightings before an alert.")
@click.option("--type", "types", multiple=True, type=click.Choice(sorted(INDICATOR_TYPES)))
@click.pass_obj
def subscribe(
    settings: Settings,
    name: str,
    email: str | None,
    webhook: str | None,
    secret_env: str | None,
    threshold: int | None,
    types: tuple[str, ...],
) -> None:
    """Subscribe a financial institution to alerts (e-mail or webhook)."""
    if bool(email) == bool(webhook):
        raise InvalidInput("give exactly one of --email or --webhook")
    secret = None
    if webhook:
        if not secret_env or not os.environ.get(secret_env):
            raise InvalidInput("a webhook needs --secret-env naming a set environment variable")
        secret = os.environ[secret_env]
    sub = Subscription(
        name=name,
        channel="email" if email else "webhook",
        target=email or webhook or "",
        threshold=threshold if threshold is not None else settings.finance_alert_threshold,
        types=types,
        secret=secret,
    )
    services = open_accountability(settings)
    try:
        stored = services.subscribe(sub)
    finally:
        services.close()
    click.echo(f"{stored.name}\t{stored.channel}\t{stored.target}\tthreshold {stored.threshold}")


@command.command("subscriptions")
@click.pass_obj
def subscriptions(settings: Settings) -> None:
    """List subscriptions (secrets are never shown)."""
    services = open_accountability(settings)
    try:
        for sub in services.alerts.subscriptions(active_only=False):
            types = ",".join(sub.types) or "all"
            click.echo(f"{sub.name}\t{sub.channel}\t{sub.target}\t{sub.threshold}\t{types}")
    finally:
        services.close()


@command.command("unsubscribe")
@click.argument("name")
@click.pass_obj
def unsubscribe(settings: Settings, name: str) -> None:
    """Remove a subscription (and its alert history)."""
    services = open_accountability(settings)
    try:
        services.alerts.remove_subscription(name)
    finally:
        services.close()
    click.echo(f"removed {name}")


@command.command("alert")
@click.pass_obj
def alert(settings: Settings) -> None:
    """Plan and send due alerts; each (subscription, indicator) is alerted once."""
    services = open_accountability(settings)
    try:
        report = asyncio.run(services.alerter.send_due())
    finally:
        services.close()
    click.echo(
        f"planned {len(report.planned)} sent {len(report.sent)} retry {len(report.retry)} "
        f"failed {len(report.failed)} uncertain {len(report.uncertain)}"
    )


@command.command("alerts")
@click.pass_obj
def alerts(settings: Settings) -> None:
    """Every alert recorded: state, attempts, when sent."""
    services = open_accountability(settings)
    try:
        names = {s.id: s.name for s in services.alerts.subscriptions(active_only=False)}
        for a in services.alerts.alerts():
            sent = a.sent_at.isoformat() if a.sent_at else "-"
            click.echo(
                f"{a.id}\t{names.get(a.subscription_id, a.subscription_id)}\t{a.state}"
                f"\t{a.attempts}\t{sent}\t{a.subject}"
            )
    finally:
        services.close()
