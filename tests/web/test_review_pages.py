"""The review page on a real app: media fetched live from a loopback site, blurred on the
server, revealed only after the reveal is audited; decisions reach the sightings."""

from __future__ import annotations

import io
import re

import numpy as np
import pytest
from PIL import Image
from sqlalchemy import select

from keepdown.auth import Role
from keepdown.events import ReviewDecided
from keepdown.storage.tables_crawl import sightings
from tests.web.conftest import Web
from tests.web.seed import image_site, seed


@pytest.fixture
def seeded(web: Web):
    with image_site() as site:
        yield seed(web.services, web.ctx, site)


def _pixels(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"), dtype=np.float32)


def _sharpness(pixels: np.ndarray) -> float:
    g = pixels.mean(axis=2)
    return float(
        (4 * g[1:-1, 1:-1] - g[:-2, 1:-1] - g[2:, 1:-1] - g[1:-1, :-2] - g[1:-1, 2:]).var()
    )


def _item_id(html: str) -> int:
    return int(re.search(r'data-sighting="(\d+)"', html).group(1))


def _states(web: Web) -> dict[int, str]:
    with web.services.storage.engine.connect() as conn:
        return {r.id: r.state for r in conn.execute(select(sightings.c.id, sightings.c.state))}


def test_media_is_blurred_until_the_reveal_is_audited(web: Web, seeded) -> None:
    web.sign_in_as(Role.ANALYST)
    page = web.client.get("/web/review")
    sid = _item_id(page.text)
    assert f'src="/web/review/{sid}/media"' in page.text
    assert seeded.bodies[sid] not in page.content
    blurred = web.client.get(f"/web/review/{sid}/media")
    assert blurred.headers["content-type"] == "image/jpeg"
    assert blurred.headers["cache-control"] == "no-store"
    pixels = _pixels(blurred.content)
    assert max(pixels.shape[:2]) <= 240
    assert float(np.abs(pixels[..., 0] - pixels[..., 2]).max()) <= 1.0  # grayscale
    assert blurred.content != seeded.bodies[sid]
    # No unblurred byte before the reveal.
    assert web.client.get(f"/web/review/{sid}/media/revealed").status_code == 403
    token = web.csrf(page.text)
    revealed_form = web.client.post(
        f"/web/review/{sid}/reveal", data={"csrf_token": token}, headers={"HX-Request": "true"}
    )
    assert f"/web/review/{sid}/media/revealed" in revealed_form.text
    (record,) = web.services.auth.audit_log.list_records(limit=5, action="review.reveal")
    assert (record.actor, record.target) == (f"user:{web.users[Role.ANALYST]}", f"sighting:{sid}")
    sharp = web.client.get(f"/web/review/{sid}/media/revealed")
    assert sharp.status_code == 200
    assert _sharpness(_pixels(sharp.content)) > 5 * _sharpness(pixels)
    # Each fetch of the unblurred media is recorded, not only the first reveal (issue 16,
    # item 15: the direct URL stayed fetchable for the whole claim without a new record).
    assert web.client.get(f"/web/review/{sid}/media/revealed").status_code == 200
    views = web.services.auth.audit_log.list_records(limit=10, action="review.media_view")
    outcomes = sorted((r.target, r.outcome) for r in views)  # the one before the reveal too
    assert outcomes == [(f"sighting:{sid}", "ok")] * 2 + [(f"sighting:{sid}", "refused")]


def test_another_analyst_cannot_see_or_decide_a_held_item(web: Web, seeded) -> None:
    web.sign_in_as(Role.ANALYST)
    sid = _item_id(web.client.get("/web/review").text)
    web.sign_in_as(Role.ADMIN)
    other = _item_id(web.client.get("/web/review").text)
    assert other != sid
    assert web.client.get(f"/web/review/{sid}/media").status_code == 403
    refused = web.post(f"/web/review/{sid}/decide", {"decision": "confirm", "category": "csam"})
    assert refused.status_code == 403
    boosted = web.post(f"/web/review/{sid}/reveal", headers={"HX-Request": "true"})
    assert boosted.status_code == 403
    assert boosted.headers["hx-retarget"] == "body"
    assert _states(web)[sid] == "pending_review"


def test_decisions_confirm_reject_and_escalate(web: Web, seeded) -> None:
    web.sign_in_as(Role.ANALYST)
    decided = []
    for decision, extra in (
        ("confirm", {"category": "csam"}),
        ("not_a_match", {"allow_list": "1"}),
        ("escalate", {"note": "second opinion"}),
    ):
        page = web.client.get("/web/review")
        sid = _item_id(page.text)
        response = web.client.post(
            f"/web/review/{sid}/decide",
            data={"decision": decision, "csrf_token": web.csrf(page.text), **extra},
            follow_redirects=False,
        )
        assert response.status_code == 303
        decided.append(sid)
    states = _states(web)
    assert [states[s] for s in decided] == ["confirmed", "rejected", "pending_review"]
    events = [e for e in web.services.storage.events.read("review_decided")]
    assert [e.decision for e in events] == ["confirm", "not_a_match", "escalate"]
    assert isinstance(events[0], ReviewDecided)
    assert events[1].source == "Test hotline A (synthetic stand-ins)"
    assert len(web.ctx.review_store.allow_entries()) == 1
    # The escalated item waits for a senior analyst (the admin person is senior here).
    web.sign_in_as(Role.ADMIN)
    seen = set()
    for _ in range(3):
        page = web.client.get("/web/review").text
        if "data-sighting" not in page:
            break
        sid = _item_id(page)
        seen.add(sid)
        web.client.post(
            f"/web/review/{sid}/decide", data={"decision": "skip", "csrf_token": web.csrf(page)}
        )
    assert decided[2] in seen
    audit = web.services.auth.audit_log.list_records(limit=20, action="review.decide")
    assert len(audit) >= 3


def test_allow_listed_candidate_no_longer_matches_in_the_api(web: Web, seeded) -> None:
    web.sign_in_as(Role.ANALYST)
    page = web.client.get("/web/review")
    sid = _item_id(page.text)
    body = seeded.bodies[sid]
    api_ctx = web.client.app.state.ctx
    from keepdown.hashing import hash_bytes

    assert api_ctx.matcher.match_result(hash_bytes(body, dihedral=True))
    web.client.post(
        f"/web/review/{sid}/decide",
        data={"decision": "not_a_match", "allow_list": "1", "csrf_token": web.csrf(page.text)},
    )
    api_ctx.matcher.refresh()
    assert api_ctx.matcher.match_result(hash_bytes(body, dihedral=True)) == []


def test_the_sightings_page_filters_and_never_shows_media(web: Web, seeded) -> None:
    web.sign_in_as(Role.ANALYST)
    page = web.client.get("/web/sightings", params={"state": "pending_review", "bank": "hotline-a"})
    assert page.status_code == 200
    assert page.text.count("/web/sightings/") >= len(seeded.sighting_ids)
    assert "<img" not in page.text
    assert web.client.get("/web/sightings", params={"since": "yesterday"}).status_code == 400
    detail = web.client.get(f"/web/sightings/{seeded.sighting_ids[0]}")
    assert detail.status_code == 200
    assert "<img" not in detail.text


def test_break_reminder_after_the_analysts_count(web: Web, seeded) -> None:
    web.sign_in_as(Role.ANALYST)
    web.post(
        "/web/account/wellbeing",
        {"blur": "20", "grayscale": "1", "break_after_reviews": "1", "break_after_minutes": "0"},
    )
    page = web.client.get("/web/review")
    assert "Time for a break?" not in page.text
    sid = _item_id(page.text)
    web.clock.advance(1)
    web.client.post(
        f"/web/review/{sid}/decide", data={"decision": "skip", "csrf_token": web.csrf(page.text)}
    )
    assert "Time for a break?" in web.client.get("/web/review").text
    web.post("/web/review/break")
    assert "Time for a break?" not in web.client.get("/web/review").text
