"""``keepdown sightings list``: the sightings, filtered as on the web page, as text, JSON or CSV.

The same filters (``--bank``, ``--provider``, ``--state``, ``--since``, ``--until``: days in
UTC), columns and order (newest first) as the web's sightings page and ``GET
/api/v1/sightings`` (:mod:`keepdown.review.listing`); ``--limit`` and ``--offset`` page
through them, and the total is said on stderr (text) or in the answer (JSON).
"""

from __future__ import annotations

import json

import click

from keepdown.app.runtime import Runtime
from keepdown.review.listing import (
    SIGHTING_STATES,
    sighting_filter,
    sighting_row,
    sightings_csv,
)
from keepdown.settings import Settings

__all__ = ["command"]


@click.group("sightings")
def command() -> None:
    """Sightings: every media the crawler saw, where, what it matched, what became of it."""


@command.command("list")
@click.option("--bank", default="", help="Only sightings of this bank.")
@click.option("--provider", default="", help="Only this provider's.")
@click.option("--state", default="", type=click.Choice(["", *SIGHTING_STATES]), help="State.")
@click.option("--since", default="", help="Seen on or after this day (YYYY-MM-DD, UTC).")
@click.option("--until", default="", help="Seen on or before this day (YYYY-MM-DD, UTC).")
@click.option("--limit", type=click.IntRange(1, 500), default=100, show_default=True)
@click.option("--offset", type=click.IntRange(min=0), default=0)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "csv"]),
    default="text",
    show_default=True,
)
@click.pass_obj
def list_(
    settings: Settings,
    bank: str,
    provider: str,
    state: str,
    since: str,
    until: str,
    limit: int,
    offset: int,
    fmt: str,
) -> None:
    """List sightings, newest first."""
    where = sighting_filter(bank=bank, provider=provider, state=state, since=since, until=until)
    with Runtime.open(settings) as runtime:
        items, total = runtime.review_store.list_sightings(where, limit=limit, offset=offset)
    if fmt == "csv":
        click.echo(sightings_csv(items), nl=False)
        return
    rows = [sighting_row(item) for item in items]
    if fmt == "json":
        body = {"sightings": rows, "total": total, "limit": limit, "offset": offset}
        click.echo(json.dumps(body, indent=2))
        return
    for row in rows:
        match = f"{row['match_type']} d={row['distance']}" if row["match_type"] else "-"
        click.echo(
            f"{row['id']}\t{row['seen_at'][:16]}\t{row['state']}\t{row['bank'] or '-'}\t"
            f"{match}\t{row['provider'] or '-'}\t{row['media_url']}"
        )
    shown = f"{offset + 1}-{offset + len(rows)}" if rows else "none"
    click.echo(f"{shown} of {total} sightings", err=True)
