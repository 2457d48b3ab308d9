"""The provider registry: who hosts content, how notices reach them, how patiently.

Admins and analysts create, read and edit providers. A provider-role key sees only the
providers linked to its organisation (another provider's name answers 404, as if it did not
exist). The webhook secret is stored encrypted (keepdown.notices.sealing) and never returned
afterwards: answers say only whether one is set. A webhook provider created without a secret
gets a new random one, and ``rotate_webhook_secret`` in a PATCH makes a new one: that answer,
and only that one, carries it (``webhook_secret``), to hand to the provider.

``GET /api/v1/unattributed`` lists confirmed sightings no registry entry covers yet, so an
analyst can add the provider (then the next send pass drafts their notices).
"""

from __future__ import annotations

import secrets
from dataclasses import asdict, replace
from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from keepdown.api.context import get_context
from keepdown.api.deps import audited, requires
from keepdown.api.errors import error_responses
from keepdown.auth import Principal, Role
from keepdown.errors import NotFound
from keepdown.notices.providers import (
    DEFAULT_ESCALATE_MINUTES,
    DEFAULT_RECHECK_MINUTES,
    DEFAULT_RENOTICE_MINUTES,
    MAX_CADENCE_MINUTES,
    Provider,
    ProviderStore,
    hours_as_minutes,
)

__all__ = ["router"]

router = APIRouter(prefix="/api/v1", tags=["providers"])

_STAFF = requires(Role.ADMIN, Role.ANALYST, case_work=True)
_READERS = requires(Role.ADMIN, Role.ANALYST, Role.PROVIDER, case_work=True)

ChannelName = Literal["email", "webhook", "manual"]
LanguageName = Literal["en", "fr"]
TargetName = Literal["upstream", "registrar", "cdn", "hotline", "regulator"]
ForbiddenMeaning = Literal["confirm", "removed", "error"]
UnmatchedMeaning = Literal["confirm", "removed"]
_HOURS: Any = Field(
    default=None,
    ge=1,
    le=MAX_CADENCE_MINUTES // 60,
    description="Whole hours (older clients); the *_minutes field is preferred.",
)
_LIST: Any = Field(default_factory=list, max_length=1000)
#: Fields a PATCH may clear with null; null for any other field means "unchanged".
_NULLABLE = frozenset({"webhook_url", "escalation_target", "escalation_contact", "organisation"})


class ProviderFields(BaseModel):
    """Every editable field (a PATCH sends only the fields it changes)."""

    ip_ranges: list[str] = _LIST
    asns: list[int] = _LIST
    domains: list[str] = _LIST
    abuse_contacts: list[str] = _LIST
    channel: ChannelName = "email"
    webhook_url: str | None = Field(default=None, max_length=2000)
    webhook_secret: str | None = Field(
        default=None, min_length=16, max_length=200, description="Write-only."
    )
    language: LanguageName = "en"
    country: str = Field(default="", max_length=2)
    recheck_minutes: int = Field(
        default=DEFAULT_RECHECK_MINUTES,
        ge=1,
        le=MAX_CADENCE_MINUTES,
        description="Re-check every so many minutes (never more often than the operator's "
        "notice_recheck_floor_minutes).",
    )
    renotice_minutes: int = Field(default=DEFAULT_RENOTICE_MINUTES, ge=1, le=MAX_CADENCE_MINUTES)
    escalate_minutes: int = Field(default=DEFAULT_ESCALATE_MINUTES, ge=1, le=MAX_CADENCE_MINUTES)
    recheck_hours: int | None = _HOURS
    renotice_hours: int | None = _HOURS
    escalate_hours: int | None = _HOURS
    forbidden_means: ForbiddenMeaning = "confirm"
    unmatched_means: UnmatchedMeaning = "confirm"
    escalation_target: TargetName | None = None
    escalation_contact: str | None = Field(default=None, max_length=320)
    organisation: str | None = Field(default=None, max_length=200)
    notes: str = Field(default="", max_length=10_000)


class ProviderIn(ProviderFields):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=200)


class ProviderPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str | None = Field(default=None, min_length=1, max_length=200)
    ip_ranges: list[str] | None = Field(default=None, max_length=1000)
    asns: list[int] | None = Field(default=None, max_length=1000)
    domains: list[str] | None = Field(default=None, max_length=1000)
    abuse_contacts: list[str] | None = Field(default=None, max_length=1000)
    channel: ChannelName | None = None
    webhook_url: str | None = Field(default=None, max_length=2000)
    webhook_secret: str | None = Field(default=None, min_length=16, max_length=200)
    language: LanguageName | None = None
    country: str | None = Field(default=None, max_length=2)
    recheck_minutes: int | None = Field(default=None, ge=1, le=MAX_CADENCE_MINUTES)
    renotice_minutes: int | None = Field(default=None, ge=1, le=MAX_CADENCE_MINUTES)
    escalate_minutes: int | None = Field(default=None, ge=1, le=MAX_CADENCE_MINUTES)
    recheck_hours: int | None = _HOURS
    renotice_hours: int | None = _HOURS
    escalate_hours: int | None = _HOURS
    forbidden_means: ForbiddenMeaning | None = None
    unmatched_means: UnmatchedMeaning | None = None
    escalation_target: TargetName | None = None
    escalation_contact: str | None = Field(default=None, max_length=320)
    organisation: str | None = Field(default=None, max_length=200)
    notes: str | None = Field(default=None, max_length=10_000)
    rotate_webhook_secret: bool = Field(
        default=False, description="Make a new webhook secret; this answer shows it once."
    )


