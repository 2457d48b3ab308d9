"""``keepdown feed``: banks filled from hash exchanges, and the defence against bad entries
(docs/exchanges.md).

::

    keepdown feed add ncmec --kind ncmec --url https://report.cybertip.org/hashsharing \\
        --secret username=NCMEC_USER --secret password=NCMEC_PASSWORD --every 3600
    keepdown feed add sncii --kind stopncii --secret subscription_key=SNCII_KEY ... \\
        --option page_size=1000 --quality-floor 70 --threshold pdq=16
    keepdown feed list | show NAME
    keepdown feed update NAME --every 600 --feedback --no-guard --disable ...
    keepdown feed run NAME | --due               # run now (a worker runs them on schedule)
    keepdown feed resync NAME                    # fetch everything again (a new full fetch)
    keepdown feed skip NAME SECONDS              # move a stalled feed past what it cannot read
    keepdown feed remove NAME                    # forget the feed; its bank stays
    keepdown feed quarantines [--state active]
    keepdown feed lift ENTRY_ID --analyst ana --note "a test card: benign"
    keepdown feed negative BANK --silences sncii [--silences ...]
    keepdown feed outbox send                    # plan feedback and write-back, send what is due
    keepdown feed outbox list [--state failed]
    keepdown feed outbox retry ID | resolve ID --sent|--again
    keepdown feed publish BANK --to FEED [--tag T] | unpublish BANK --from FEED

Secrets are given as the names of environment variables (``--secret password=NCMEC_PASSWORD``),
never as values. Every change is written to the audit log.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import click

from keepdown.app.exchanging import ExchangeServices
from keepdown.app.runtime import Runtime
from keepdown.banks.service import parse_thresholds
from keepdown.errors import UsageError
from keepdown.exchanges.guards import GuardConfig
from keepdown.exchanges.outbox import OutboxState
from keepdown.exchanges.sync import SyncReport
from keepdown.settings import Settings

__all__ = ["command"]


@contextmanager
def _exchanges(
    settings: Settings, action: str | None = None, target: str = "", **details: Any
) -> Iterator[ExchangeServices]:
    """The exchanges' parts; with ``action``, the block runs as one audited CLI action."""
    with Runtime.open(settings) as runtime:
        if action is None:
            yield runtime.exchanges
            return
        with runtime.auth.audited(action, target=target, **details):
            yield runtime.exchanges


def _pairs(values: tuple[str, ...], what: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for value in values:
        key, sep, rest = value.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"{what} {value!r}: expected NAME=VALUE")
        out[key.strip()] = rest.strip()
    return out


def _options(values: tuple[str, ...]) -> dict[str, Any]:
    """``--option k=v``: v read as JSON when it is (numbers, lists, booleans), else text."""
    out: dict[str, Any] = {}
    for key, raw in _pairs(values, "--option").items():
        try:
            out[key] = json.loads(raw)
        except ValueError:
            out[key] = raw
    return out


def _echo(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, sort_keys=True, default=str))


def _report(report: SyncReport) -> dict[str, Any]:
    r = report.result
    return {
        "feed": report.feed,
        "status": str(report.status),
        "caught_up": report.caught_up,
        "skipped": report.skipped,
        "pages": report.pages,
        "records": r.records,
        "added": r.added,
        "restored": r.restored,
        "removed": r.removed,
        "guarded": r.guarded,
        "stale": r.stale,
        "bad": r.bad,
        "reconciled": r.reconciled,
        "error": report.error,
    }


@click.group("feed")
def command() -> None:
    """Banks filled from hash exchanges (NCMEC, StopNCII, ThreatExchange) and their defence."""


