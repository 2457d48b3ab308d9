"""``keepdown regulator``: the records regulators and clearing houses expect (docs/filings.md).

::

    keepdown regulator file [--organisation ORG]            # a platform's records, one command:
                                                            # statements of reasons to the DSA
                                                            # database, CyberTipline reports on
    keepdown regulator hotline --period 2026 -o DIR [--organisation HOTLINE]
                                                            # a hotline's records of a period:
                                                            # the trusted flagger's report and the
                                                            # regulator view (signed), referrals,
                                                            # the goAML report
    keepdown regulator profile show ORG
    keepdown regulator profile set ORG ncmec reporter_email=reports@platform.example ...
    keepdown regulator ncmec upload ORG --sha256 HEX [--md5 HEX] [--upload-ref REF] ...
    keepdown regulator ncmec sighting ORG SIGHTING_ID
    keepdown regulator ncmec list [--organisation ORG] [--state ready]
    keepdown regulator ncmec show CT-000001 [--xml]
    keepdown regulator ncmec approve|cancel|withdraw|retry CT-000001
    keepdown regulator ncmec schema ORG -o ncmec.xsd       # NCMEC's own XSD, with credentials
    keepdown regulator ncmec check CT-000001 --schema ncmec.xsd
    keepdown regulator statements [--organisation ORG] [--state invalid]
    keepdown regulator refer --to law_enforcement --organisation HOTLINE --recipient "Police X"
    keepdown regulator referrals [--period 2026-Q3]
    keepdown regulator goaml HOTLINE [-o report.xml]

Every change (profiles, drafts, an operator's word on a report, referrals, exports) is in the
audit log. ``--by`` names the person acting (default: ``cli:<login>``); a report awaiting
approval is approved by another person than the one who drafted it.
"""

from __future__ import annotations

import getpass
import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from keepdown.app.filing import FilingServices
from keepdown.app.runtime import Runtime
from keepdown.errors import InvalidInput
from keepdown.files import open_private, private_dir
from keepdown.filings.cybertip_draft import UploadFacts
from keepdown.filings.cybertip_model import IpEvent, ReportedUser, ReportState
from keepdown.filings.desk import REFERRAL_RECIPIENTS
from keepdown.filings.profiles import PARTS
from keepdown.filings.sor_model import StatementState
from keepdown.settings import Settings

__all__ = ["command"]

_BY = click.option("--by", default=None, help="Who acts (default: cli:<login>).")


def _who(by: str | None) -> str:
    if by:
        return by
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):  # no login name (a container's user without a passwd entry)
        return "cli"


@contextmanager
def _filings(
    settings: Settings, action: str | None = None, target: str = "", **details: Any
) -> Iterator[FilingServices]:
    """The filing services; with ``action``, the block is one audited CLI action."""
    with Runtime.open(settings) as runtime:
        if action is None:
            yield runtime.filings
            return
        with runtime.auth.audited(action, target=target, **details):
            yield runtime.filings


def _echo_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, default=str))


@click.group("regulator")
def command() -> None:
    """Records for authorities: CyberTipline reports, statements of reasons, the trusted
    flagger's report, referrals, goAML."""


# --- the two scenarios, one command each -------------------------------------------------------


@command.command("file")
@click.option("--organisation", help="Only this organisation's records (default: everyone's).")
@click.pass_obj
def file_(settings: Settings, organisation: str | None) -> None:
    """One filing pass: plan and send statements of reasons, move CyberTipline reports on."""
    with _filings(settings, "filings.run", target=organisation or "*") as desk:
        done = desk.run(organisation)
    _echo_json(done)


@command.command("hotline")
@click.option("--period", required=True, help="2026, 2026-Q3, 2026-09 ...")
@click.option("--output", "-o", required=True, type=click.Path(file_okay=False, path_type=Path))
@click.option("--organisation", help="The hotline's organisation (its goAML profile).")
@click.pass_obj
def hotline(settings: Settings, period: str, output: Path, organisation: str | None) -> None:
    """Write a hotline's records of PERIOD into a folder (each signed report with FILE.sig)."""
    with _filings(settings, "filings.hotline_records", target=period) as desk:
        records = desk.hotline_records(period, organisation)
    folder = private_dir(output)
    for record in records:
        with open_private(folder / record.name, "wb") as handle:
            handle.write(record.data)
        if record.signature:
            with open_private(folder / f"{record.name}.sig", "w") as sig:
                sig.write(record.signature + "\n")
        note = f" ({record.note})" if record.note else ""
        signed = " signed" if record.signature else ""
        click.echo(f"wrote {output / record.name}{signed}{note}")


# --- profiles ----------------------------------------------------------------------------------


