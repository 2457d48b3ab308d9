"""``keepdown provider``: the provider registry (add, list, show, edit, unknown hosts).

A webhook secret is never typed on the command line (shell history, process lists): ``add``
of a webhook provider makes a random one and prints it once (hand it to the provider), or
takes one from the environment variable named by ``--webhook-secret-env``; ``edit
--rotate-webhook-secret`` makes a new one. It is stored encrypted and never printed again
(``show`` says only whether one is set). ``new-key`` prints a key for
``provider_secret_key_env``.
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import replace
from typing import Any

import click

from keepdown.app import open_notice_services, provider_registry
from keepdown.clock import SystemClock
from keepdown.errors import UsageError
from keepdown.notices.providers import (
    MAX_CADENCE_MINUTES,
    Channel,
    EscalationTarget,
    Language,
    Meaning,
    Provider,
    hours_as_minutes,
)
from keepdown.notices.sealing import new_key
from keepdown.settings import Settings

__all__ = ["command"]


def _options(fn: Any) -> Any:
    """The provider fields as options (shared by add and edit)."""
    options = [
        click.option("--ip-range", "ip_ranges", multiple=True, help="CIDR (repeatable)."),
        click.option("--asn", "asns", type=int, multiple=True, help="AS number (repeatable)."),
        click.option("--domain", "domains", multiple=True, help="Domain suffix (repeatable)."),
        click.option("--abuse", "abuse_contacts", multiple=True, help="Abuse e-mail (repeatable)."),
        click.option("--channel", type=click.Choice([c.value for c in Channel])),
        click.option("--webhook-url"),
        click.option(
            "--webhook-secret-env", help="Environment variable holding the webhook secret."
        ),
        click.option("--language", type=click.Choice([lang.value for lang in Language])),
        click.option("--country", help="ISO 3166-1 alpha-2 code."),
        click.option(
            "--recheck-minutes",
            type=click.IntRange(1, MAX_CADENCE_MINUTES),
            help="Re-check every N minutes (default 1440; never more often than "
            "notice_recheck_floor_minutes).",
        ),
        click.option(
            "--renotice-minutes",
            type=click.IntRange(1, MAX_CADENCE_MINUTES),
            help="Remind every N minutes while it is there (default 1440).",
        ),
        click.option(
            "--escalate-minutes",
            type=click.IntRange(1, MAX_CADENCE_MINUTES),
            help="Escalate N minutes after the first notice (default 4320).",
        ),
        click.option("--recheck-hours", type=click.IntRange(min=1), help="The same in hours."),
        click.option("--renotice-hours", type=click.IntRange(min=1), help="The same in hours."),
        click.option("--escalate-hours", type=click.IntRange(min=1), help="The same in hours."),
        click.option(
            "--forbidden-means",
            type=click.Choice([m.value for m in Meaning]),
            help="What a 401/403 means: confirm (a second check agrees; default), removed "
            "(at once), error (never removal).",
        ),
        click.option(
            "--unmatched-means",
            type=click.Choice([Meaning.CONFIRM.value, Meaning.REMOVED.value]),
            help="What a 'content removed' page means: confirm (default) or removed.",
        ),
        click.option("--escalation-target", type=click.Choice([t.value for t in EscalationTarget])),
        click.option("--escalation-contact", help="E-mail escalations go to."),
        click.option("--organisation", help="Organisation whose provider keys act for it."),
        click.option("--notes"),
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn


def _changes(values: dict[str, Any]) -> dict[str, Any]:
    """Only the options given; lists replace the stored list."""
    changes: dict[str, Any] = {}
    for name, value in values.items():
        if value is None or value == ():
            continue
        if name == "webhook_secret_env":
            secret = os.environ.get(value)
            if not secret:
                raise UsageError(f"environment variable {value} is not set")
            changes["webhook_secret"] = secret
        else:
            changes[name] = tuple(value) if isinstance(value, tuple) else value
    return hours_as_minutes(changes)


def _line(p: Provider) -> str:
    nets = ",".join(p.ip_ranges) or "-"
    doms = ",".join(p.domains) or "-"
    return f"{p.name}\t{p.channel.value}\t{p.language.value}\t{p.country or '-'}\t{nets}\t{doms}"


@click.group("provider")
def command() -> None:
    """Manage the provider registry (who hosts content, how notices reach them)."""


@command.command("add")
@click.argument("name")
@_options
@click.pass_obj
def add(settings: Settings, /, name: str, **values: Any) -> None:
    """Add provider NAME."""
    provider = replace(Provider(name=name), **_changes(values))
    made = None
    if provider.channel == Channel.WEBHOOK and provider.webhook_secret is None:
        made = secrets.token_urlsafe(32)
        provider = replace(provider, webhook_secret=made)
    with provider_registry(settings) as store:
        stored = store.add(provider, SystemClock().now())
    click.echo(f"provider {stored.name} added (id {stored.id})")
    _show_once(made)


def _show_once(secret: str | None) -> None:
    if secret is not None:
        click.echo(f"webhook secret (shown once; give it to the provider): {secret}")


@command.command("edit")
@click.argument("name")
@click.option("--rename", help="A new name.")
@click.option(
    "--rotate-webhook-secret", is_flag=True, help="Make a new webhook secret (printed once)."
)
@_options
@click.pass_obj
def edit(
    settings: Settings,
    /,
    name: str,
    rename: str | None,
    rotate_webhook_secret: bool,
    **values: Any,
) -> None:
    """Change provider NAME (only the options given; list options replace the list)."""
    changes = _changes(values)
    if rename:
        changes["name"] = rename
    made = secrets.token_urlsafe(32) if rotate_webhook_secret else None
    if made is not None:
        changes["webhook_secret"] = made
    if not changes:
        raise UsageError("nothing to change: give at least one option")
    with provider_registry(settings) as store:
        stored = store.update(replace(store.get(name), **changes), SystemClock().now())
    click.echo(f"provider {stored.name} updated")
    _show_once(made)


@command.command("new-key")
def new_key_cmd() -> None:
    """Print a new key for the variable named by provider_secret_key_env."""
    click.echo(new_key())


@command.command("list")
@click.pass_obj
def list_(settings: Settings) -> None:
    """List providers: name, channel, language, country, IP ranges, domains."""
    with provider_registry(settings) as store:
        for p in store.list_providers():
            click.echo(_line(p))


@command.command("show")
@click.argument("name")
@click.pass_obj
def show(settings: Settings, name: str) -> None:
    """Show provider NAME as JSON (never its webhook secret)."""
    with provider_registry(settings) as store:
        click.echo(json.dumps(store.get(name).to_public(), indent=2, sort_keys=True))


@command.command("unknown")
@click.pass_obj
def unknown(settings: Settings) -> None:
    """Hosts of confirmed sightings that no provider covers yet (add them to send notices)."""
    services = open_notice_services(settings)
    try:
        for h in services.service.unattributed():
            click.echo(
                f"{h.host}\t{h.server_ip or '-'}\t{h.sightings} sightings\t"
                f"rdap: {h.rdap_provider or '-'} AS{h.asn or '-'} "
                f"{h.network or '-'} {h.abuse_email or '-'}"
            )
    finally:
        services.close()
