"""``keepdown blocklist``: the URL block list for ISPs, resolvers and filters (docs/blocklist.md).

::

    keepdown blocklist refresh                       # recompute from the locations now
    keepdown blocklist show                          # serial, counts, canary
    keepdown blocklist export --format rpz -o keepdown.rpz
    keepdown blocklist export --format squid-urls -o /etc/squid/keepdown-urls.txt
    keepdown blocklist delta --since 41 [--format rpz]
    keepdown blocklist squid-config --dir /etc/squid  # the squid.conf lines
    keepdown blocklist domain add dedicated.test --reason "a site made for it" --analyst ana
    keepdown blocklist domain lift dedicated.test --reason "taken over" --analyst ana
    keepdown blocklist appeals
    keepdown blocklist decide 7 --uphold|--reject --note "..." --analyst ana
    keepdown blocklist licensee-key ISP-ONE          # the feed key to give a licensee

Every change (domains, decisions) and every export is written to the audit log.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

from keepdown.app.runtime import Runtime
from keepdown.blocklist.desk import FORMATS, BlocklistDesk
from keepdown.settings import Settings

__all__ = ["command"]


@contextmanager
def _desk(
    settings: Settings, action: str | None = None, target: str = "", **details: Any
) -> Iterator[BlocklistDesk]:
    """The block list's desk; with ``action``, the block runs as one audited CLI action."""
    with Runtime.open(settings) as runtime:
        if action is None:
            yield runtime.blocklist
            return
        with runtime.auth.audited(action, target=target, **details):
            yield runtime.blocklist


def _write(text: str, output: str | None) -> None:
    if output:
        Path(output).write_text(text, encoding="utf-8")
    else:
        click.echo(text, nl=False)


@click.group("blocklist")
def command() -> None:
    """The URL block list: its forms, deltas, whole domains, appeals and licensees' keys."""


@command.command("refresh")
@click.pass_obj
def refresh(settings: Settings) -> None:
    """Recompute the list from the confirmed locations now."""
    with _desk(settings) as desk:
        snapshot = desk.refresh()
    click.echo(f"serial {snapshot.serial}: {len(snapshot.entries)} entries")


@command.command("show")
@click.pass_obj
def show(settings: Settings) -> None:
    """The list's serial, its counts by kind and reason, and the canary."""
    with _desk(settings) as desk:
        snapshot = desk.fresh()
        canary = desk.service.canary
    counts: dict[str, int] = {}
    for entry in snapshot.entries:
        key = f"{entry.kind.value}/{entry.reason}"
        counts[key] = counts.get(key, 0) + 1
    click.echo(f"serial\t{snapshot.serial}")
    for key in sorted(counts):
        click.echo(f"{key}\t{counts[key]}")
    if canary is not None:
        click.echo(f"canary\t{canary.host}\t{canary.url}")


@command.command("export")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="json")
@click.option("--output", "-o", type=click.Path(dir_okay=False), help="Write here, not stdout.")
@click.pass_obj
def export(settings: Settings, fmt: str, output: str | None) -> None:
    """The whole list in one form."""
    with _desk(settings, "blocklist.export", target=fmt) as desk:
        made = desk.render(fmt)
    _write(made.text, output)


@command.command("delta")
@click.option("--since", type=int, required=True, help="The serial the consumer holds.")
@click.option("--format", "fmt", type=click.Choice(["json", "rpz"]), default="json")
@click.option("--output", "-o", type=click.Path(dir_okay=False), help="Write here, not stdout.")
@click.pass_obj
def delta(settings: Settings, since: int, fmt: str, output: str | None) -> None:
    """The changes after a serial (JSON, or the RPZ zone's IXFR-ordered delta)."""
    with _desk(settings, "blocklist.delta", target=fmt, since=since) as desk:
        made = desk.delta(since, fmt)
    _write(made.text, output)


@command.command("squid-config")
@click.option("--dir", "directory", default="/etc/squid", show_default=True)
@click.pass_obj
def squid_config(settings: Settings, directory: str) -> None:
    """The squid.conf lines that load the exported files and redirect to the splash page."""
    with _desk(settings) as desk:
        click.echo(desk.squid_config(directory), nl=False)


@command.group("domain")
def domain() -> None:
    """Whole domains: only where a domain is dedicated to such material."""


@domain.command("add")
@click.argument("name")
@click.option("--reason", required=True, help="Why the whole domain (kept and audited).")
@click.option("--analyst", required=True, help="Who decided.")
@click.option("--classification", default="")
@click.pass_obj
def domain_add(
    settings: Settings, name: str, reason: str, analyst: str, classification: str
) -> None:
    """List a whole domain (and its subdomains)."""
    with _desk(settings, "blocklist.domain_list", target=name, reason=reason, analyst=analyst) as d:
        decision = d.service.list_domain(
            name, analyst=analyst, reason=reason, classification=classification
        )
    click.echo(f"listed {decision.domain}")


@domain.command("lift")
@click.argument("name")
@click.option("--reason", required=True)
@click.option("--analyst", required=True)
@click.pass_obj
def domain_lift(settings: Settings, name: str, reason: str, analyst: str) -> None:
    """Take a whole domain off the list."""
    with _desk(settings, "blocklist.domain_lift", target=name, reason=reason, analyst=analyst) as d:
        d.service.lift_domain(name, analyst=analyst, reason=reason)
    click.echo(f"lifted {name}")


@command.command("appeals")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
@click.pass_obj
def appeals(settings: Settings, fmt: str) -> None:
    """Every appeal and its decision."""
    with _desk(settings) as desk:
        found = desk.service.store.appeals()
    if fmt == "json":
        click.echo(json.dumps([a.to_dict() for a in found], indent=2))
        return
    for a in found:
        click.echo(f"{a.id}\t{a.state.value}\t{a.target}\t{a.reason}")


@command.command("decide")
@click.argument("appeal_id", type=int)
@click.option("--uphold/--reject", required=True, help="Uphold: the block was wrong.")
@click.option("--note", default="")
@click.option("--analyst", required=True)
@click.pass_obj
def decide(settings: Settings, appeal_id: int, uphold: bool, note: str, analyst: str) -> None:
    """Decide an appeal; an upheld one takes the entry off the list at once."""
    outcome = "upheld" if uphold else "rejected"
    with _desk(
        settings, "blocklist.appeal_decide", target=str(appeal_id), decision=outcome
    ) as desk:
        decided = desk.service.decide_appeal(appeal_id, analyst=analyst, upheld=uphold, note=note)
    click.echo(f"appeal {decided.id}: {decided.state.value}")


@command.command("licensee-key")
@click.argument("licensee")
@click.pass_obj
def licensee_key(settings: Settings, licensee: str) -> None:
    """The keyed feed's key of a licensee (an organisation), base64."""
    with _desk(settings, "blocklist.feed_key", target=licensee) as desk:
        click.echo(desk.key_text(licensee))
