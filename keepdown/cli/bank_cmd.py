"""``keepdown bank``: create, list, show, import, export, remove-entry, disable, robust, keygen.

Each command opens the database from the settings (``--data-dir`` / ``--database-url``),
runs one :class:`~keepdown.banks.service.BankService` flow and prints the outcome; errors from
the error tree become a message and an exit code in :mod:`keepdown.cli`. Every command that
changes a bank or reads its entries out (create, import, export, remove-entry, enable,
disable, robust) is written to the audit log with actor ``cli``, before it runs (write-ahead, see
:meth:`keepdown.auth.AuthService.audited`).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

from keepdown.app.runtime import Runtime
from keepdown.banks import signing
from keepdown.banks.formats import EXPORT_FORMATS, FORMATS
from keepdown.banks.model import Bank, RemovalReason
from keepdown.banks.service import BankDetails, BankService, export_format, parse_thresholds
from keepdown.errors import UsageError
from keepdown.settings import Settings

__all__ = ["command"]

_OUTPUT = click.Choice(["table", "json"])
_PATH = click.Path(path_type=Path, dir_okay=False)


@contextmanager
def _service(
    settings: Settings, action: str | None = None, target: str = "", **details: Any
) -> Iterator[BankService]:
    """The bank service; with ``action``, the block runs as one audited CLI action."""
    with Runtime.open(settings) as runtime:
        if action is None:
            yield runtime.banks
            return
        with runtime.auth.audited(action, target=target, **details):
            yield runtime.banks


@click.group("bank")
def command() -> None:
    """Banks of known hashes: create them, fill them, share them."""


@command.command("create")
@click.argument("name")
@click.option(
    "--owner", help="Owning organisation (default: the operator organisation, whose banks match)."
)
@click.option(
    "--source", default="", help="Where the hashes come from (e.g. C3P Project Arachnid)."
)
@click.option("--terms", default="", help="The source's terms of use for the list.")
@click.option(
    "--label",
    "--classification",
    "label",
    help="The source's label for its entries (csam, A1...): the API's `label`.",
)
@click.option(
    "--trust",
    type=click.Choice(["review", "auto"]),
    default="review",
    show_default=True,
    help="auto: an exact match may act without review.",
)
@click.option(
    "--threshold",
    "thresholds",
    multiple=True,
    metavar="SIGNAL=N",
    help="Match distance for a signal type, e.g. pdq=31 (repeatable).",
)
@click.option("--format", "output", type=_OUTPUT, default="table", show_default=True)
@click.pass_obj
def create_cmd(
    settings: Settings,
    name: str,
    owner: str | None,
    source: str,
    terms: str,
    label: str | None,
    trust: str,
    thresholds: tuple[str, ...],
    output: str,
) -> None:
    """Create the bank NAME."""
    owner = owner or settings.operator_organisation
    with _service(settings, "bank.create", name, owner=owner) as service:
        bank = service.create_bank(
            name,
            owner=owner,
            source=source,
            terms=terms,
            label=label,
            trust=trust,
            thresholds=parse_thresholds(thresholds),
        )
        _print_details(service.show_bank(bank.name, imports=0), output, settings)


@command.command("list")
@click.option("--format", "output", type=_OUTPUT, default="table", show_default=True)
@click.pass_obj
def list_cmd(settings: Settings, output: str) -> None:
    """List every bank with its entry counts."""
    with _service(settings) as service:
        banks = service.list_banks()
    if output == "json":
        click.echo(json.dumps([_details_json(d, settings) for d in banks], indent=2))
        return
    rows = [
        (
            d.bank.name,
            d.bank.owner,
            d.bank.trust,
            "yes" if d.bank.enabled else "no",
            d.active,
            d.removed,
            d.bank.default_label or "",
        )
        for d in banks
    ]
    _table(("NAME", "OWNER", "TRUST", "ENABLED", "ENTRIES", "REMOVED", "LABEL"), rows)


@command.command("show")
@click.argument("name")
@click.option("--format", "output", type=_OUTPUT, default="table", show_default=True)
@click.pass_obj
def show_cmd(settings: Settings, name: str, output: str) -> None:
    """Show one bank: provenance, thresholds, counts per signal type, recent imports."""
    with _service(settings) as service:
        _print_details(service.show_bank(name), output, settings)


@command.command("import")
@click.argument("name")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False, exists=True))
@click.option("--format", "fmt", type=click.Choice(FORMATS), help="File format (default: detect).")
@click.option("--signal-type", help="Signal type of lines that do not name one (pdq, md5...).")
@click.option("--skip-invalid", is_flag=True, help="Import the valid lines; count the bad ones.")
@click.option("--restore", is_flag=True, help="Bring back entries removed earlier.")
@click.option(
    "--verify",
    "verify_key",
    type=_PATH,
    metavar="PUBKEY",
    help="Refuse FILE unless FILE.sig verifies under this public key.",
)
@click.option("--quiet", "-q", is_flag=True, help="No progress lines on stderr.")
@click.pass_obj
def import_cmd(
    settings: Settings,
    name: str,
    file: Path,
    fmt: str | None,
    signal_type: str | None,
    skip_invalid: bool,
    restore: bool,
    verify_key: Path | None,
    quiet: bool,
) -> None:
    """Import FILE into the bank NAME: all of it, or (on any error) nothing."""

    def progress(lines: int) -> None:
        click.echo(f"keepdown: importing {file.name}: {lines} lines read", err=True)

    with _service(settings, "bank.import", name, file=file.name) as service:
        result = service.import_file(
            name,
            file,
            fmt=fmt,
            signal_type=signal_type,
            skip_invalid=skip_invalid,
            restore=restore,
            verify_key=verify_key,
            progress=None if quiet else progress,
        )
    for line in result.errors[:50]:
        click.echo(f"skipped {line}", err=True)
    for note in result.notes[:50]:
        click.echo(f"note: {note}", err=True)
    click.echo(
        f"{name}: {result.added} added, {result.already_present} already present, "
        f"{result.invalid} invalid, {result.removed} removed, {result.kept_removed} kept "
        f"removed, {result.restored} restored ({result.lines} lines)"
    )


@command.command("export")
@click.argument("name")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(EXPORT_FORMATS),
    help="File format (default: from -o's suffix, jsonl on stdout).",
)
@click.option("-o", "--output", type=_PATH, help="Write here instead of stdout.")
@click.option(
    "--sign",
    "sign_key",
    type=_PATH,
    metavar="PRIVKEY",
    help="Also write OUTPUT.sig, a detached Ed25519 signature.",
)
@click.option(
    "--include-removed/--exclude-removed",
    default=True,
    show_default=True,
    help="Include tombstones, so peers learn of removals.",
)
@click.pass_obj
def export_cmd(
    settings: Settings,
    name: str,
    fmt: str | None,
    output: Path | None,
    sign_key: Path | None,
    include_removed: bool,
) -> None:
    """Export the bank NAME."""
    with _service(settings, "bank.export", name, format=fmt or "jsonl") as service:
        warning = service.tombstones_dropped(name, export_format(output, fmt))
        if warning is not None and include_removed:
            click.echo(f"keepdown: warning: {warning}", err=True)
        if output is None:
            if sign_key is not None:
                raise UsageError("--sign needs -o FILE (a signature is for a file)")
            service.export(name, sys.stdout, fmt or "jsonl", include_removed=include_removed)
            return
        written, signature = service.export_file(
            name, output, fmt, include_removed=include_removed, sign_key=sign_key
        )
    click.echo(f"{name}: {written} entries written to {output}", err=True)
    if signature is not None:
        click.echo(f"signature written to {signature}", err=True)


@command.command("remove-entry")
@click.argument("name")
@click.argument("signal_type")
@click.argument("value")
@click.option(
    "--reason",
    type=click.Choice([r.value for r in RemovalReason]),
    default="other",
    show_default=True,
)
@click.pass_obj
def remove_entry_cmd(
    settings: Settings, name: str, signal_type: str, value: str, reason: str
) -> None:
    """Remove one hash from the bank NAME, leaving a tombstone."""
    target = f"{name}/{signal_type}/{value[:128]}"
    with _service(settings, "bank.entry.remove", target, reason=reason) as service:
        tombstone = service.remove_entry(name, signal_type, value, reason)
    click.echo(f"{name}: removed {tombstone.signal_type} {tombstone.value} ({tombstone.reason})")


@command.command("disable")
@click.argument("name")
@click.pass_obj
def disable_cmd(settings: Settings, name: str) -> None:
    """Stop matching against the bank NAME (its entries are kept)."""
    with _service(settings, "bank.update", name, enabled=False) as service:
        service.set_enabled(name, False)
    click.echo(f"{name}: disabled")


@command.command("enable")
@click.argument("name")
@click.pass_obj
def enable_cmd(settings: Settings, name: str) -> None:
    """Match against the bank NAME again."""
    with _service(settings, "bank.update", name, enabled=True) as service:
        service.set_enabled(name, True)
    click.echo(f"{name}: enabled")


@command.command("robust")
@click.argument("name")
@click.argument("state", type=click.Choice(["on", "off"]))
@click.pass_obj
def robust_cmd(settings: Settings, name: str, state: str) -> None:
    """Opt the bank NAME in to (on) or out of (off) near (robust) matches: entries found only
    through a robust query variant (trimmed, un-cropped, turned back), always for review."""
    robust = state == "on"
    with _service(settings, "bank.update", name, robust=robust) as service:
        service.change(name, robust=robust, by="cli")
    click.echo(f"{name}: robust matching {state} (near (robust) matches go to review)")


@command.command("accept")
@click.argument("name")
@click.option(
    "--trust",
    type=click.Choice(["review", "auto"]),
    default="review",
    show_default=True,
    help="auto: an exact match in it may act without review.",
)
@click.option("--withdraw", is_flag=True, help="Take the bank out of pooled matching again.")
@click.pass_obj
def accept_cmd(settings: Settings, name: str, trust: str, withdraw: bool) -> None:
    """Accept another organisation's bank NAME into pooled matching (the operator's decision:
    until then its entries match nothing; the operator's own banks take part by ownership)."""
    accepted = not withdraw
    details: dict[str, Any] = {"accepted": accepted} | ({"trust": trust} if accepted else {})
    with _service(settings, "bank.update", name, **details) as service:
        service.change(name, accepted=accepted, trust=trust if accepted else None, by="cli")
    done = f"accepted into pooled matching (trust {trust})" if accepted else "withdrawn"
    click.echo(f"{name}: {done}")


