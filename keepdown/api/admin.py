"""Organisations, API keys and the audit log, for admin keys.

A new key's token is in the creation answer only; it is stored as a digest and cannot be shown
again. Every call here is recorded in the audit log, listings included, write-ahead (see
:func:`keepdown.api.deps.audited`). Organisations are kept apart (:mod:`keepdown.auth.scope`):
the operator organisation's admins manage everyone; another organisation's admins see and
manage only their own organisation, its keys and its own audit records. A key of another
organisation answers 404, as if it did not exist.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from keepdown.api.context import get_context
from keepdown.api.deps import ROW_ID_MAX, audited, requires, scope_of
from keepdown.api.errors import error_responses
from keepdown.auth import ApiKey, Role, parse_duration
from keepdown.errors import NotFound

__all__ = ["router"]

router = APIRouter(prefix="/api/v1", tags=["admin"])


class OrganisationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=200)


class OrganisationOut(BaseModel):
    name: str
    created_at: datetime


class OrganisationList(BaseModel):
    organisations: list[OrganisationOut]


class KeyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    organisation: str = Field(min_length=1, max_length=200)
    role: Role
    expires_in: str | None = Field(default="90d", description="e.g. 90d, 12h; null = never")
    label: str = Field(default="", max_length=200)


class KeyOut(BaseModel):
    key_id: str
    organisation: str
    role: Role
    label: str
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None

    @classmethod
    def of(cls, key: ApiKey) -> KeyOut:
        return cls(
            key_id=key.key_id,
            organisation=key.organisation,
            role=key.role,
            label=key.label,
            created_at=key.created_at,
            expires_at=key.expires_at,
            revoked_at=key.revoked_at,
        )


class IssuedKeyOut(KeyOut):
    token: str = Field(description="The API key. Shown once: it is stored only as a digest.")


class KeyList(BaseModel):
    keys: list[KeyOut]


class AuditOut(BaseModel):
    id: int | None
    at: datetime
    action: str
    actor: str
    organisation: str | None
    role: str | None
    client_ip: str | None
    target: str
    outcome: str
    details: dict[str, object]


class AuditList(BaseModel):
    records: list[AuditOut]
    next_before: int | None = Field(
        description="Pass as ?before= for the next (older) page; null at the end"
    )


_ADMIN = requires(Role.ADMIN)


@router.post(
    "/organisations",
    response_model=OrganisationOut,
    status_code=201,
    summary="Create an organisation (operator organisation only)",
    responses=error_responses(400, 401, 403, 409, 413, 429, 503),
    dependencies=[_ADMIN],
)
async def create_organisation(request: Request, body: OrganisationIn) -> OrganisationOut:
    scope_of(request).require_operator("create organisations")
    async with audited(request, "organisation.create", target=body.name):
        org = await run_in_threadpool(get_context(request).auth.add_organisation, body.name)
    return OrganisationOut(name=org.name, created_at=org.created_at)


@router.get(
    "/organisations",
    response_model=OrganisationList,
    summary="List organisations (another organisation's admins see their own only)",
    responses=error_responses(400, 401, 403, 429, 503),
    dependencies=[_ADMIN],
)
async def list_organisations(request: Request) -> OrganisationList:
    scope = scope_of(request)
    async with audited(request, "organisation.list") as found:
        orgs = await run_in_threadpool(get_context(request).auth.store.list_organisations)
        orgs = [o for o in orgs if scope.own(o.name)]
        found["count"] = len(orgs)
    return OrganisationList(
        organisations=[OrganisationOut(name=o.name, created_at=o.created_at) for o in orgs]
    )


@router.post(
    "/keys",
    response_model=IssuedKeyOut,
    status_code=201,
    summary="Issue an API key (its token is shown once)",
    responses=error_responses(400, 401, 403, 404, 413, 429, 503),
    dependencies=[_ADMIN],
)
async def create_key(request: Request, body: KeyIn) -> IssuedKeyOut:
    scope_of(request).require_own(body.organisation, "issue keys")
    expires = parse_duration(body.expires_in) if body.expires_in else None
    auth = get_context(request).auth
    details: dict[str, Any] = {"role": body.role.value, "organisation": body.organisation}
    async with audited(request, "key.create", **details) as found:
        issued = await run_in_threadpool(
            lambda: auth.issue_key(
                body.organisation, body.role, expires_in=expires, label=body.label
            )
        )
        found["key_id"] = issued.key.key_id
    return IssuedKeyOut(**KeyOut.of(issued.key).model_dump(), token=issued.token)


@router.get(
    "/keys",
    response_model=KeyList,
    summary="List API keys (never their secrets)",
    responses=error_responses(400, 401, 403, 429, 503),
    dependencies=[_ADMIN],
)
async def list_keys(
    request: Request, organisation: str | None = Query(None, max_length=200)
) -> KeyList:
    only = scope_of(request).filter_organisation(organisation)
    async with audited(request, "key.list", organisation=only) as found:
        keys = await run_in_threadpool(get_context(request).auth.list_keys, only)
        found["count"] = len(keys)
    return KeyList(keys=[KeyOut.of(k) for k in keys])


@router.delete(
    "/keys/{key_id}",
    response_model=KeyOut,
    summary="Revoke an API key",
    responses=error_responses(400, 401, 403, 404, 429, 503),
    dependencies=[_ADMIN],
)
async def revoke_key(request: Request, key_id: str) -> KeyOut:
    auth, scope = get_context(request).auth, scope_of(request)

    def revoke() -> ApiKey:
        if not scope.own(auth.store.get_key(key_id).organisation):
            raise NotFound(f"no API key {key_id!r}", key_id=key_id)
        return auth.revoke_key(key_id)

    async with audited(request, "key.revoke", target=key_id):
        key = await run_in_threadpool(revoke)
    return KeyOut.of(key)


@router.get(
    "/audit",
    response_model=AuditList,
    summary="Read the audit log, newest first (another organisation: its own records)",
    responses=error_responses(400, 401, 403, 429, 503),
    dependencies=[_ADMIN],
)
async def read_audit(
    request: Request,
    limit: int = Query(100, ge=1, le=1000),
    action: str | None = Query(None, max_length=64),
    before: int | None = Query(None, ge=1, le=ROW_ID_MAX, description="Records older than this id"),
) -> AuditList:
    ctx, scope = get_context(request), scope_of(request)
    only = None if scope.is_operator else scope.organisation
    async with audited(request, "audit.read", only_action=action, before=before) as found:
        records = await run_in_threadpool(
            lambda: ctx.auth.audit_log.list_records(
                limit=limit + 1, action=action, organisation=only, before=before
            )
        )
        found["count"] = min(len(records), limit)
    page = records[:limit]
    return AuditList(
        records=[AuditOut(**r.to_dict()) for r in page],
        next_before=page[-1].id if len(records) > limit else None,
    )
