"""The review item's media, fetched live through the server and never stored.

Both routes admit only the analyst who holds the item right now:

1. fetch the media URL through the crawler's SSRF-guarded fetcher (the analyst's browser
   never contacts the site), at most ``review_media_max_bytes``;
2. render it on the server (:func:`keepdown.hashing.preview.render_preview`) in memory:
   ``/media`` small, blurred (the analyst's blur strength) and grayscale (their setting);
   ``/media/revealed`` unblurred, and only once the reveal is recorded (``revealed_at`` is set
   by :meth:`ReviewService.reveal` after the audit record is written); each fetch of it is
   recorded too (``review.media_view``);
3. answer a fresh JPEG with ``Cache-Control: no-store``; nothing is written to disk.

A fetch or decoding failure answers 502 or 422 with no body; the page says the media could
not be shown.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from keepdown.auth.signin import SignedIn
from keepdown.errors import Forbidden, KeepdownError
from keepdown.hashing.preview import render_preview
from keepdown.web.context import web_context
from keepdown.web.nav import STAFF
from keepdown.web.paging import RowId
from keepdown.web.security import client_ip, page

__all__ = ["router"]

router = APIRouter()

_REVIEWER = page(*STAFF, case_work=True)


async def _media(
    request: Request, viewer: SignedIn, sighting_id: int, *, revealed: bool
) -> Response:
    ctx = web_context(request)
    item = await run_in_threadpool(ctx.review.held, viewer.user.username, sighting_id)
    if revealed and item.revealed_at is None:
        raise Forbidden("reveal the media first (the reveal is recorded)")
    prefs = await run_in_threadpool(ctx.review.prefs, viewer.user.username)
    settings = ctx.settings
    try:
        data, _ = await ctx.fetch_media(item.media_url, settings.review_media_max_bytes)
        preview = await run_in_threadpool(
            lambda: render_preview(
                data,
                max_side=int(
                    settings.review_reveal_max_side
                    if revealed
                    else settings.review_preview_max_side
                ),
                blur=0 if revealed else prefs.blur,
                grayscale=prefs.grayscale,
                settings=settings,
            )
        )
    except KeepdownError as exc:
        status = 422 if exc.http_status in (413, 422) else 502
        return Response(status_code=status, headers={"X-Keepdown-Error": exc.code})
    return Response(
        preview.jpeg,
        media_type="image/jpeg",
        headers={"Cache-Control": "no-store", "Content-Disposition": "inline"},
    )


@router.get("/review/{sighting_id}/media")
async def blurred(request: Request, sighting_id: RowId, viewer: SignedIn = _REVIEWER) -> Response:
    return await _media(request, viewer, sighting_id, revealed=False)


@router.get("/review/{sighting_id}/media/revealed")
async def revealed(request: Request, sighting_id: RowId, viewer: SignedIn = _REVIEWER) -> Response:
    """Every fetch of the unblurred media is an audit record of its own (``review.media_view``,
    write-ahead): the reveal opens the way, but a direct URL fetched again later in the claim
    is not a view nobody recorded (issue 16, item 15)."""
    auth = web_context(request).auth
    record = await run_in_threadpool(
        lambda: auth.begin_audit(
            "review.media_view",
            principal=viewer.user.principal(),
            client_ip=client_ip(request),
            target=f"sighting:{sighting_id}",
        )
    )
    try:
        response = await _media(request, viewer, sighting_id, revealed=True)
    except BaseException as exc:
        await run_in_threadpool(auth.settle_audit, record, exc)
        raise
    await run_in_threadpool(auth.settle_audit, record, status=response.status_code)
    return response
