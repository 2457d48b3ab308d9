"""``keepdown report verify REPORT``: is this report what the log says, figure by figure?

::

    keepdown report verify report-2026-Q3.html              # REPORT.sig beside it
    keepdown report verify report.json --signature report.json.sig --public-key operator.pub
    keepdown report verify report.csv --no-chain --json

1. The detached signature (``REPORT.sig``, or ``--signature``) under the operator's public
   key (this deployment's, or ``--public-key``): a report changed after signing fails here.
2. The log: the report's chain head must still be in it with the same hash, and (unless
   ``--no-chain``) the whole chain must hold.
3. The figures: the report is computed again from the same events (those up to its chain
   head), with the same period, operator, time and provenance, rendered the same way, and
   every figure compared; each difference is listed.

Exit 0 when all holds, 65 when anything does not (the reasons are printed either way).
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from keepdown.errors import NotFound, VerificationFailed
from keepdown.settings import Settings

__all__ = ["command"]

_MAX_REPORT = 512 << 20


@click.command("verify")
@click.argument("report", type=click.Path(dir_okay=False))
@click.option("--signature", type=click.Path(dir_okay=False), help="Default: REPORT.sig.")
@click.option(
    "--public-key",
    type=click.Path(dir_okay=False),
    help="The operator's public key (PEM or raw base64); default: this deployment's.",
)
@click.option("--no-chain", is_flag=True, help="Do not walk the whole event chain.")
@click.option("--json", "as_json", is_flag=True, help="The result as JSON.")
@click.pass_obj
def command(
    settings: Settings,
    report: str,
    signature: str | None,
    public_key: str | None,
    no_chain: bool,
    as_json: bool,
) -> None:
    """Check a transparency report: its signature, the log, every figure recomputed."""
    from keepdown.app.evidence import open_evidence
    from keepdown.banks.signing import parse_public_key

    path = Path(report)
    if not path.is_file():
        raise NotFound(f"no report at {report}", path=report)
    if path.stat().st_size > _MAX_REPORT:
        raise VerificationFailed(f"{report} is too large to be a keepdown report")
    data = path.read_bytes()
    sig_path = Path(signature) if signature else path.with_name(path.name + ".sig")
    sig = sig_path.read_text(encoding="ascii") if sig_path.is_file() else None
    key = parse_public_key(Path(public_key).read_bytes()) if public_key else None
    services = open_evidence(settings)
    try:
        check = services.reproducer().verify(data, sig, public_key=key, walk=not no_chain)
    finally:
        services.close()
    if as_json:
        click.echo(json.dumps(check.to_dict(), indent=2))
    else:
        p = check.provenance
        click.echo(f"report: {p.view} {p.format}, period {p.period}, made {p.generated_at}")
        click.echo(
            f"events: {p.events.count} (positions {p.events.first}..{p.events.last}), "
            f"chain head {p.head_position}"
        )
        click.echo(f"signature: {check.signature}")
        click.echo(f"chain: {check.chain}")
        click.echo(
            f"figures: {check.compared} compared, {len(check.differences)} differ"
            + (" (byte for byte the same report)" if check.identical else "")
        )
        for difference in check.differences[:200]:
            click.echo(f"  DIFFERS {difference.line()}")
        for note in check.notes:
            click.echo(f"note: {note}")
        for problem in check.problems:
            click.echo(f"PROBLEM: {problem}")
    if not check.ok:
        raise VerificationFailed(
            f"{report} does not verify",
            differences=len(check.differences),
            problems=len(check.problems),
        )
    if not as_json:
        click.echo("OK: signed by the operator and recomputed figure by figure from the log")
