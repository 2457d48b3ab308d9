"""Records for authorities over HTTP (docs/filings.md, docs/api.md).

A **platform** (its own key, role ``platform``) files its own records, and only its own
organisation's (``/api/v1/filings/platform/...``):

- ``GET /profile``, ``PUT /profile/{part}`` (``ncmec`` or ``dsa``): its filing profile
  (credentials by environment-variable name, never a value);
- ``POST /cybertip``: draft a CyberTipline report of an upload, by its hashes, with what the
  platform knows of the account (only a confirmed match is reported);
- ``GET /cybertip``, ``GET /cybertip/{reference}``; ``POST /cybertip/{reference}/{action}``
  (``approve`` by another key than the one that drafted it, ``cancel``, ``withdraw``,
  ``retry``);
- ``GET /statements``: its statements of reasons and their counts by state;
- ``POST /run``: one filing pass of its own records (statements of reasons to the
  Transparency Database, its CyberTipline reports on): ``keepdown regulator file``.

The **operator's** staff (analysts and admins of the operator organisation):

- ``GET /api/v1/filings/records?period=P&organisation=HOTLINE``: the hotline's records of a
  period, each with its signature: ``keepdown regulator hotline``;
- ``GET /api/v1/filings/goaml?organisation=HOTLINE``: the goAML report (XML);
- ``GET|POST /api/v1/filings/referrals``: referrals made outside keepdown;
- ``POST /api/v1/filings/sightings/{sighting_id}/cybertip?organisation=HOTLINE``: report a
  confirmed sighting to NCMEC (when the profile reports sightings);
- ``GET /api/v1/filings/cybertip``, ``POST /api/v1/filings/cybertip/{reference}/{action}``;
- admins: ``GET|PUT /api/v1/filings/profiles/{organisation}[/{part}]``, ``POST
  /api/v1/filings/run`` (every organisation's records, or one's).

Every change and every export is written to the audit log before it runs, then settled.
"""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from keepdown.api.context import get_context
from keepdown.api.deps import audited, principal_of, requires
from keepdown.api.errors import error_responses
from keepdown.auth import Role
from keepdown.errors import NotFound
from keepdown.filings.cybertip_draft import UploadFacts
from keepdown.filings.cybertip_model import IpEvent, ReportedUser, ReportState
from keepdown.filings.desk import FilingDesk
from keepdown.filings.sor_model import StatementState

__all__ = ["router"]

router = APIRouter(prefix="/api/v1/filings", tags=["filings"])

_PLATFORM = requires(Role.PLATFORM)
_STAFF = requires(Role.ANALYST, Role.ADMIN, case_work=True)
_ADMIN = requires(Role.ADMIN, case_work=True)
Action = Literal["approve", "cancel", "withdraw", "retry"]
PlatformPart = Literal["ncmec", "dsa"]
Part = Literal["ncmec", "dsa", "goaml"]
_XML = "application/xml"


class IpIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    ip: str = Field(min_length=2, max_length=64)
    event: Literal["Login", "Registration", "Purchase", "Upload", "Other", "Unknown"] = "Upload"
    at: datetime | None = None
    port: int | None = Field(default=None, ge=0, le=65535)
    possible_proxy: bool | None = None

    def facts(self) -> IpEvent:
        return IpEvent(self.ip, self.event, self.at, self.port, self.possible_proxy)


class UserIn(BaseModel):
    """What the platform knows of the account that uploaded the file (all optional)."""

    model_config = ConfigDict(extra="forbid")

    esp_identifier: str = Field(default="", max_length=255)
    screen_name: str = Field(default="", max_length=255)
    display_name: str = Field(default="", max_length=255)
    emails: list[str] = Field(default_factory=list, max_length=5)
    profile_url: str = Field(default="", max_length=2000)
    ip_events: list[IpIn] = Field(default_factory=list, max_length=20)
    account_disabled: bool | None = None


class UploadReportIn(BaseModel):
    """One upload to report, named by its hashes (keepdown keeps no uploads)."""

    model_config = ConfigDict(extra="forbid")

    sha256: str = Field(min_length=64, max_length=64)
    md5: str = Field(default="", max_length=32)
    sha1: str = Field(default="", max_length=40)
    upload_ref: str = Field(default="", max_length=200, description="Your name of the upload.")
    file_name: str = Field(default="", max_length=255)
    uploaded_at: datetime | None = None
    viewed: bool = Field(default=False, description="A person of yours saw the whole file.")
    publicly_available: bool | None = None
    industry_classification: Literal["", "A1", "A2", "B1", "B2"] = ""
    user: UserIn = Field(default_factory=UserIn)
    upload_ip: IpIn | None = None
    additional_info: str = Field(default="", max_length=3000)
    escalate: str = Field(default="", max_length=3000)

    def facts(self) -> UploadFacts:
        u = self.user
        return UploadFacts(
            sha256=self.sha256,
            md5=self.md5,
            sha1=self.sha1,
            upload_ref=self.upload_ref,
            file_name=self.file_name,
            uploaded_at=self.uploaded_at,
            viewed=self.viewed,
            publicly_available=self.publicly_available,
            industry_classification=self.industry_classification,
            user=ReportedUser(
                esp_identifier=u.esp_identifier,
                screen_name=u.screen_name,
                display_name=u.display_name,
                emails=tuple(u.emails),
                profile_url=u.profile_url,
                ip_events=tuple(i.facts() for i in u.ip_events),
                account_disabled=u.account_disabled,
            ),
            upload_ip=self.upload_ip.facts() if self.upload_ip else None,
            additional_info=self.additional_info,
            escalate=self.escalate,
        )


class ReferralIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    to: Literal["ncmec", "law_enforcement", "hotline"]
    organisation: str = Field(min_length=1, max_length=200, description="Who referred.")
    recipient: str = Field(default="", max_length=200)
    reference: str = Field(default="", max_length=200)
    items: int = Field(default=0, ge=0, le=1_000_000)


def _desk(request: Request) -> FilingDesk:
    return get_context(request).filings


def _by(request: Request) -> str:
    return f"key:{principal_of(request).key_id}"


def _own(request: Request) -> str:
    return principal_of(request).organisation


# --- a platform's own records ------------------------------------------------------------------


@router.get("/platform/profile", dependencies=[_PLATFORM], responses=error_responses(401, 403, 404))
async def platform_profile(request: Request) -> dict[str, Any]:
    found = await run_in_threadpool(_desk(request).profile, _own(request))
    if found is None:
        raise NotFound(f"{_own(request)} has no filing profile")
    return found.to_dict()


@router.put(
    "/platform/profile/{part}", dependencies=[_PLATFORM], responses=error_responses(400, 401, 403)
)
async def platform_set_profile(
    request: Request, part: PlatformPart, values: dict[str, Any]
) -> dict[str, Any]:
    desk, org = _desk(request), _own(request)
    async with audited(request, "filings.profile", target=org, part=part):
        stored = await run_in_threadpool(desk.set_profile, org, part, values, _by(request))
    return stored.to_dict()


@router.post(
    "/platform/cybertip",
    dependencies=[_PLATFORM],
    status_code=201,
    responses=error_responses(400, 401, 403, 409),
)
async def platform_draft(request: Request, body: UploadReportIn) -> dict[str, Any]:
    desk, org = _desk(request), _own(request)
    async with audited(request, "filings.cybertip_draft", target=org) as found:
        report = await run_in_threadpool(desk.draft_upload, org, _by(request), body.facts())
        found["report"] = report.reference
    return report.summary()


@router.get(
    "/platform/cybertip", dependencies=[_PLATFORM], responses=error_responses(400, 401, 403)
)
async def platform_reports(
    request: Request, state: ReportState | None = None, limit: int = Query(100, ge=1, le=1000)
) -> dict[str, Any]:
    states = [state] if state else None
    found = await run_in_threadpool(
        lambda: _desk(request).reports(_own(request), states=states, limit=min(limit, 1000))
    )
    return {"reports": [r.summary() for r in found]}


@router.get(
    "/platform/cybertip/{reference}",
    dependencies=[_PLATFORM],
    responses=error_responses(400, 401, 403, 404),
)
async def platform_report(request: Request, reference: str) -> dict[str, Any]:
    report = await run_in_threadpool(_desk(request).report, _own(request), reference)
    return report.summary()


@router.post(
    "/platform/cybertip/{reference}/{action}",
    dependencies=[_PLATFORM],
    responses=error_responses(400, 401, 403, 404, 409),
)
async def platform_act(request: Request, reference: str, action: Action) -> dict[str, Any]:
    desk, org = _desk(request), _own(request)
    async with audited(request, f"filings.cybertip_{action}", target=reference):
        report = await run_in_threadpool(desk.act, org, reference, action, _by(request))
    return report.summary()


@router.get("/platform/statements", dependencies=[_PLATFORM], responses=error_responses(401, 403))
async def platform_statements(
    request: Request, state: StatementState | None = None, limit: int = Query(100, ge=1, le=1000)
) -> dict[str, Any]:
    return await _statements(request, _own(request), state, limit)


@router.post("/platform/run", dependencies=[_PLATFORM], responses=error_responses(401, 403))
async def platform_run(request: Request) -> dict[str, Any]:
    desk, org = _desk(request), _own(request)
    async with audited(request, "filings.run", target=org):
        return await run_in_threadpool(desk.run, org)


async def _statements(
    request: Request, organisation: str | None, state: StatementState | None, limit: int
) -> dict[str, Any]:
    desk = _desk(request)
    states = [state] if state else None

    def read() -> dict[str, Any]:
        found = desk.statements(organisation, states=states, limit=min(limit, 1000))
        return {
            "counts": desk.statement_counts(organisation),
            "statements": [s.summary() for s in found],
        }

    return await run_in_threadpool(read)


# --- the operator's staff --------------------------------------------------------------------


