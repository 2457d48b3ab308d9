"""``keepdown init``: the first run: the database, the operator organisation and its first
admin.

The operator organisation (``operator_organisation``) is the one whose people do the case work
(reports, sightings, review, notices, providers, indicators); an admin made anywhere else
cannot open those pages. ``init`` makes that organisation and an admin in it, with a
temporary password printed once (or one read from ``--password-env``), and says where to sign
in. Run again, it changes nothing and names the admins there are. ``keepdown serve`` on a
database with no such admin says to run it.
"""

from __future__ import annotations

import os

import click

from keepdown.app.runtime import Runtime
from keepdown.app.web import first_run
from keepdown.errors import UsageError
from keepdown.settings import Settings

__all__ = ["command"]


@click.command("init")
@click.option(
    "--admin", "username", default="admin", show_default=True, help="The first admin's user name."
)
@click.option(
    "--password-env",
    help="Read the admin's password from this environment variable "
    "(default: a temporary password, printed once, changed at first sign-in).",
)
@click.pass_obj
def command(settings: Settings, username: str, password_env: str | None) -> None:
    """Set up a new keepdown: the operator organisation and its first admin."""
    password = None
    if password_env:
        password = os.environ.get(password_env)
        if not password:
            raise UsageError(f"environment variable {password_env} is not set")
    with Runtime.open(settings) as runtime:
        done = first_run(runtime, username, password)
    if done.admin is None:
        click.echo(
            f"already set up: {done.organisation!r} has admins {', '.join(done.existing_admins)}"
            " (keepdown user add/reset for more people)"
        )
        return
    click.echo(f"operator organisation: {done.organisation}")
    click.echo(f"first admin: {done.admin}")
    if done.temporary_password:
        click.echo(
            f"temporary password (shown once, changed at first sign-in): {done.temporary_password}"
        )
    click.echo(
        f"next: keepdown serve, then sign in at http://{settings.api_host}:{settings.api_port}/web/"
    )
