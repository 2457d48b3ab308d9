"""``keepdown user``: people who sign in to the web pages (add, list, disable, reset).

``keepdown user add`` creates the first admin. The password is asked twice on the terminal
(never an argument: it would end up in the shell history), or read from the environment
variable named by ``--password-env`` for scripted setups. ``reset`` prints a temporary
password the person must change at their next sign-in; every command is audited.
"""

from __future__ import annotations

import os

import click

from keepdown.app.web import people
from keepdown.auth import Role
from keepdown.auth.scope import refused_case_work
from keepdown.errors import UsageError
from keepdown.settings import Settings

__all__ = ["command"]


@click.group("user")
def command() -> None:
    """Manage the people who sign in to the web pages."""


def _password(env: str | None) -> str:
    if env:
        value = os.environ.get(env)
        if not value:
            raise UsageError(f"environment variable {env} is not set")
        return value
    return str(click.prompt("password", hide_input=True, confirmation_prompt=True))


@command.command("add")
@click.argument("username")
@click.option("--org", "organisation", required=True, help="Organisation the person belongs to.")
@click.option(
    "--role", default="analyst", show_default=True, type=click.Choice([r.value for r in Role])
)
@click.option("--senior", is_flag=True, help="Takes escalated review items.")
@click.option("--name", "display_name", default="", help="Name shown on the pages.")
@click.option("--password-env", help="Read the password from this environment variable.")
@click.option("--create-org", is_flag=True, help="Create the organisation if it is missing.")
@click.pass_obj
def add(
    settings: Settings,
    username: str,
    organisation: str,
    role: str,
    senior: bool,
    display_name: str,
    password_env: str | None,
    create_org: bool,
) -> None:
    """Add a person (the first admin: --role admin --create-org)."""
    password = _password(password_env)
    with people(settings) as signin:
        if create_org:
            signin.auth.ensure_organisation(organisation)
        user = signin.add_user(
            username,
            password,
            organisation=organisation,
            role=role,
            senior=senior,
            display_name=display_name,
        )
        signin.auth.audit("user.add", target=user.username, role=role, organisation=organisation)
    click.echo(f"user {user.username} added ({user.role.value} at {user.organisation})")
    operator = settings.operator_organisation
    if refused_case_work(user.role, user.organisation, operator):
        click.echo(
            f"note: {user.organisation!r} is not the operator organisation ({operator!r}): "
            "this person will not see reports, sightings, the review queue or notices",
            err=True,
        )


@command.command("list")
@click.option("--org", "organisation", help="Only this organisation's people.")
@click.pass_obj
def list_(settings: Settings, organisation: str | None) -> None:
    """List people (never passwords)."""
    with people(settings) as signin:
        for user in signin.store.list_users(organisation):
            flags = [
                flag
                for flag, on in (
                    ("senior", user.senior),
                    ("totp", user.totp_enabled),
                    ("disabled", user.disabled),
                    ("held", signin.held_until(user.username) is not None),
                )
                if on
            ]
            click.echo(
                f"{user.username}\t{user.organisation}\t{user.role.value}\t{','.join(flags) or '-'}"
            )


@command.command("disable")
@click.argument("username")
@click.option("--enable", is_flag=True, help="Enable the account again instead.")
@click.pass_obj
def disable(settings: Settings, username: str, enable: bool) -> None:
    """Disable a person (their sessions end at once), or --enable them again."""
    with people(settings) as signin:
        user = signin.set_disabled(username, not enable)
        signin.auth.audit("user.enable" if enable else "user.disable", target=user.username)
    click.echo(f"user {user.username} {'enabled' if enable else 'disabled'}")


@command.command("reset")
@click.argument("username")
@click.option("--remove-totp", is_flag=True, help="Also remove their second factor.")
@click.pass_obj
def reset(settings: Settings, username: str, remove_totp: bool) -> None:
    """Give a person a temporary password (printed once) and unlock them."""
    with people(settings) as signin:
        user, temporary = signin.reset_password(username)
        if remove_totp:
            signin.remove_totp(user.username)
        signin.auth.audit("user.reset", target=user.username, totp_removed=remove_totp)
    click.echo(f"temporary password for {user.username} (they must change it at sign-in):")
    click.echo(temporary)