@command.command("add")
@click.argument("name")
@click.option("--kind", required=True, type=click.Choice(["ncmec", "stopncii", "threatexchange"]))
@click.option("--url", default="", help="The exchange's base URL (the kind's default if empty).")
@click.option("--option", "options", multiple=True, metavar="NAME=VALUE", help="Repeatable.")
@click.option(
    "--secret", "secrets", multiple=True, metavar="NAME=ENV_VAR",
    help="A credential by the environment variable holding it (repeatable).",
)  # fmt: skip
@click.option("--every", "every_seconds", type=int, default=3600, show_default=True)
@click.option("--feedback/--no-feedback", default=False, help="Send analysts' verdicts back.")
@click.option("--quarantine/--no-quarantine", default=True, show_default=True)
@click.option("--no-guard", is_flag=True, help="Do not hold back low-information hashes.")
@click.option("--quality-floor", type=int, default=None, help="PDQ query quality floor (0-100).")
@click.option("--classification", "label", help="The label of entries that carry none.")
@click.option("--trust", type=click.Choice(["review", "auto"]), default="review", show_default=True)
@click.option("--threshold", "thresholds", multiple=True, metavar="SIGNAL=N")
@click.option("--owner", default=None, help="Owning organisation (default: the operator).")
@click.pass_obj
def add_cmd(
    settings: Settings,
    name: str,
    kind: str,
    url: str,
    options: tuple[str, ...],
    secrets: tuple[str, ...],
    every_seconds: int,
    feedback: bool,
    quarantine: bool,
    no_guard: bool,
    quality_floor: int | None,
    label: str | None,
    trust: str,
    thresholds: tuple[str, ...],
    owner: str | None,
) -> None:
    """Add the feed NAME and the bank it fills (due at once: the first run is a full fetch)."""
    owner = owner or settings.operator_organisation
    with _exchanges(settings, "feed.add", name, kind=kind, url=url) as exchanges:
        feed = exchanges.feeds.add(
            name,
            kind,
            owner=owner,
            url=url,
            options=_options(options),
            secrets=_pairs(secrets, "--secret"),
            every_seconds=every_seconds,
            feedback=feedback,
            quarantine=quarantine,
            guards=GuardConfig(low_information=not no_guard, quality_floor=quality_floor),
            label=label,
            trust=trust,
            thresholds=parse_thresholds(thresholds),
        )
        _echo(exchanges.feeds.details(feed.name).to_dict())


@command.command("list")
@click.pass_obj
def list_cmd(settings: Settings) -> None:
    """Every feed: kind, status, last success, records and entries."""
    with _exchanges(settings) as exchanges:
        rows = exchanges.feeds.list()
    if not rows:
        click.echo("no feeds (keepdown feed add)")
    for d in rows:
        s = d.state
        last = s.succeeded_at.isoformat() if s.succeeded_at else "never"
        click.echo(
            f"{d.feed.name}\t{d.feed.kind}\t{s.status}\tlast success {last}\t"
            f"records {d.records.get('live', 0)} live, {d.records.get('withdrawn', 0)} withdrawn"
        )


@command.command("show")
@click.argument("name")
@click.pass_obj
def show_cmd(settings: Settings, name: str) -> None:
    """One feed as JSON: settings (secrets by variable name), checkpoint, status, counts."""
    with _exchanges(settings) as exchanges:
        _echo(exchanges.feeds.details(name).to_dict())


