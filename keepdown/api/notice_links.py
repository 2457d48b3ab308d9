"""The signed link a notice carries: a provider answers without an account.

``/api/v1/notice-response...`` is authenticated by the signed, expiring token in the link
(``?token=``, see :mod:`keepdown.notices.links`) and by nothing else: no API key is accepted
there. A missing, malformed, forged or expired token answers 401; a valid token for a notice
that does not exist (or is another provider's) is refused as not found; an API key presented
without a token answers 403 (valid key, wrong kind of credential). The token admits to its
own notice only: read it, acknowledge it, report a location removed, dispute one.

Two ways to use it, both on the same URLs:

- **a browser**: ``GET`` with ``Accept: text/html`` shows a plain HTML page (no script) with
  one form per answer; a form posts ``application/x-www-form-urlencoded`` and is answered by a
  redirect (303) back to the page, which says what was recorded;
- **a program**: ``GET`` answers the notice as JSON; answers are posted as JSON.

Why this is safe against cross-site request forgery: no cookie or other ambient credential
is involved, so a forged request would need the token itself. In depth: an answer posted
with the ``Origin`` of another site (whatever its content type: a ``text/plain`` post is sent
cross-site without a preflight too) is refused (403), the page may not be framed
(clickjacking), and it is sent with ``Referrer-Policy: no-referrer`` and ``Cache-Control:
no-store`` so the token does not leak to other sites or caches.
"""

from __future__ import annotations

import contextlib
import json
from typing import Any
from urllib.parse import parse_qsl, quote, urlsplit

from fastapi import APIRouter, Depends, Request, Security
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.security import APIKeyQuery
from pydantic import BaseModel, ValidationError
from starlette.concurrency import run_in_threadpool

from keepdown.api.context import get_context
from keepdown.api.deps import audited
from keepdown.api.errors import error_responses
from keepdown.api.notice_schemas import DisputeIn, LocationIn, NoticeOut
from keepdown.auth import Principal, Role
from keepdown.auth import keys as key_tokens
from keepdown.errors import AuthError, Forbidden, InvalidInput, NotFound
from keepdown.notices.links import LinkClaims
from keepdown.notices.model import Notice
from keepdown.notices.providers import Provider
from keepdown.notices.response_page import render_response_page
from keepdown.notices.service import NoticeService

__all__ = ["router", "signed_link"]

router = APIRouter(prefix="/api/v1", tags=["notices"])  # served by keepdown.api.notices

BASE = "/api/v1/notice-response"
_FORM = "application/x-www-form-urlencoded"
_PAGE_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
}

_token_doc = APIKeyQuery(
    name="token",
    scheme_name="noticeLink",
    description="The signed token of a notice's response link (no API key is accepted).",
    auto_error=False,
)


def signed_link() -> Any:
    """A dependency admitting the bearer of a valid notice link, and nobody else.

    It declares no API-key role (``allowed_roles`` is empty), so the auth walk checks that
    every API key is refused here; the token itself is checked by the link signer."""

    async def claims(request: Request, token: str | None = Security(_token_doc)) -> LinkClaims:
        ctx = get_context(request)
        if not token:
            # No link: a valid API key is the wrong credential (403); anything else is 401.
            ctx.auth.authenticate(key_tokens.from_header(request.headers.get("authorization")))
            raise Forbidden("this endpoint takes a notice's signed link, not an API key")
        if len(token) > 1000:
            raise AuthError("this response link is not valid")
        found = ctx.notice_links.check(token)
        request.state.link = found
        request.state.link_token = token
        return found

    claims.allowed_roles = frozenset()  # type: ignore[attr-defined]
    claims.signed_link = True  # type: ignore[attr-defined]
    return Depends(claims)


_LINK = signed_link()


def _body_doc(model: type[BaseModel] | None) -> dict[str, Any]:
    """OpenAPI: the answer may come as JSON or as an HTML form."""
    schema = model.model_json_schema() if model is not None else {"type": "object"}
    return {
        "requestBody": {
            "required": model is not None,
            "content": {"application/json": {"schema": schema}, _FORM: {"schema": schema}},
        }
    }


def _is_form(request: Request) -> bool:
    return request.headers.get("content-type", "").split(";")[0].strip() == _FORM


def _check_origin(request: Request) -> None:
    """Refuse an answer posted from another site (defence in depth, module docstring); a
    program sends no ``Origin`` and is not concerned."""
    origin = request.headers.get("origin")
    if not origin or origin == "null":
        return
    ctx = get_context(request)
    public = urlsplit(ctx.settings.notice_public_base_url)
    allowed = {f"{public.scheme}://{public.netloc}", str(request.base_url).rstrip("/")}
    if origin.rstrip("/") not in allowed:
        raise Forbidden("this form was posted from another site")


async def _answer(request: Request, model: type[BaseModel] | None) -> Any:
    """The answer's fields, from JSON or from a form, checked by ``model``."""
    raw = await request.body()
    if len(raw) > 16_384:
        raise InvalidInput("this answer is too long")
    _check_origin(request)  # every post, not only forms: a text/plain one is a form too
    if _is_form(request):
        values: Any = dict(parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True))
    else:
        try:
            values = json.loads(raw) if raw.strip() else {}
        except ValueError as exc:
            raise InvalidInput("the answer is not valid JSON") from exc
    if model is None:
        return None
    try:
        return model.model_validate(values)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"])
        raise InvalidInput(f"{field}: {first['msg']}", field=field) from None


