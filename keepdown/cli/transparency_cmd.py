"""``keepdown report transparency``: the transparency report of a period, from the event log.

::

    keepdown report transparency --period 2026-Q3 --format html > report.html
    keepdown report transparency --period 2026-09 --format json
    keepdown report transparency --period 2026-07-01..2026-09-30 --format data-csv
    keepdown report transparency --period 2026-Q3 --view regulator --format csv

``--view public`` (the default) is the public report: html (self-contained, SVG charts), csv
(every figure in long form), json (figures and per-location rows) or data-csv (the data file).
``--view regulator`` gives the fields of the EU DSA, UK OSA and eSafety asks, as csv or json;
``--view flagger`` the trusted flagger's report (DSA Art. 22(3), keepdown.filings.flagger) as
text, json or csv.

Every report is computed from the events up to the event chain's head, states that (its
provenance), and is signed: with ``-o FILE`` the detached signature goes to ``FILE.sig``;
on stdout, ``--signature PATH`` says where it goes. ``keepdown report verify`` checks one.
"""

from __future__ import annotations

from pathlib import Path

import click

from keepdown.app.accountability import open_accountability
from keepdown.errors import UsageError
from keepdown.reports import FORMATS, REGULATOR_FORMATS
from keepdown.settings import Settings

__all__ = ["command"]


@click.command("transparency")
@click.option("--period", required=True, help="2026, 2026-H2, 2026-Q3, 2026-09 or A..B dates.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(sorted([*FORMATS, "text"])),
    default=None,
    help="Output format: html (the default), json, csv or data-csv; the regulator view "
    "takes csv or json, the trusted flagger's report json, csv or text (its default).",
)
@click.option(
    "--view",
    type=click.Choice(["public", "regulator", "flagger"]),
    default="public",
    show_default=True,
    help="The public report, the regulator view, or the trusted flagger's report (DSA Art. 22(3)).",
)
@click.option("--output", "-o", type=click.Path(dir_okay=False), help="Write here, not stdout.")
@click.option(
    "--signature",
    type=click.Path(dir_okay=False),
    help="Write the detached signature here (default with -o: FILE.sig).",
)
@click.pass_obj
def command(
    settings: Settings,
    period: str,
    fmt: str | None,
    view: str,
    output: str | None,
    signature: str | None,
) -> None:
    """The transparency report of a period, computed from keepdown's events only, signed."""
    fmt = fmt or ("text" if view == "flagger" else "html")
    if view == "regulator" and fmt not in REGULATOR_FORMATS:
        raise UsageError("the regulator view is csv or json", format=fmt)
    if view == "flagger" and fmt not in ("json", "csv", "text"):
        raise UsageError("the trusted flagger's report is json, csv or text", format=fmt)
    if view == "public" and fmt == "text":
        raise UsageError("the public report is html, json, csv or data-csv", format=fmt)
    services = open_accountability(settings)
    try:
        published = services.published(period, view=view, fmt=fmt)
    finally:
        services.close()
    text = published.text
    sig_path = signature or (f"{output}.sig" if output else None)
    if output:
        Path(output).write_bytes(text.encode("utf-8"))
        click.echo(f"wrote {output} ({len(text)} characters)", err=True)
    else:
        click.echo(text, nl=False)
    if sig_path:
        Path(sig_path).write_text(published.signature, encoding="ascii")
        click.echo(
            f"wrote {sig_path} (signed by {published.provenance.key_sha256[:16]}...)", err=True
        )
    else:
        click.echo("not signed to a file: give -o FILE (FILE.sig) or --signature PATH", err=True)
