"""``keepdown org``: add and list organisations (the holders of API keys and banks)."""

from __future__ import annotations

import click

from keepdown.app.runtime import auth_service
from keepdown.settings import Settings

__all__ = ["command"]


@click.group("org")
def command() -> None:
    """Manage organisations."""


@command.command("add")
@click.argument("name")
@click.pass_obj
def add(settings: Settings, name: str) -> None:
    """Add an organisation called NAME."""
    with auth_service(settings) as auth, auth.audited("organisation.create", target=name):
        org = auth.add_organisation(name)
    click.echo(f"organisation {org.name} added")


@command.command("list")
@click.pass_obj
def list_(settings: Settings) -> None:
    """List organisations."""
    with auth_service(settings) as auth:
        for org in auth.store.list_organisations():
            click.echo(f"{org.name}\t{org.created_at.isoformat()}")
