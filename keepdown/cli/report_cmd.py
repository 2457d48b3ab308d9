"""``keepdown report``: report URLs to crawl, and (as subcommands) other reports.

``keepdown report URL...`` and ``keepdown report --file F`` store reported URLs (the same
intake as ``POST /api/v1/reports``): each answers a reference number, a URL already reported
answers its existing reference (``repeat``), and a first report queues a crawl that
``keepdown crawl`` runs. ``report`` is a click *group* whose default, when the first argument
is not a subcommand, is this URL intake (the hidden ``urls`` subcommand).

Adding a subcommand (e.g. ``keepdown report transparency``): write a module under
``keepdown/cli/`` exposing a click command named ``command`` (its name is the subcommand's
name) and add the module's name to :data:`SUBCOMMAND_MODULES` below, one line. A subcommand
module must not import this one.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import click

from keepdown.app import open_crawl_services
from keepdown.errors import InvalidInput
from keepdown.events import UrlReported
from keepdown.settings import Settings

__all__ = ["SUBCOMMAND_MODULES", "command"]

#: Modules under keepdown.cli whose ``command`` becomes a subcommand of ``keepdown report``.
SUBCOMMAND_MODULES: tuple[str, ...] = ("transparency_cmd",)

REPORTER_TYPES = ("public", "trusted_flagger", "hotline", "own_initiative")
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
@click.pass_obj
def urls_(
    settings: Settings,
    urls: tuple[str, ...],
    file: str | None,
    reporter_type: str,
    reporter: str,
    note: str,
) -> None:
    """Store reported URLs; print reference, new/repeat and the normalised URL per line."""
    wanted = _read_urls(urls, file)
    services = open_crawl_services(settings)
    bad: list[str] = []
    try:
        for url in wanted:
            now = services.clock.now()
            try:
                record, new = services.reports.submit(
                    url, reporter_type=reporter_type, reporter=reporter, note=note, now=now
                )
            except InvalidInput as exc:
                bad.append(f"{url[:200]}: {exc.message}")
                continue
            services.storage.events.emit(
                UrlReported(
                    at=now,
                    url=record.url,
                    reporter=reporter_type,
                    source="cli",
                    crawl_id=str(record.crawl_id or ""),
                )
            )
            click.echo(f"{record.reference}\t{'new' if new else 'repeat'}\t{record.url}")
    finally:
        services.close()
    if bad:
        raise InvalidInput(f"{len(bad)} of {len(wanted)} URLs were refused", errors=bad)


for _name in SUBCOMMAND_MODULES:
    command.add_command(importlib.import_module(f"keepdown.cli.{_name}").command)