@command.command("update")
@click.argument("name")
@click.option("--url")
@click.option("--option", "options", multiple=True, metavar="NAME=VALUE")
@click.option("--secret", "secrets", multiple=True, metavar="NAME=ENV_VAR")
@click.option("--every", "every_seconds", type=int)
@click.option("--feedback/--no-feedback", default=None)
@click.option("--quarantine/--no-quarantine", default=None)
@click.option("--guard/--no-guard", default=None, help="Hold back low-information hashes.")
@click.option("--quality-floor", type=int, default=None)
@click.option("--enable/--disable", "enabled", default=None)
@click.pass_obj
def update_cmd(
    settings: Settings,
    name: str,
    url: str | None,
    options: tuple[str, ...],
    secrets: tuple[str, ...],
    every_seconds: int | None,
    feedback: bool | None,
    quarantine: bool | None,
    guard: bool | None,
    quality_floor: int | None,
    enabled: bool | None,
) -> None:
    """Change a feed's settings (options and secrets are merged into the stored ones)."""
    with _exchanges(settings, "feed.update", name) as exchanges:
        feed = exchanges.feed(name)
        changes: dict[str, Any] = {}
        if url is not None:
            changes["url"] = url
        if options:
            changes["options"] = {**feed.options, **_options(options)}
        if secrets:
            changes["secrets"] = {**feed.secrets, **_pairs(secrets, "--secret")}
        for key, value in (
            ("every_seconds", every_seconds),
            ("feedback", feedback),
            ("quarantine", quarantine),
            ("enabled", enabled),
        ):
            if value is not None:
                changes[key] = value
        if guard is not None or quality_floor is not None:
            changes["guards"] = GuardConfig(
                low_information=feed.guards.low_information if guard is None else guard,
                quality_floor=feed.guards.quality_floor if quality_floor is None else quality_floor,
            )
        if not changes:
            raise UsageError("nothing to change (see keepdown feed update --help)")
        exchanges.feeds.update(name, **changes)
        _echo(exchanges.feeds.details(name).to_dict())


@command.command("run")
@click.argument("name", required=False)
@click.option("--due", is_flag=True, help="Run every feed that is due.")
@click.pass_obj
def run_cmd(settings: Settings, name: str | None, due: bool) -> None:
    """Run a feed now (or every due feed): page from its checkpoint until caught up."""
    if bool(name) == due:
        raise UsageError("name one feed, or --due")
    with _exchanges(settings, "feed.run", name or "due") as exchanges:
        reports = exchanges.run_due() if due else [exchanges.run(name or "")]
    for report in reports:
        _echo(_report(report))
    if any(r.error for r in reports):
        raise SystemExit(1)


@command.command("resync")
@click.argument("name")
@click.pass_obj
def resync_cmd(settings: Settings, name: str) -> None:
    """Fetch everything again on the next run; what the exchange no longer has is withdrawn."""
    with _exchanges(settings, "feed.resync", name) as exchanges:
        checkpoint = exchanges.feeds.resync(name)
    click.echo(f"{name}: full fetch of generation {checkpoint.generation} on the next run")


@command.command("skip")
@click.argument("name")
@click.argument("seconds", type=int)
@click.pass_obj
def skip_cmd(settings: Settings, name: str, seconds: int) -> None:
    """Move a stalled feed SECONDS past the time it cannot read (a resync brings it later)."""
    with _exchanges(settings, "feed.skip", name, seconds=seconds) as exchanges:
        exchanges.feeds.skip(name, seconds)
    click.echo(f"{name}: skipped {seconds} s")


@command.command("remove")
@click.argument("name")
@click.pass_obj
def remove_cmd(settings: Settings, name: str) -> None:
    """Forget the feed (its checkpoint and records); its bank and entries stay."""
    with _exchanges(settings, "feed.remove", name) as exchanges:
        exchanges.feeds.remove(name)
    click.echo(f"{name}: feed removed (the bank stays)")


@command.command("quarantines")
@click.option(
    "--state", "states", multiple=True, type=click.Choice(["active", "lifted", "removed"])
)
@click.pass_obj
def quarantines_cmd(settings: Settings, states: tuple[str, ...]) -> None:
    """Entries quarantined for a burst of matches, and why."""
    with _exchanges(settings) as exchanges:
        found = exchanges.quarantines(states or None)
    for q in found:
        click.echo(
            f"{q.entry_id}\t{q.bank}\t{q.signal_type}\t{q.state}\t"
            f"{q.quarantined_at.isoformat()}\t{q.why}"
        )


@command.command("lift")
@click.argument("entry_id", type=int)
@click.option("--analyst", required=True)
@click.option("--note", required=True, help="Why (kept with the quarantine).")
@click.pass_obj
def lift_cmd(settings: Settings, entry_id: int, analyst: str, note: str) -> None:
    """Lift an entry's quarantine: it acts again until a new burst."""
    with _exchanges(settings, "feed.quarantine.lift", str(entry_id), analyst=analyst) as ex:
        lifted = ex.lift(entry_id, by=analyst, note=note)
    click.echo(f"entry {lifted.entry_id} ({lifted.bank}): quarantine lifted")


