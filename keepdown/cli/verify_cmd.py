"""``keepdown verify``: check keepdown's evidence (docs/transparency.md).

::

    keepdown verify events                      # the whole chain, from the genesis
    keepdown verify events --from cp.json       # from a checkpoint someone kept
    keepdown verify events --from latest --jobs 2
    keepdown verify evidence hosting-a.json [--public-key operator.pub]

``verify events`` walks the stored event chain and reports the first break (its position and
what it looks like: changed, missing, unsealed), and holds the log against every recorded
checkpoint (and the one given with ``--from``): a log cut short or rewritten since a
checkpoint shows there. ``verify evidence`` checks a provider's evidence file offline: every
event's chain hash, the file's signature and the checkpoint's. Both exit 0 when everything
holds and 65 (bad data) when something does not.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from keepdown.errors import InvalidInput, NotFound, VerificationFailed
from keepdown.evidence import SignedCheckpoint, Verification, parse_checkpoint
from keepdown.settings import Settings

__all__ = ["command"]

_MAX_FILE = 64 << 20  # a checkpoint, a report or an evidence file is far smaller


@click.group("verify")
def command() -> None:
    """Check the event chain, or a provider's evidence file."""


def _read(path: str) -> str:
    file = Path(path)
    if not file.is_file():
        raise NotFound(f"no file at {path}", path=path)
    if file.stat().st_size > _MAX_FILE:
        raise InvalidInput(f"{path} is too large to be keepdown evidence", path=path)
    return file.read_text(encoding="utf-8")


def checkpoint_from(text: str) -> SignedCheckpoint:
    """A checkpoint from a published checkpoint, or from a report that states one."""
    from keepdown.reports.verify import read_report

    stripped = text.lstrip()
    if stripped.startswith("{") and '"checkpoint"' in stripped[:200]:
        return parse_checkpoint(text)
    carried = read_report(text).provenance.checkpoint
    if carried is None:
        raise InvalidInput("this report states no checkpoint (none was recorded before it)")
    return parse_checkpoint(carried)


def _describe(result: Verification) -> list[str]:
    walked = result.walked
    lines = [
        f"chain: version {result.info.version}, genesis {result.info.genesis.hex()[:16]}..., "
        f"started {result.info.started_at.isoformat()} ({result.info.backfilled} events "
        f"chained by the migration, positions from {result.info.live_from} written live)",
        f"walked from position {walked.anchor.position}: {walked.checked} events"
        + (f" ({walked.first}..{walked.last})" if walked.checked else ""),
        f"head: {walked.last if walked.last is not None else walked.anchor.position} "
        f"{walked.head.hex()}",
        f"checkpoints checked: {result.checkpoints_checked}",
    ]
    lines += [f"note: {note}" for note in result.notes]
    if result.broken is not None:
        b = result.broken
        lines.append(f"BROKEN at position {b.position} ({b.reason}): {b.message}")
    else:
        lines.append("OK: every event follows from the one before it")
    return lines


@command.command("events")
@click.option(
    "--from",
    "start",
    metavar="CHECKPOINT",
    help="Start at a checkpoint: a file (a published checkpoint, or a report stating one), "
    "or 'latest' (the last one recorded). Its signature is checked first.",
)
@click.option(
    "--jobs",
    type=click.IntRange(1, 64),
    default=1,
    show_default=True,
    help="Processes sharing the walk (ranges of positions).",
)
@click.option("--json", "as_json", is_flag=True, help="The result as JSON.")
@click.pass_obj
def events(settings: Settings, start: str | None, jobs: int, as_json: bool) -> None:
    """Walk the event chain and report the first break."""
    from keepdown.app.evidence import open_evidence

    services = open_evidence(settings)
    try:
        checkpoint = None
        if start == "latest":
            checkpoint = services.checkpoints.latest()
            if checkpoint is None:
                raise NotFound("no checkpoint has been recorded yet")
        elif start:
            checkpoint = checkpoint_from(_read(start))
        result = services.verify_events(start=checkpoint, jobs=jobs)
    finally:
        services.close()
    if as_json:
        click.echo(json.dumps(result.to_dict(), indent=2))
    else:
        for line in _describe(result):
            click.echo(line)
    if result.broken is not None:
        raise VerificationFailed(
            f"the event chain breaks at position {result.broken.position}",
            reason=result.broken.reason,
        )


@command.command("evidence")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option(
    "--public-key",
    type=click.Path(dir_okay=False),
    help="The operator's public key (PEM, or raw base64); default: the key in the file.",
)
def evidence(file: str, public_key: str | None) -> None:
    """Check a provider's evidence file offline: events, signature, checkpoint."""
    from keepdown.banks.signing import parse_public_key, raw_fingerprint
    from keepdown.reports.provider_evidence import check_evidence

    try:
        document: Any = json.loads(_read(file))
    except ValueError as exc:
        raise InvalidInput(f"{file} is not JSON") from exc
    trusted = parse_public_key(Path(public_key).read_bytes()) if public_key else None
    problems = check_evidence(document, trusted=trusted)
    events_in = len(document.get("events", []))
    key = (document.get("signature") or {}).get("key_sha256", "?")
    click.echo(f"{events_in} events, {len(document.get('locations', []))} locations")
    if trusted is not None:
        click.echo(f"checked against the operator's key {raw_fingerprint(trusted)}")
    else:
        click.echo(f"signed by key {key} (the key in the file: compare it with the operator's)")
    for problem in problems:
        click.echo(f"PROBLEM: {problem}")
    if problems:
        raise VerificationFailed(f"{len(problems)} problem(s) in {file}")
    click.echo("OK: every event matches its chain hash and the signatures hold")
