"""``keepdown report``: report URLs to crawl, and (as subcommands) other reports.

``keepdown report URL...`` and ``keepdown report --file F`` store reported URLs (the same
intake as ``POST /api/v1/reports``): each answers a reference number, a URL already reported
answers its existing reference (``repeat``, or ``recrawl`` when its last crawl finished more
than ``crawl_recrawl_after_hours`` ago), and a first report queues a crawl that
``keepdown crawl`` runs. ``--max-depth``, ``--max-pages``, ``--max-bytes``, ``--include``,
``--exclude`` and ``--any-site`` set the scope of the crawls these reports start, within the
operator's caps (``crawl_cap_*``). ``report`` is a click *group* whose default, when the first
argument is not a subcommand, is this URL intake (the hidden ``urls`` subcommand).

Adding a subcommand (e.g. ``keepdown report transparency``): write a module under
``keepdown/cli/`` exposing a click command named ``command`` (its name is the subcommand's
name) and add the module's name to :data:`SUBCOMMAND_MODULES` below, one line. A subcommand
module must not import this one.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from typing import Any

import click

from keepdown.app import open_crawl_services
from keepdown.crawl.reported import REPORTER_TYPES
from keepdown.crawl.scope_request import ScopeRequest
from keepdown.errors import InvalidInput
from keepdown.events import UrlReported
from keepdown.settings import Settings

__all__ = ["SUBCOMMAND_MODULES", "command"]

#: Modules under keepdown.cli whose ``command`` becomes a subcommand of ``keepdown report``.
SUBCOMMAND_MODULES: tuple[str, ...] = ("transparency_cmd", "report_verify_cmd")

_DEFAULT = "urls"


class DefaultToUrls(click.Group):
    """A group that runs ``urls`` when the first argument is not one of its subcommands."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ("--help", "-h"):
            args = [_DEFAULT, *args]
        return super().parse_args(ctx, args)


@click.group("report", cls=DefaultToUrls)
def command() -> None:
    """Report URLs to crawl (the default), or run a report subcommand.

    \b
    keepdown report https://example.org/page ...
    keepdown report --file urls.txt --reporter-type hotline
    (options: keepdown report urls --help)
    """


def _read_urls(urls: tuple[str, ...], file: str | None) -> list[str]:
    found = list(urls)
    if file is not None:
        text = sys.stdin.read() if file == "-" else Path(file).read_text(encoding="utf-8")
        for line in text.splitlines():
            line = line.strip()
            if line and not line.startswith("#"):
                found.append(line)
    if not found:
        raise click.UsageError("give at least one URL, or --file F")
    return found


def _scope_options(f: Any) -> Any:
    """The crawl scope options of ``keepdown report``."""
    options = [
        click.option("--max-depth", type=click.IntRange(min=0), help="Links followed from it."),
        click.option("--max-pages", type=click.IntRange(min=1), help="Pages its crawl fetches."),
        click.option("--max-bytes", type=click.IntRange(min=1), help="Bytes its crawl fetches."),
        click.option("--include", multiple=True, help="Only URLs matching this regex (repeat)."),
        click.option("--exclude", multiple=True, help="Never URLs matching this regex (repeat)."),
        click.option(
            "--any-site/--same-site", default=None, help="Follow links to other sites or not."
        ),
    ]
    for option in reversed(options):
        f = option(f)
    return f


@command.command(_DEFAULT, hidden=True)
@click.argument("urls", nargs=-1)
@click.option("--file", "file", help="A file of URLs, one a line (# comments; - for stdin).")
@click.option(
    "--reporter-type",
    type=click.Choice(REPORTER_TYPES),
    default="own_initiative",
    show_default=True,
    help="Who reported the URLs.",
)
@click.option("--reporter", default="cli", show_default=True, help="Name of the reporter.")
@click.option("--note", default="", help="A note stored with each report.")
@_scope_options
@click.pass_obj
def urls_(
    settings: Settings,
    /,
    urls: tuple[str, ...],
    file: str | None,
    reporter_type: str,
    reporter: str,
    note: str,
    any_site: bool | None,
    **scope: Any,
) -> None:
    """Store reported URLs; print reference, new/repeat/recrawl and the URL per line."""
    wanted = _read_urls(urls, file)
    same_site = None if any_site is None else not any_site
    asked = ScopeRequest(same_site=same_site, **scope).checked(settings)
    services = open_crawl_services(settings)
    bad: list[str] = []
    try:
        for url in wanted:
            try:
                done = _submit(services, url, reporter_type, reporter, note, asked)
            except InvalidInput as exc:
                bad.append(f"{url[:200]}: {exc.message}")
                continue
            click.echo(f"{done.record.reference}\t{done.outcome}\t{done.record.url}")
    finally:
        services.close()
    if bad:
        raise InvalidInput(f"{len(bad)} of {len(wanted)} URLs were refused", errors=bad)


def _submit(
    services: Any, url: str, reporter_type: str, reporter: str, note: str, scope: ScopeRequest
) -> Any:
    """One URL through the intake, and its UrlReported event."""
    now = services.clock.now()
    done = services.reports.intake(
        url, reporter_type=reporter_type, reporter=reporter, note=note, now=now, scope=scope
    )
    services.storage.events.emit(
        UrlReported(
            at=now,
            url=done.record.url,
            reporter=reporter_type,
            source="cli",
            crawl_id=str(done.record.crawl_id or ""),
        )
    )
    return done


for _name in SUBCOMMAND_MODULES:
    command.add_command(importlib.import_module(f"keepdown.cli.{_name}").command)
