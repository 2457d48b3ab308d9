"""``keepdown key``: create, list and revoke API keys.

A key is printed once, when created; only its digest is stored, so a lost key is revoked and
replaced, never recovered.
"""

from __future__ import annotations

import click

from keepdown.app.runtime import auth_service
from keepdown.auth import Role, parse_duration
from keepdown.settings import Settings

__all__ = ["command"]


@click.group("key")
def command() -> None:
    """Manage API keys."""


@command.command("create")
@click.option("--org", "organisation", required=True, help="Organisation the key belongs to.")
@click.option(
    "--role", required=True, type=click.Choice([r.value for r in Role]), help="What it may do."
)
@click.option("--expires", default="90d", show_default=True, help="e.g. 90d, 12h; 'never'.")
@click.option("--label", default="", help="A note to tell keys apart.")
@click.pass_obj
def create(settings: Settings, organisation: str, role: str, expires: str, label: str) -> None:
    """Create a key and print it (once)."""
    expires_in = None if expires == "never" else parse_duration(expires)
    with (
        auth_service(settings) as auth,
        auth.audited("key.create", role=role, organisation=organisation) as found,
    ):
        issued = auth.issue_key(organisation, role, expires_in=expires_in, label=label)
        found["key_id"] = issued.key.key_id
    expiry = issued.key.expires_at.isoformat() if issued.key.expires_at else "never"
    click.echo(f"key id: {issued.key.key_id} (role {role}, expires {expiry})")
    click.echo(issued.token)


@command.command("revoke")
@click.argument("key_id")
@click.pass_obj
def revoke(settings: Settings, key_id: str) -> None:
    """Revoke the key KEY_ID (refused by every server within auth_cache_seconds)."""
    with auth_service(settings) as auth, auth.audited("key.revoke", target=key_id):
        key = auth.revoke_key(key_id)
    click.echo(
        f"key {key.key_id} revoked at {key.revoked_at.isoformat() if key.revoked_at else ''}"
    )


@command.command("list")
@click.option("--org", "organisation", help="Only this organisation's keys.")
@click.pass_obj
def list_(settings: Settings, organisation: str | None) -> None:
    """List keys (ids, roles and dates; never secrets)."""
    with auth_service(settings) as auth:
        for key in auth.list_keys(organisation):
            state = key.state(auth.clock.now())
            expiry = key.expires_at.isoformat() if key.expires_at else "never"
            click.echo(
                f"{key.key_id}\t{key.organisation}\t{key.role.value}\t{state}\texpires {expiry}"
                + (f"\t{key.label}" if key.label else "")
            )
