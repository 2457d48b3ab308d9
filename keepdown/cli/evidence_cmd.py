"""``keepdown evidence``: checkpoints of the event chain, the signing key, a provider's evidence.

::

    keepdown evidence checkpoint                  # sign the chain's head now (if it moved)
    keepdown evidence checkpoints [--after N]     # the recorded ones, as published (JSON)
    keepdown evidence key                         # the public key, and its SHA-256
    keepdown evidence provider "Hosting A" [--period 2026-Q3 | --notice KDN-2026-000001] -o a.json

The workers record a checkpoint every ``evidence_checkpoint_minutes``; ``checkpoint`` does it
at once (a scheduler can run it instead). ``provider`` writes the evidence a provider can
download itself (its signed link, its provider key), for an operator to hand over. How to
check any of it: docs/transparency.md.
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from keepdown.settings import Settings

__all__ = ["command"]


@click.group("evidence")
def command() -> None:
    """Checkpoints of the event chain, the signing key, a provider's evidence."""


@command.command("checkpoint")
@click.pass_obj
def checkpoint(settings: Settings) -> None:
    """Sign and record a checkpoint of the chain's head (after walking the new events)."""
    from keepdown.app.evidence import open_evidence

    services = open_evidence(settings)
    try:
        signed = services.record_checkpoint()
        latest = services.checkpoints.latest()
    finally:
        services.close()
    if signed is None:
        where = latest.checkpoint.position if latest else 0
        click.echo(f"nothing new since the last checkpoint (position {where})", err=True)
        return
    click.echo(signed.to_json(), nl=False)


@command.command("checkpoints")
@click.option("--after", type=click.IntRange(min=0), default=0, help="Positions after this one.")
@click.option("--limit", type=click.IntRange(1, 100_000), default=1000, show_default=True)
@click.pass_obj
def checkpoints(settings: Settings, after: int, limit: int) -> None:
    """The recorded checkpoints, oldest first, as published (a JSON list)."""
    from keepdown.app.evidence import open_evidence

    services = open_evidence(settings)
    try:
        found = services.checkpoints.list(after=after, limit=limit)
    finally:
        services.close()
    click.echo(json.dumps([c.to_dict() for c in found], indent=2))


@command.command("key")
@click.pass_obj
def key(settings: Settings) -> None:
    """The public key that signs checkpoints, reports and evidence (made if there is none)."""
    from keepdown.app.evidence import open_evidence

    services = open_evidence(settings)
    try:
        signing = services.key()
    finally:
        services.close()
    click.echo(signing.public_pem(), nl=False)
    click.echo(f"sha256 {signing.fingerprint}", err=True)


@command.command("provider")
@click.argument("name")
@click.option("--period", help="Only this period's row and events (2026-Q3, 2026-09, ...).")
@click.option("--notice", "notice_ref", help="Only this notice's locations (a reference).")
@click.option("--output", "-o", type=click.Path(dir_okay=False), help="Write here, not stdout.")
@click.pass_obj
def provider(
    settings: Settings, name: str, period: str | None, notice_ref: str | None, output: str | None
) -> None:
    """A provider's own evidence, signed (what it downloads through its link or key)."""
    from keepdown.app.evidence import open_evidence

    services = open_evidence(settings)
    try:
        found = services.provider_named(name)
        document = services.for_providers([found], notice_ref=notice_ref, period=period)
    finally:
        services.close()
    text = json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    if output:
        Path(output).write_text(text, encoding="utf-8")
        click.echo(f"wrote {output}: {len(document['events'])} events", err=True)
    else:
        click.echo(text, nl=False)
