"""The scenario of issue 21 through the API: a self-submitted hash matches a platform's upload,
the upload is held for review, the analyst confirms, and the 48-hour clock closes with the
removal. Benign stand-ins only: a shipped sample picture plays the person's picture.
"""

from __future__ import annotations

import io
from datetime import timedelta
from pathlib import Path

from fastapi.testclient import TestClient
from PIL import Image

from keepdown.app import build_app
from keepdown.auth import Role
from keepdown.clock import FrozenClock, utc
from keepdown.hashing import hash_bytes
from keepdown.hashing.pdq import DIHEDRAL_NAMES
from keepdown.submissions import parse_form
from keepdown.testing import sample_image_paths
from tests.api.conftest import make_settings

OPERATOR = "acme"
PLATFORM = "photoshare"


def _picture() -> bytes:
    return next(p for p in sample_image_paths() if p.name == "stone-wall.jpg").read_bytes()


def _reencoded(data: bytes) -> bytes:
    out = io.BytesIO()
    Image.open(io.BytesIO(data)).convert("RGB").save(out, "JPEG", quality=75)
    return out.getvalue()


def _form(data: bytes, *, share: bool = True):
    mine = hash_bytes(data, dihedral=True)
    item = {
        "media": "image",
        "md5": mine.md5.hex,
        "sha256": mine.sha256.hex,
        "quality": mine.quality,
        "pdq": {name: mine.dihedral[name].hash.hex for name in DIHEDRAL_NAMES},
    }
    body = {"age_at_time": "16-17", "share_with_platforms": share, "items": [item]}
    return parse_form(body, max_items=20, quality_floor=50)


def _key(runtime, organisation: str, role: Role) -> dict[str, str]:
    runtime.auth.ensure_organisation(organisation)
    token = runtime.auth.issue_key(organisation, role, expires_in=timedelta(days=30)).token
    return {"Authorization": f"Bearer {token}"}


def test_held_upload_confirmed_then_removed_within_the_clock(tmp_path: Path) -> None:
    clock = FrozenClock(utc(2026, 6, 1, 9))
    settings = make_settings(tmp_path)
    app, runtime = build_app(settings, clock=clock, refresh_in_background=False)
    with TestClient(app) as client:
        platform = _key(runtime, PLATFORM, Role.PLATFORM)
        other = _key(runtime, "elsewhere", Role.PLATFORM)
        analyst = _key(runtime, OPERATOR, Role.ANALYST)
        receipt = runtime.submissions.submissions.submit(_form(_picture()))
        runtime.matcher.refresh()

        # 1. the platform's upload (a re-encoded copy) matches: held, never blocked
        upload = _reencoded(_picture())
        answer = client.post(
            "/api/v1/match?content_ref=uploads/42.jpg", content=upload, headers=platform
        ).json()
        assert answer["verdict"] == "review"
        assert answer["matches"][0]["bank"] == "self-submission-minors"
        assert answer["matches"][0]["review_why"] == "self-submitted"
        hold = answer["hold"]
        assert (hold["state"], hold["action"], hold["content_ref"]) == (
            "held",
            "review",
            "uploads/42.jpg",
        )
        again = client.post("/api/v1/match", content=upload, headers=platform).json()
        assert again["hold"]["id"] == hold["id"]  # the same file is held once
        assert client.get(f"/api/v1/holds/{hold['id']}", headers=other).status_code == 404

        # 2. the analyst confirms: the removal request opens, its clock runs 48 hours
        waiting = client.get("/api/v1/holds", headers=analyst).json()["holds"]
        assert [h["id"] for h in waiting] == [hold["id"]]
        assert client.get("/api/v1/holds", headers=platform).status_code == 403
        clock.advance(timedelta(hours=3))
        decided = client.post(
            f"/api/v1/holds/{hold['id']}/decision",
            json={"decision": "confirm", "note": "the person's picture"},
            headers=analyst,
        )
        assert decided.status_code == 200, decided.text
        assert decided.json()["action"] == "block"
        request_id = decided.json()["removal_request_id"]
        blocked = client.post("/api/v1/match", content=upload, headers=platform).json()
        assert blocked["hold"]["action"] == "block"  # an analyst has seen this file

        opened = client.get(f"/api/v1/removal-requests/{request_id}", headers=platform).json()
        assert (opened["state"], opened["clock"]) == ("open", "due")
        assert opened["due_at"] == "2026-06-03T12:00:00Z"
        assert [i["content_ref"] for i in opened["items"]] == ["uploads/42.jpg"]
        assert (
            client.get(f"/api/v1/removal-requests/{request_id}", headers=other).status_code == 404
        )

        # 3. the platform removes the upload: the request closes within its 48 hours
        clock.advance(timedelta(hours=20))
        item = opened["items"][0]["id"]
        closed = client.post(
            f"/api/v1/removal-requests/{request_id}/items/{item}/removed",
            json={"note": "deleted from storage"},
            headers=platform,
        )
        assert closed.status_code == 200, closed.text
        assert (closed.json()["state"], closed.json()["clock"]) == ("closed", "closed-in-time")

        pack = client.get(f"/api/v1/removal-requests/{request_id}/evidence", headers=platform)
        assert pack.status_code == 200, pack.text
        text = pack.text
        assert "uploads/42.jpg" in text
        assert receipt.case_number.replace(" ", "") not in text.replace(" ", "")
        assert hash_bytes(_picture()).sha256.hex not in text  # no submitted hash

    kinds = [e.kind for e in runtime.storage.events.read()]
    for kind in ("upload_held", "hold_decided", "removal_requested", "removal_request_closed"):
        assert kind in kinds, kind
    actions = {r.action for r in runtime.auth.audit_log.list_records()}
    assert {"hold.decide", "removal.item_removed", "removal.evidence"} <= actions
    runtime.close()


def test_a_person_s_request_through_the_platform(tmp_path: Path) -> None:
    clock = FrozenClock(utc(2026, 6, 1, 9))
    app, runtime = build_app(make_settings(tmp_path), clock=clock, refresh_in_background=False)
    with TestClient(app) as client:
        platform = _key(runtime, PLATFORM, Role.PLATFORM)
        made = client.post(
            "/api/v1/removal-requests",
            json={
                "content": ["posts/1/photo.jpg", "posts/9/photo.jpg"],
                "received_at": "2026-06-01T08:00:00Z",
            },
            headers=platform,
        )
        assert made.status_code == 201, made.text
        body = made.json()
        assert (body["origin"], body["clock"], body["due_at"]) == (
            "person",
            "due",
            "2026-06-03T08:00:00Z",
        )
        clock.advance(timedelta(hours=49))
        late = client.get(f"/api/v1/removal-requests/{body['id']}", headers=platform).json()
        assert late["clock"] == "overdue"
        for item in late["items"]:
            client.post(
                f"/api/v1/removal-requests/{body['id']}/items/{item['id']}/removed",
                json={},
                headers=platform,
            )
        done = client.get(f"/api/v1/removal-requests/{body['id']}", headers=platform).json()
        assert (done["state"], done["clock"]) == ("closed", "closed-late")
        future = client.post(
            "/api/v1/removal-requests",
            json={"content": ["x"], "received_at": "2027-01-01T00:00:00Z"},
            headers=platform,
        )
        assert future.status_code == 400
    runtime.close()
