"""The self-submission page: a person hashes their own pictures on their device and sends only
the hashes (docs/self-submission.md).

1. ``GET /web/self-submission`` shows the page (English and French, usable on a phone). Its
   Content-Security-Policy is stricter than the other pages': scripts and the hashing worker
   from keepdown only, and ``connect-src`` naming the submission endpoint and nothing else,
   so the page could not send a picture anywhere even if it tried.
2. The page's script (``static/js/selfsubmit.js``) hands each picked file to the hashing
   worker (``static/js/selfhash/worker.js``: PDQ with its 8 rotations and mirrors, MD5,
   SHA-256) and sends ``POST /web/self-submission/api/send`` a JSON body of hashes and the
   two answers, nothing else (:func:`keepdown.submissions.form.parse_form` refuses any other
   field). The answer is the case number and the PIN, shown once.
3. ``POST /web/self-submission/api/case`` and ``.../api/withdraw`` take the case number and the
   PIN: the status, or the withdrawal (the hashes leave every bank and feed as tombstones).

Every call is counted against ``self_submission_rate_limit`` under a pseudonym of the client
address (a keyed hash that changes every day, the key held in this process only), never the
address itself. The only cookie is the form's security token (and the language, when chosen).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import secrets
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from keepdown.errors import InputTooLarge, InvalidInput
from keepdown.submissions.model import AgeAtTime, Submission
from keepdown.web.context import web_context
from keepdown.web.i18n import N_
from keepdown.web.render import render
from keepdown.web.security import client_ip, public_form

__all__ = ["API_PREFIX", "page_csp", "router"]

router = APIRouter()

_FORM = public_form()
#: Where the page's script may connect: these endpoints only.
API_PREFIX = "/web/self-submission/api/"
_KEY = secrets.token_bytes(32)  # the pseudonyms' key: this process only, never stored


def page_csp(request: Request) -> str:
    """The page's policy: ``connect-src`` is the submission endpoint of this very server."""
    origin = f"{request.url.scheme}://{request.headers.get('host', request.url.netloc)}"
    return (
        "default-src 'none'; script-src 'self'; worker-src 'self'; style-src 'self'; "
        f"img-src 'self'; connect-src {origin}{API_PREFIX}; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    )


def pseudonym(address: str | None) -> str:
    """The rate limit's key for ``address``: keyed, changing every day (module docstring)."""
    day = dt.datetime.now(dt.UTC).date().isoformat()
    raw = f"{day}|{address or 'unknown'}".encode()
    return hmac.new(_KEY, raw, hashlib.sha256).hexdigest()[:32]


_AGES = (
    (AgeAtTime.UNDER_13, N_("Under 13")),
    (AgeAtTime.FROM_13_TO_15, N_("13 to 15")),
    (AgeAtTime.FROM_16_TO_17, N_("16 or 17")),
    (AgeAtTime.ADULT, N_("18 or older")),
    (AgeAtTime.NOT_SURE, N_("I am not sure")),
    (AgeAtTime.NOT_SAID, N_("I would rather not say")),
)


@router.get("/self-submission", dependencies=[_FORM])
def page(request: Request) -> Response:
    desk = web_context(request).self_submission
    return render(
        request,
        "self_submission.html",
        headers={"content-security-policy": page_csp(request)},
        ages=[(a.value, label) for a, label in _AGES],
        limits=desk.limits,
        api=API_PREFIX,
    )


async def _json(request: Request) -> Any:
    desk = web_context(request).self_submission
    await desk.limit.hit(pseudonym(client_ip(request)))
    body = await request.body()
    if len(body) > desk.limits.max_body_bytes:
        raise InputTooLarge(
            f"the request is over {desk.limits.max_body_bytes} bytes",
            limit=desk.limits.max_body_bytes,
        )
    try:
        return json.loads(body)
    except ValueError as exc:
        raise InvalidInput("the request is not JSON") from exc


def _case(body: Any) -> tuple[str, str]:
    if not isinstance(body, dict):
        raise InvalidInput("give the case number and the PIN")
    number, pin = body.get("case_number"), body.get("pin")
    if not isinstance(number, str) or not isinstance(pin, str):
        raise InvalidInput("give the case number and the PIN")
    return number[:64], pin[:64]


def _status(submission: Submission, removed: int) -> dict[str, Any]:
    return {
        "status": submission.status.value,
        "created_at": submission.created_at.isoformat(),
        "withdrawn_at": submission.withdrawn_at.isoformat() if submission.withdrawn_at else None,
        "pictures": submission.images,
        "videos": submission.videos,
        "copies_removed": removed,
    }


@router.post("/self-submission/api/send", dependencies=[_FORM])
async def send(request: Request) -> Response:
    desk = web_context(request).self_submission
    body = await _json(request)
    receipt = await run_in_threadpool(desk.submit, body)
    return JSONResponse(
        {
            "case_number": receipt.case_number,
            "pin": receipt.pin,
            "pictures": receipt.submission.images,
            "videos": receipt.submission.videos,
            "low_quality": receipt.low_quality,
        },
        status_code=201,
    )


@router.post("/self-submission/api/case", dependencies=[_FORM])
async def case(request: Request) -> Response:
    desk = web_context(request).self_submission
    number, pin = _case(await _json(request))
    submission, removed = await run_in_threadpool(desk.open_case, number, pin)
    return JSONResponse(_status(submission, removed))


@router.post("/self-submission/api/withdraw", dependencies=[_FORM])
async def withdraw(request: Request) -> Response:
    desk = web_context(request).self_submission
    number, pin = _case(await _json(request))
    submission, removed = await run_in_threadpool(desk.withdraw, number, pin)
    return JSONResponse(_status(submission, removed))