class ProviderOut(BaseModel):
    id: int
    name: str
    ip_ranges: list[str]
    asns: list[int]
    domains: list[str]
    abuse_contacts: list[str]
    channel: str
    webhook_url: str | None
    webhook_secret_set: bool
    language: str
    country: str
    recheck_minutes: int
    renotice_minutes: int
    escalate_minutes: int
    forbidden_means: str
    unmatched_means: str
    escalation_target: str | None
    escalation_contact: str | None
    organisation: str | None
    notes: str
    created_at: datetime | None
    updated_at: datetime | None

    @classmethod
    def of(cls, provider: Provider) -> ProviderOut:
        return cls(**provider.to_public())


class ProviderSecretOut(ProviderOut):
    """A provider as created or edited: ``webhook_secret`` is set only when keepdown just
    made one (shown this once; store it with the provider's webhook receiver)."""

    webhook_secret: str | None = None


class ProviderList(BaseModel):
    providers: list[ProviderOut]


class UnattributedOut(BaseModel):
    host: str
    server_ip: str | None
    sightings: int
    first_seen_at: datetime
    last_seen_at: datetime
    rdap_provider: str | None
    asn: int | None
    network: str | None
    country: str
    abuse_email: str | None


class UnattributedList(BaseModel):
    hosts: list[UnattributedOut]


def _store(request: Request) -> ProviderStore:
    return get_context(request).providers


def _visible(provider: Provider, who: Principal) -> bool:
    return who.role is not Role.PROVIDER or provider.organisation == who.organisation


@router.get(
    "/providers",
    response_model=ProviderList,
    summary="List providers (a provider key: its own only)",
    responses=error_responses(400, 401, 403, 429),
    dependencies=[_READERS],
)
async def list_providers(request: Request) -> ProviderList:
    who: Principal = request.state.principal
    org = who.organisation if who.role is Role.PROVIDER else None
    found = await run_in_threadpool(lambda: _store(request).list_providers(organisation=org))
    return ProviderList(providers=[ProviderOut.of(p) for p in found])


def new_webhook_secret() -> str:
    return secrets.token_urlsafe(32)


@router.post(
    "/providers",
    response_model=ProviderSecretOut,
    status_code=201,
    summary="Add a provider to the registry",
    responses=error_responses(400, 401, 403, 404, 409, 429),
    dependencies=[_STAFF],
)
async def create_provider(request: Request, body: ProviderIn) -> ProviderSecretOut:
    ctx = get_context(request)
    made = None
    if body.channel == "webhook" and body.webhook_secret is None:
        made = new_webhook_secret()
    fields = {**body.model_dump(exclude={"recheck_hours", "renotice_hours", "escalate_hours"})}
    fields.update(hours_as_minutes(body.model_dump(exclude_unset=True)))
    provider = Provider(**{**fields, "webhook_secret": made or body.webhook_secret})
    async with audited(request, "provider.create", target=body.name, secret_made=bool(made)):
        stored = await run_in_threadpool(_store(request).add, provider, ctx.clock.now())
    return ProviderSecretOut(**stored.to_public(), webhook_secret=made)


@router.get(
    "/providers/{name}",
    response_model=ProviderOut,
    summary="Show one provider (never its webhook secret)",
    responses=error_responses(400, 401, 403, 404, 429),
    dependencies=[_READERS],
)
async def show_provider(request: Request, name: str) -> ProviderOut:
    found = await run_in_threadpool(_store(request).get, name)
    if not _visible(found, request.state.principal):
        raise NotFound(f"no provider named {name!r}")
    return ProviderOut.of(found)


@router.patch(
    "/providers/{name}",
    response_model=ProviderSecretOut,
    summary="Change some fields of a provider",
    responses=error_responses(400, 401, 403, 404, 409, 429),
    dependencies=[_STAFF],
)
async def edit_provider(request: Request, name: str, body: ProviderPatch) -> ProviderSecretOut:
    ctx = get_context(request)
    store = _store(request)
    changes = hours_as_minutes(
        {
            k: v
            for k, v in body.model_dump(
                exclude_unset=True, exclude={"rotate_webhook_secret"}
            ).items()
            if v is not None or k in _NULLABLE
        }
    )
    made = new_webhook_secret() if body.rotate_webhook_secret else None
    if made is not None:
        changes["webhook_secret"] = made

    def edit() -> Provider:
        current = store.get(name)
        return store.update(replace(current, **changes), ctx.clock.now())

    async with audited(request, "provider.edit", target=name, fields=sorted(changes)) as found:
        stored = await run_in_threadpool(edit)
        found["name"] = stored.name
    return ProviderSecretOut(**stored.to_public(), webhook_secret=made)


@router.get(
    "/unattributed",
    response_model=UnattributedList,
    summary="Hosts of confirmed sightings no registry entry covers (for analysts to add)",
    responses=error_responses(400, 401, 403, 429),
    dependencies=[_STAFF],
)
async def unattributed(request: Request) -> UnattributedList:
    hosts = await run_in_threadpool(get_context(request).notices.unattributed)
    return UnattributedList(hosts=[UnattributedOut(**asdict(h)) for h in hosts])