@command.group("profile")
def profile() -> None:
    """An organisation's filing profile: reporter details, credentials by variable name."""


@profile.command("show")
@click.argument("organisation")
@click.pass_obj
def profile_show(settings: Settings, organisation: str) -> None:
    with _filings(settings) as desk:
        found = desk.profile(organisation)
    if found is None:
        raise InvalidInput(f"{organisation} has no filing profile")
    _echo_json(found.to_dict())


@profile.command("set")
@click.argument("organisation")
@click.argument("part", type=click.Choice(PARTS))
@click.argument("values", nargs=-1, required=True)
@_BY
@click.pass_obj
def profile_set(
    settings: Settings, organisation: str, part: str, values: tuple[str, ...], by: str | None
) -> None:
    """Set fields of a profile's PART: name=value ... (true/false for yes-or-no fields; lists
    comma-separated). Credentials are given as the names of environment variables."""
    parsed: dict[str, Any] = {}
    for item in values:
        name, sep, value = item.partition("=")
        if not sep:
            raise InvalidInput(f"expected name=value, got {item!r}")
        parsed[name.strip()] = {"true": True, "false": False}.get(value.lower(), value)
    with _filings(settings, "filings.profile", target=organisation, part=part) as desk:
        stored = desk.set_profile(organisation, part, parsed, _who(by))
    _echo_json(stored.to_dict())


# --- CyberTipline ------------------------------------------------------------------------------


@command.group("ncmec")
def ncmec() -> None:
    """CyberTipline reports to NCMEC."""


@ncmec.command("upload")
@click.argument("organisation")
@click.option("--sha256", required=True)
@click.option("--md5", default="")
@click.option("--sha1", default="")
@click.option("--upload-ref", default="", help="The platform's own name of the upload.")
@click.option("--file-name", default="")
@click.option("--uploaded-at", type=click.DateTime(), default=None, help="UTC.")
@click.option("--viewed", is_flag=True, help="A person of the platform saw the whole file.")
@click.option("--industry", default="", help="A1, A2, B1 or B2 (else the entry's own label).")
@click.option("--user-id", default="", help="The uploading account's id at the platform.")
@click.option("--screen-name", default="")
@click.option("--upload-ip", default="")
@click.option("--info", default="", help="Additional information for NCMEC.")
@_BY
@click.pass_obj
def ncmec_upload(settings: Settings, /, organisation: str, **options: Any) -> None:
    """Draft a report of a platform's upload that is a confirmed match."""
    at: datetime | None = options["uploaded_at"]
    when = at.replace(tzinfo=at.tzinfo or UTC) if at else None
    facts = UploadFacts(
        sha256=options["sha256"],
        md5=options["md5"],
        sha1=options["sha1"],
        upload_ref=options["upload_ref"],
        file_name=options["file_name"],
        uploaded_at=when,
        viewed=options["viewed"],
        industry_classification=options["industry"],
        user=ReportedUser(esp_identifier=options["user_id"], screen_name=options["screen_name"]),
        upload_ip=IpEvent(options["upload_ip"], at=when) if options["upload_ip"] else None,
        additional_info=options["info"],
    )
    with _filings(settings, "filings.cybertip_draft", target=organisation) as desk:
        report = desk.draft_upload(organisation, _who(options["by"]), facts)
    _echo_json(report.summary())


@ncmec.command("sighting")
@click.argument("organisation")
@click.argument("sighting_id", type=int)
@click.option("--industry", default="", help="A1, A2, B1 or B2 (else the entry's own label).")
@_BY
@click.pass_obj
def ncmec_sighting(
    settings: Settings, organisation: str, sighting_id: int, industry: str, by: str | None
) -> None:
    """Draft a report of a confirmed crawl sighting (when the profile reports sightings)."""
    with _filings(settings, "filings.cybertip_draft", target=f"sighting:{sighting_id}") as desk:
        report = desk.draft_sighting(
            organisation, _who(by), sighting_id, industry_classification=industry
        )
    _echo_json(report.summary())


@ncmec.command("list")
@click.option("--organisation", default=None)
@click.option("--state", "states", multiple=True, type=click.Choice([s.value for s in ReportState]))
@click.option("--limit", type=click.IntRange(1, 10_000), default=100)
@click.pass_obj
def ncmec_list(
    settings: Settings, organisation: str | None, states: tuple[str, ...], limit: int
) -> None:
    chosen = [ReportState(s) for s in states] or None
    with _filings(settings) as desk:
        found = desk.reports(organisation, states=chosen, limit=limit)
    _echo_json([r.summary() for r in found])