@router.get("/records", dependencies=[_STAFF], responses=error_responses(400, 401, 403))
async def records(request: Request, period: str, organisation: str | None = None) -> dict[str, Any]:
    """The hotline's records of ``period`` (``keepdown regulator hotline``), each with its
    detached signature (signed reports) and its bytes (``text``, or ``base64``)."""
    desk = _desk(request)
    async with audited(request, "filings.hotline_records", target=period) as found:
        made = await run_in_threadpool(desk.hotline_records, period, organisation)
        found["records"] = len(made)
    out = []
    for r in made:
        item: dict[str, Any] = {"name": r.name, "media_type": r.media_type}
        try:
            item["text"] = r.data.decode("utf-8")
        except UnicodeDecodeError:
            item["base64"] = base64.b64encode(r.data).decode("ascii")
        item["signature"] = r.signature or None
        item["note"] = r.note or None
        out.append(item)
    return {"period": period, "records": out}


@router.get(
    "/goaml",
    dependencies=[_STAFF],
    responses=error_responses(400, 401, 403),
    response_class=Response,
)
async def goaml(request: Request, organisation: str) -> Response:
    desk = _desk(request)
    async with audited(request, "filings.goaml", target=organisation):
        record = await run_in_threadpool(desk.goaml, organisation)
    return Response(record.data, media_type=_XML, headers={"Keepdown-Checked": record.note})


@router.get("/referrals", dependencies=[_STAFF], responses=error_responses(400, 401, 403))
async def referrals(request: Request, period: str | None = None) -> dict[str, Any]:
    found = await run_in_threadpool(_desk(request).referrals, period)
    return {"referrals": [e.to_dict() for e in found]}


@router.post(
    "/referrals", dependencies=[_STAFF], status_code=201, responses=error_responses(400, 401, 403)
)
async def refer(request: Request, body: ReferralIn) -> dict[str, Any]:
    desk = _desk(request)
    async with audited(request, "filings.referral", target=body.to):
        event = await run_in_threadpool(
            lambda: desk.refer(
                to=body.to,
                organisation=body.organisation,
                by=_by(request),
                reference=body.reference,
                recipient=body.recipient,
                items=body.items,
            )
        )
    return event.to_dict()


@router.post(
    "/sightings/{sighting_id}/cybertip",
    dependencies=[_STAFF],
    status_code=201,
    responses=error_responses(400, 401, 403, 404, 409),
)
async def report_sighting(
    request: Request, sighting_id: int, organisation: str, industry_classification: str = ""
) -> dict[str, Any]:
    desk = _desk(request)
    async with audited(request, "filings.cybertip_draft", target=f"sighting:{sighting_id}"):
        report = await run_in_threadpool(
            lambda: desk.draft_sighting(
                organisation,
                _by(request),
                sighting_id,
                industry_classification=industry_classification,
            )
        )
    return report.summary()


@router.get("/cybertip", dependencies=[_STAFF], responses=error_responses(400, 401, 403))
async def reports(
    request: Request,
    organisation: str | None = None,
    state: ReportState | None = None,
    limit: int = Query(100, ge=1, le=1000),
) -> dict[str, Any]:
    states = [state] if state else None
    found = await run_in_threadpool(
        lambda: _desk(request).reports(organisation, states=states, limit=min(limit, 1000))
    )
    return {"reports": [r.summary() for r in found]}


@router.post(
    "/cybertip/{reference}/{action}",
    dependencies=[_STAFF],
    responses=error_responses(400, 401, 403, 404, 409),
)
async def act(request: Request, reference: str, action: Action) -> dict[str, Any]:
    desk = _desk(request)
    async with audited(request, f"filings.cybertip_{action}", target=reference):
        report = await run_in_threadpool(desk.act, None, reference, action, _by(request))
    return report.summary()


@router.get("/statements", dependencies=[_STAFF], responses=error_responses(401, 403))
async def statements(
    request: Request,
    organisation: str | None = None,
    state: StatementState | None = None,
    limit: int = Query(100, ge=1, le=1000),
) -> dict[str, Any]:
    return await _statements(request, organisation, state, limit)


@router.get(
    "/profiles/{organisation}", dependencies=[_ADMIN], responses=error_responses(401, 403, 404)
)
async def profile(request: Request, organisation: str) -> dict[str, Any]:
    found = await run_in_threadpool(_desk(request).profile, organisation)
    if found is None:
        raise NotFound(f"{organisation} has no filing profile")
    return found.to_dict()


@router.put(
    "/profiles/{organisation}/{part}",
    dependencies=[_ADMIN],
    responses=error_responses(400, 401, 403),
)
async def set_profile(
    request: Request, organisation: str, part: Part, values: dict[str, Any]
) -> dict[str, Any]:
    desk = _desk(request)
    async with audited(request, "filings.profile", target=organisation, part=part):
        stored = await run_in_threadpool(desk.set_profile, organisation, part, values, _by(request))
    return stored.to_dict()


@router.post("/run", dependencies=[_ADMIN], responses=error_responses(401, 403))
async def run(request: Request, organisation: str | None = None) -> dict[str, Any]:
    desk = _desk(request)
    async with audited(request, "filings.run", target=organisation or "*"):
        return await run_in_threadpool(desk.run, organisation)
