"""``keepdown db``: the database's schema.

``keepdown db upgrade`` applies every migration the installed keepdown ships (a new database
is created at the current schema); ``keepdown db status`` prints the current and newest
revision without changing anything.
"""

from __future__ import annotations

import click

from keepdown.settings import Settings
from keepdown.storage import head_revision, make_engine, upgrade
from keepdown.storage.migrate import read_revision

__all__ = ["command"]


@click.group("db")
def command() -> None:
    """Create or migrate the database."""


@command.command("upgrade")
@click.pass_obj
def upgrade_cmd(settings: Settings) -> None:
    """Apply every pending migration (creates a new database at the current schema)."""
    engine = make_engine(settings.resolved_database_url)
    try:
        before, after = upgrade(engine)
    finally:
        engine.dispose()
    if before == after:
        click.echo(f"database is up to date (revision {after})")
    else:
        click.echo(f"database upgraded from {before or 'empty'} to {after}")


@command.command("status")
@click.pass_obj
def status_cmd(settings: Settings) -> None:
    """Print the database's revision and the newest one this keepdown ships."""
    engine = make_engine(settings.resolved_database_url)
    try:
        current = read_revision(engine)
    finally:
        engine.dispose()
    head = head_revision()
    state = "up to date" if current == head else "needs `keepdown db upgrade`"
    click.echo(f"revision {current or 'empty'} (newest {head}): {state}")