@command.command("negative")
@click.argument("bank")
@click.option("--silences", "scope", multiple=True, required=True, metavar="FEED")
@click.option("--by", default="operator", show_default=True)
@click.pass_obj
def negative_cmd(settings: Settings, bank: str, scope: tuple[str, ...], by: str) -> None:
    """Make BANK a negative bank: its benign hashes silence the matches of the named feeds."""
    with _exchanges(settings, "feed.negative", bank, scope=list(scope)) as exchanges:
        made = exchanges.make_negative(bank, scope, by=by)
    click.echo(f"{made.bank}: negative bank silencing {', '.join(made.scope)}")


@command.group("outbox")
def outbox_cmd() -> None:
    """What goes out to the exchanges: feedback and submissions."""


@outbox_cmd.command("send")
@click.pass_obj
def outbox_send_cmd(settings: Settings) -> None:
    """Plan new verdicts and published entries, and send what is due (a worker does this
    on schedule)."""
    with _exchanges(settings, "feed.outbox.send") as exchanges:
        _echo(exchanges.outbox_pass())


@outbox_cmd.command("list")
@click.option("--state", "states", multiple=True, type=click.Choice([s.value for s in OutboxState]))
@click.pass_obj
def outbox_list_cmd(settings: Settings, states: tuple[str, ...]) -> None:
    """Outgoing messages, newest first: id, kind, target, state, version sent, last error."""
    with _exchanges(settings) as exchanges:
        items = exchanges.outbox_items(states or None)
    for item in items:
        click.echo(
            f"{item.id}\t{item.kind}\t{item.target}\t{item.state}\t"
            f"v{item.version} (sent v{item.sent_version})\t{item.last_error}"
        )


@outbox_cmd.command("retry")
@click.argument("item_id", type=int)
@click.pass_obj
def outbox_retry_cmd(settings: Settings, item_id: int) -> None:
    """Send a failed (or uncertain) message again."""
    with _exchanges(settings, "feed.outbox.retry", str(item_id)) as exchanges:
        item = exchanges.resolve(item_id, delivered=False)
    click.echo(f"message {item.id}: {item.state}")


@outbox_cmd.command("resolve")
@click.argument("item_id", type=int)
@click.option("--sent/--again", "delivered", required=True, help="Delivered, or send again.")
@click.pass_obj
def outbox_resolve_cmd(settings: Settings, item_id: int, delivered: bool) -> None:
    """An operator's word on an uncertain message (checked at the exchange)."""
    with _exchanges(settings, "feed.outbox.resolve", str(item_id), delivered=delivered) as ex:
        item = ex.resolve(item_id, delivered=delivered)
    click.echo(f"message {item.id}: {item.state}")


@command.command("publish")
@click.argument("bank")
@click.option("--to", "feed", required=True, help="The feed (exchange connection) to send to.")
@click.option("--tag", "tags", multiple=True, help="ThreatExchange tags (repeatable).")
@click.option("--by", default="operator", show_default=True)
@click.pass_obj
def publish_cmd(settings: Settings, bank: str, feed: str, tags: tuple[str, ...], by: str) -> None:
    """Publish BANK to the exchange FEED connects to (write-back: an explicit opt-in)."""
    with _exchanges(settings, "feed.publish", bank, to=feed) as exchanges:
        made = exchanges.publish(bank, feed, by=by, tags=tags)
    click.echo(f"{made.bank}: published to {made.feed}")


@command.command("unpublish")
@click.argument("bank")
@click.option("--from", "feed", required=True)
@click.pass_obj
def unpublish_cmd(settings: Settings, bank: str, feed: str) -> None:
    """Stop publishing BANK to FEED (what was submitted stays at the exchange)."""
    with _exchanges(settings, "feed.unpublish", bank, feed=feed) as exchanges:
        exchanges.unpublish(bank, feed)
    click.echo(f"{bank}: no longer published to {feed}")