@command.command("keygen")
@click.argument("private", type=_PATH)
@click.argument("public", type=_PATH)
def keygen_cmd(private: Path, public: Path) -> None:
    """Make an Ed25519 key pair for signing exports (PRIVATE is written with mode 0600)."""
    signing.generate_keypair(private, public)
    fingerprint = signing.public_key_fingerprint(public)
    click.echo(f"keys written: {private} (private), {public} (public, sha256 {fingerprint})")


def _bank_json(bank: Bank, settings: Settings) -> dict[str, Any]:
    """A bank as JSON; its thresholds as the matcher applies them (the ``pdq_match_threshold``
    setting for a bank that sets none), and whether it takes part in pooled matching."""
    pdq_default = settings.pdq_match_threshold
    classification = bank.classification
    return {
        "id": bank.id,
        "name": bank.name,
        "owner": bank.owner,
        "source": bank.source,
        "terms": bank.source_terms,
        "label": bank.default_label,
        "category": str(classification.category) if classification else None,
        "maturity": str(classification.maturity) if classification else None,
        "trust": str(bank.trust),
        "trusted": bank.trusted,
        "enabled": bank.enabled,
        "robust": bank.robust,
        "pooled": bank.pooled(settings.operator_organisation),
        "accepted_by": bank.accepted_by,
        "thresholds": {t: bank.threshold(t, pdq_default) for t in ("pdq", "md5", "sha1", "sha256")},
        "created_at": bank.created_at.isoformat(),
        "updated_at": bank.updated_at.isoformat(),
    }