@ncmec.command("show")
@click.argument("reference")
@click.option("--xml", "as_xml", is_flag=True, help="The report's XML as it is sent.")
@click.pass_obj
def ncmec_show(settings: Settings, reference: str, as_xml: bool) -> None:
    with _filings(settings, "filings.cybertip_read" if as_xml else None, target=reference) as desk:
        report = desk.report(None, reference)
    if as_xml:
        click.echo(report.report_xml.decode("utf-8"), nl=False)
    else:
        _echo_json(report.summary())


@ncmec.command("act")
@click.argument("action", type=click.Choice(["approve", "cancel", "withdraw", "retry"]))
@click.argument("reference")
@_BY
@click.pass_obj
def ncmec_act(settings: Settings, action: str, reference: str, by: str | None) -> None:
    """An operator's word on a report: approve (a second person), cancel, withdraw, retry."""
    with _filings(settings, f"filings.cybertip_{action}", target=reference) as desk:
        report = desk.act(None, reference, action, _who(by))
    _echo_json(report.summary())


@ncmec.command("schema")
@click.argument("organisation")
@click.option("--environment", type=click.Choice(["test", "production"]), default=None)
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path))
@click.pass_obj
def ncmec_schema(
    settings: Settings, organisation: str, environment: str | None, output: Path | None
) -> None:
    """NCMEC's own XSD, fetched with the organisation's credentials."""
    with _filings(settings) as desk:
        data = desk.ncmec_schema(organisation, environment)
    if output:
        output.write_bytes(data)
        click.echo(f"wrote {output} ({len(data)} bytes)", err=True)
    else:
        click.echo(data.decode("utf-8", errors="replace"), nl=False)


@ncmec.command("check")
@click.argument("reference")
@click.option(
    "--schema",
    type=click.Path(exists=True, dir_okay=False),
    help="An XSD (NCMEC's own, from `ncmec schema`); default: keepdown's.",
)
@click.pass_obj
def ncmec_check(settings: Settings, reference: str, schema: str | None) -> None:
    """Check a stored report's XML against NCMEC's own schema (or keepdown's); exit 65 when
    it is not valid."""
    with _filings(settings) as desk:
        problems = desk.check_report(reference, schema)
    for problem in problems:
        click.echo(problem)
    if problems:
        raise InvalidInput(f"{reference} is not valid against {schema or 'keepdown.xsd'}")
    click.echo(f"{reference}: valid against {schema or 'keepdown.xsd'}")


# --- statements, referrals, goAML ----------------------------------------------------------


@command.command("statements")
@click.option("--organisation", default=None)
@click.option(
    "--state", "states", multiple=True, type=click.Choice([s.value for s in StatementState])
)
@click.option("--limit", type=click.IntRange(1, 10_000), default=100)
@click.pass_obj
def statements(
    settings: Settings, organisation: str | None, states: tuple[str, ...], limit: int
) -> None:
    """Statements of reasons planned and sent, with their counts by state."""
    chosen = [StatementState(s) for s in states] or None
    with _filings(settings) as desk:
        found = desk.statements(organisation, states=chosen, limit=limit)
        counts = desk.statement_counts(organisation)
    _echo_json({"counts": counts, "statements": [s.summary() for s in found]})


@command.command("refer")
@click.option("--to", "to", required=True, type=click.Choice(REFERRAL_RECIPIENTS))
@click.option("--organisation", required=True, help="Who referred (the hotline).")
@click.option("--recipient", default="", help="The agency or hotline (not for ncmec).")
@click.option("--reference", default="", help="The recipient's own case number.")
@click.option("--items", type=click.IntRange(0, 1_000_000), default=0)
@_BY
@click.pass_obj
def refer(
    settings: Settings, /, to: str, organisation: str, by: str | None, **options: Any
) -> None:
    """Record a referral made outside keepdown (it fills the regulator view's field)."""
    with _filings(settings, "filings.referral", target=to) as desk:
        event = desk.refer(to=to, organisation=organisation, by=_who(by), **options)
    _echo_json(event.to_dict())


@command.command("referrals")
@click.option("--period", default=None)
@click.pass_obj
def referrals(settings: Settings, period: str | None) -> None:
    with _filings(settings) as desk:
        found = desk.referrals(period)
    _echo_json([e.to_dict() for e in found])


@command.command("goaml")
@click.argument("organisation")
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path))
@click.pass_obj
def goaml(settings: Settings, organisation: str, output: Path | None) -> None:
    """The goAML report of payment indicators with confirmed sightings, for the FIU."""
    with _filings(settings, "filings.goaml", target=organisation) as desk:
        record = desk.goaml(organisation)
    if output:
        with open_private(output, "wb") as handle:
            handle.write(record.data)
        click.echo(f"wrote {output} ({record.note})", err=True)
    else:
        click.echo(record.data.decode("utf-8"))
        click.echo(record.note, err=True)
