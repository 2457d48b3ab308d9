"""Organisations, API keys and the audit log, for admin keys.

A new key's token is in the creation answer only; it is stored as a digest and cannot be shown
again. Every call here is recorded in the audit log (listing it included).
"""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from keepdown.api.context import get_context
from keepdown.api.deps import audit, requires
from keepdown.api.errors import error_responses
from keepdown.auth import ApiKey, Role, parse_duration

__all__ = ["router"]

router = APIRouter(prefix="/api/v1", tags=["admin"])


class OrganisationIn(BaseModel):
    name: str = Field(min_length=1, max_length=200)


class OrganisationOut(BaseModel):
    name: str
    created_at: datetime


class OrganisationList(BaseModel):
    organisations: list[OrganisationOut]


class KeyIn(BaseModel):
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


_ADMIN = requires(Role.ADMIN)


@router.post(
    "/organisations",
    response_model=OrganisationOut,
    status_code=201,
    summary="Create an organisation",
    responses=error_responses(400, 401, 403, 409, 429),
    dependencies=[_ADMIN],
)
async def create_organisation(request: Request, body: OrganisationIn) -> OrganisationOut:
    org = await run_in_threadpool(get_context(request).auth.add_organisation, body.name)
    audit(request, "organisation.create", target=org.name)
    return OrganisationOut(name=org.name, created_at=org.created_at)


@router.get(
    "/organisations",
    response_model=OrganisationList,
    summary="List organisations",
    responses=error_responses(400, 401, 403, 429),
    dependencies=[_ADMIN],
)
async def list_organisations(request: Request) -> OrganisationList:
    orgs = await run_in_threadpool(get_context(request).auth.store.list_organisations)
    return OrganisationList(
        organisations=[OrganisationOut(name=o.name, created_at=o.created_at) for o in orgs]
    )


@router.post(
    "/keys",
    response_model=IssuedKeyOut,
    status_code=201,
    summary="Issue an API key (its token is shown once)",
    responses=error_responses(400, 401, 403, 404, 429),
    dependencies=[_ADMIN],
)
async def create_key(request: Request, body: KeyIn) -> IssuedKeyOut:
    expires = parse_duration(body.expires_in) if body.expires_in else None
    issued = await run_in_threadpool(
        lambda: get_context(request).auth.issue_key(
            body.organisation, body.role, expires_in=expires, label=body.label
        )
    )
    audit(
        request,
        "key.create",
        target=issued.key.key_id,
        role=body.role.value,
        organisation=body.organisation,
    )
    return IssuedKeyOut(**KeyOut.of(issued.key).model_dump(), token=issued.token)


@router.get(
    "/keys",
    response_model=KeyList,
    summary="List API keys (never their secrets)",
    responses=error_responses(400, 401, 403, 429),
    dependencies=[_ADMIN],
)
async def list_keys(
    request: Request, organisation: str | None = Query(None, max_length=200)
) -> KeyList:
    keys = await run_in_threadpool(get_context(request).auth.list_keys, organisation)
    return KeyList(keys=[KeyOut.of(k) for k in keys])


@router.delete(
    "/keys/{key_id}",
    response_model=KeyOut,
    summary="Revoke an API key",
    responses=error_responses(400, 401, 403, 404, 429),
    dependencies=[_ADMIN],
)
async def revoke_key(request: Request, key_id: str) -> KeyOut:
    key = await run_in_threadpool(get_context(request).auth.revoke_key, key_id)
    audit(request, "key.revoke", target=key_id)
    return KeyOut.of(key)


@router.get(
    "/audit",
    response_model=AuditList,
    summary="Read the audit log (newest first)",
    responses=error_responses(400, 401, 403, 429),
    dependencies=[_ADMIN],
)
async def read_audit(
    request: Request,
    limit: int = Query(100, ge=1, le=1000),
    action: str | None = Query(None, max_length=64),
) -> AuditList:
    ctx = get_context(request)
    records = await run_in_threadpool(
        lambda: ctx.auth.audit_log.list_records(limit=limit, action=action)
    )
    audit(request, "audit.read")
    return AuditList(records=[AuditOut(**r.to_dict()) for r in records])