def _details_json(details: BankDetails, settings: Settings) -> dict[str, Any]:
    return {
        **_bank_json(details.bank, settings),
        "entries": details.active,
        "removed": details.removed,
        "counts": details.counts,
        "imports": [
            {
                **run.__dict__,
                "started_at": run.started_at.isoformat(),
                "finished_at": run.finished_at.isoformat() if run.finished_at else None,
            }
            for run in details.imports
        ],
    }


#: The fields ``bank show`` prints, in order, before the thresholds and tables.
_SHOWN = (
    "name", "owner", "source", "terms", "label", "category", "maturity", "trust", "enabled",
    "robust", "pooled", "entries", "removed", "created_at", "updated_at",
)  # fmt: skip


def _print_details(details: BankDetails, output: str, settings: Settings) -> None:
    data = _details_json(details, settings)
    if output == "json":
        click.echo(json.dumps(data, indent=2))
        return
    for key in _SHOWN:
        click.echo(f"{key + ':':<12} {'' if data[key] is None else data[key]}")
    click.echo("thresholds:  " + ", ".join(f"{k}={v}" for k, v in data["thresholds"].items()))
    if details.counts:
        _table(
            ("SIGNAL", "ACTIVE", "REMOVED"),
            [(t, c["active"], c["removed"]) for t, c in sorted(details.counts.items())],
        )
    if details.imports:
        _print_imports(details)


def _print_imports(details: BankDetails) -> None:
    _table(
        ("IMPORT", "STARTED", "STATUS", "FILE", "ADDED", "PRESENT", "INVALID", "REMOVED"),
        [
            (
                r.id, f"{r.started_at:%Y-%m-%d %H:%M}", r.status, r.file_name, r.added,
                r.already_present, r.invalid, r.removed,
            )
            for r in details.imports
        ],
    )  # fmt: skip


def _table(headers: tuple[str, ...], rows: list[tuple[Any, ...]]) -> None:
    cells = [tuple(str(c) for c in row) for row in [headers, *rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    for row in cells:
        padded = (cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        click.echo("  ".join(padded).rstrip())