async def _linked_notice(request: Request, claims: LinkClaims) -> tuple[NoticeService, Notice]:
    service = get_context(request).notices
    try:
        notice = await run_in_threadpool(service.store.get, claims.reference)
    except NotFound:
        raise NotFound("the notice of this link does not exist") from None
    if notice.provider_id != claims.provider_id:
        raise NotFound("the notice of this link does not exist")
    return service, notice


def _audited(
    request: Request, action: str, notice: Notice, **details: Any
) -> contextlib.AbstractAsyncContextManager[dict[str, Any]]:
    """Audit an answer given through a signed link, write-ahead (the actor is the link, not a
    key): recorded before the answer changes the notice, settled with its outcome."""
    who = Principal(key_id="signed-link", organisation=notice.provider, role=Role.PROVIDER)
    return audited(request, action, notice.reference, principal=who, **details)


def _page_url(request: Request, done: str | None = None) -> str:
    url = f"{BASE}?token={quote(request.state.link_token)}"
    return url + (f"&done={quote(done)}" if done else "")


def _answered(request: Request, notice: Notice, done: str) -> Response:
    """JSON for a program; back to the page (303) for a browser's form."""
    if _is_form(request):
        return RedirectResponse(_page_url(request, done), status_code=303, headers=_PAGE_HEADERS)
    return Response(NoticeOut.of(notice).model_dump_json(), media_type="application/json")


def _wants_html(request: Request) -> bool:
    accept = request.headers.get("accept", "")
    return "text/html" in accept and "application/json" not in accept.split(",")[0]


@router.get(
    "/notice-response",
    response_model=NoticeOut,
    summary="The notice a signed link was issued for: JSON, or an HTML page with forms",
    responses={
        **error_responses(400, 401, 403, 404),
        200: {"content": {"application/json": {}, "text/html": {}}},
    },
    dependencies=[_LINK],
)
async def read_linked_notice(request: Request, done: str | None = None) -> Any:
    claims: LinkClaims = request.state.link
    _, notice = await _linked_notice(request, claims)
    if not _wants_html(request):
        return NoticeOut.of(notice)
    signer = get_context(request).notice_links
    actions = {a: f"{BASE}/{a}?token={quote(request.state.link_token)}" for a in _ACTIONS}
    page = render_response_page(
        notice,
        actions=actions,
        expires_at=claims.issued_at + signer.valid_for,
        done=done if done in _ACTIONS else None,
    )
    return HTMLResponse(page, headers=_PAGE_HEADERS)


_ACTIONS = ("acknowledge", "removed", "dispute")


@router.get(
    "/notice-response/evidence",
    summary="The evidence behind this notice: its events and their place in the chain, signed",
    responses=error_responses(401, 403, 404),
    dependencies=[_LINK],
)
async def linked_evidence(request: Request) -> Response:
    """A provider's own evidence for the notice of its link (keepdown.api.evidence)."""
    _, notice = await _linked_notice(request, request.state.link)
    evidence = get_context(request).evidence
    provider = Provider(
        name=notice.provider, id=notice.provider_id, country=notice.provider_country
    )
    async with _audited(request, "evidence.notice", notice):
        document = await run_in_threadpool(
            lambda: evidence.for_providers([provider], notice_ref=notice.reference)
        )
    return Response(
        json.dumps(document, ensure_ascii=False),
        media_type="application/json",
        headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"},
    )


@router.post(
    "/notice-response/acknowledge",
    response_model=NoticeOut,
    summary="Acknowledge the notice (signed link only; JSON or form)",
    responses=error_responses(400, 401, 403, 404, 409),
    dependencies=[_LINK],
    openapi_extra=_body_doc(None),
)
async def acknowledge_linked(request: Request) -> Response:
    service, notice = await _linked_notice(request, request.state.link)
    await _answer(request, None)
    async with _audited(request, "notice.acknowledge", notice):
        changed = await run_in_threadpool(
            lambda: service.acknowledge(notice.reference, provider_id=notice.provider_id)
        )
    return _answered(request, changed, "acknowledge")


@router.post(
    "/notice-response/removed",
    response_model=NoticeOut,
    summary="Report a location removed; it is re-checked at once (signed link only)",
    responses=error_responses(400, 401, 403, 404, 409),
    dependencies=[_LINK],
    openapi_extra=_body_doc(LocationIn),
)
async def removed_linked(request: Request) -> Response:
    service, notice = await _linked_notice(request, request.state.link)
    body = await _answer(request, LocationIn)
    async with _audited(request, "notice.removed", notice, location_id=body.location_id):
        changed = await run_in_threadpool(
            lambda: service.report_removed(
                notice.reference, body.location_id, provider_id=notice.provider_id
            )
        )
    return _answered(request, changed, "removed")


@router.post(
    "/notice-response/dispute",
    response_model=NoticeOut,
    summary="Dispute a location; an analyst reviews it (signed link only)",
    responses=error_responses(400, 401, 403, 404, 409),
    dependencies=[_LINK],
    openapi_extra=_body_doc(DisputeIn),
)
async def dispute_linked(request: Request) -> Response:
    service, notice = await _linked_notice(request, request.state.link)
    body = await _answer(request, DisputeIn)
    async with _audited(request, "notice.dispute", notice, location_id=body.location_id):
        changed = await run_in_threadpool(
            lambda: service.dispute(
                notice.reference, body.location_id, body.reason, provider_id=notice.provider_id
            )
        )
    return _answered(request, changed, "dispute")
