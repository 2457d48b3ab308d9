"""``keepdown serve``: run the HTTP API (and, with ``--demo``, seed a demo to try it on)."""

from __future__ import annotations

import ipaddress

import click

from keepdown import app as composition
from keepdown.settings import Settings

__all__ = ["command"]


@click.command("serve")
@click.option("--host", help="Address to listen on (default: api_host, 127.0.0.1).")
@click.option("--port", type=int, help="Port to listen on (default: api_port, 8000).")
@click.option("--demo", is_flag=True, help="Seed a demo organisation, bank, key and analyst first.")
@click.option(
    "--workers",
    type=click.IntRange(min=0),
    help="Task workers in this process (default: serve_workers, 1; 0: the API only).",
)
@click.pass_obj
def command(
    settings: Settings, host: str | None, port: int | None, demo: bool, workers: int | None
) -> None:
    """Serve the keepdown API (FastAPI on uvicorn)."""
    options = {"api_host": host, "api_port": port, "serve_workers": workers}
    overrides = {k: v for k, v in options.items() if v is not None}
    settings = settings.replace(**overrides)
    if demo:
        settings = _demo_settings(settings)
        with composition.Runtime.open(settings) as runtime:
            info = composition.seed_demo(runtime)
        _print_demo(info, settings)
    else:
        _say_if_first_run(settings)
    composition.serve(settings)


def _say_if_first_run(settings: Settings) -> None:
    """No admin of the operator organisation yet: nobody could sign in to the pages."""
    from keepdown.app.web import first_admins

    with composition.Runtime.open(settings) as runtime:
        admins = first_admins(runtime)
    if not admins:
        click.echo(
            f"no admin of the operator organisation ({settings.operator_organisation!r}) yet: "
            "nobody can sign in to the web pages; run `keepdown init` to make the first one",
            err=True,
        )


def _demo_settings(settings: Settings) -> Settings:
    """On a loopback address the demo is served over plain HTTP, where a browser drops a
    Secure cookie and so could not sign in: the demo's cookies are not marked Secure then.
    Anywhere else they stay Secure (put HTTPS in front, docs/operations.md)."""
    try:
        loopback = ipaddress.ip_address(settings.api_host).is_loopback
    except ValueError:
        loopback = settings.api_host == "localhost"
    if not loopback:
        return settings
    # notices of the demo may carry loopback response links (the demo's own address)
    return settings.replace(web_cookie_secure=False, notice_links_on_loopback=True)


def _print_demo(info: composition.DemoInfo, settings: Settings) -> None:
    base = f"http://{settings.api_host}:{settings.api_port}"
    sample = next((p for p in info.samples if p.name == "harbour-shapes.jpg"), info.samples[0])
    click.echo(f"demo organisation: {info.organisation}")
    click.echo(f"demo bank: {info.bank} ({info.entries_added} new entries)")
    expiry = info.expires_at.isoformat(timespec="minutes") if info.expires_at else "never"
    click.echo(f"demo platform key (shown once, expires {expiry}): {info.token}")
    click.echo(f"demo analyst for the web pages: {info.web_user}")
    click.echo(f"demo analyst password (shown once): {info.web_password}")
    click.echo("")
    click.echo("try it:")
    click.echo(
        f'  curl -H "Authorization: Bearer {info.token}" --data-binary @{sample} '
        f"-H 'Content-Type: image/jpeg' {base}/api/v1/match"
    )
    click.echo(f"  open {base}/web/ and sign in as {info.web_user} (banks, reports, review)")
    if settings.web_cookie_secure:
        click.echo("  (the web pages' cookies are Secure: open them through HTTPS)")
    click.echo(f"  open {base}/docs for every endpoint")
    click.echo("")
