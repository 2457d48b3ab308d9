"""``keepdown db``: the database's schema.

``keepdown db upgrade`` applies every migration the installed keepdown ships (a new database
is created at the current schema); ``keepdown db status`` prints the current and newest
revision without changing anything.
"""

from __future__ import annotations

import click

from keepdown.app.maintenance import database_revision, upgrade_database
from keepdown.settings import Settings

__all__ = ["command"]


@click.group("db")
def command() -> None:
    """Create or migrate the database."""


@command.command("upgrade")
@click.pass_obj
def upgrade_cmd(settings: Settings) -> None:
    """Apply every pending migration (creates a new database at the current schema)."""
    before, after = upgrade_database(settings)
    if before == after:
        click.echo(f"database is up to date (revision {after})")
    else:
        click.echo(f"database upgraded from {before or 'empty'} to {after}")


@command.command("status")
@click.pass_obj
def status_cmd(settings: Settings) -> None:
    """Print the database's revision and the newest one this keepdown ships."""
    current, head = database_revision(settings)
    state = "up to date" if current == head else "needs `keepdown db upgrade`"
    click.echo(f"revision {current or 'empty'} (newest {head}): {state}")
