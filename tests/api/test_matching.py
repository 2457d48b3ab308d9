"""Hash and match through the API: uploads (raw and multipart), batches, URLs, limits."""

from __future__ import annotations

import json
from collections.abc import Iterator

from fastapi.testclient import TestClient

from keepdown.app import build_app
from keepdown.auth import Role
from keepdown.banks.records import EntryRecord
from keepdown.events import UploadChecked
from keepdown.hashing import hash_bytes
from keepdown.hashing.types import SignalType
from keepdown.testing import flip_bits, synthetic_jpeg
from tests.api.conftest import OTHER_SEED, Api, known_jpeg, make_settings, seed_known_bank


def test_hash_raw_and_multipart_give_the_same_hashes(api: Api) -> None:
    data = known_jpeg()
    expected = hash_bytes(data, mode="exact")
    raw = api.client.post(
        "/api/v1/hash",
        content=data,
        headers={**api.auth(Role.PLATFORM), "Content-Type": "image/jpeg"},
    )
    form = api.client.post(
        "/api/v1/hash",
        files={"file": ("a.jpg", data, "image/jpeg")},
        headers=api.auth(Role.PLATFORM),
    )
    assert raw.status_code == 200, raw.text
    assert raw.json() == form.json()
    body = raw.json()
    assert body["sha256"] == expected.sha256.hex
    assert body["pdq"] == expected.pdq.hex
    assert body["quality"] == expected.quality


def test_match_upload_finds_the_known_picture_and_not_another(api: Api) -> None:
    seed_known_bank(api.services)
    hit = api.client.post("/api/v1/match", content=known_jpeg(), headers=api.auth(Role.PLATFORM))
    miss = api.client.post(
        "/api/v1/match", content=synthetic_jpeg(OTHER_SEED), headers=api.auth(Role.PLATFORM)
    )
    assert hit.status_code == 200, hit.text
    body = hit.json()
    assert body["matched"] is True
    kinds = {(m["signal_type"], m["match_type"]) for m in body["matches"]}
    assert kinds == {("sha256", "exact"), ("pdq", "near")}
    assert all(m["bank"] == "known" and m["classification"] == "csam" for m in body["matches"])
    assert "value" not in str(body["matches"])  # a platform never sees an entry's hash
    assert miss.json()["matched"] is False


def test_near_and_rotated_copies_match_by_pdq(api: Api) -> None:
    import io

    from PIL import Image

    seed_known_bank(api.services)
    picture = Image.open(io.BytesIO(known_jpeg()))
    buf = io.BytesIO()
    picture.transpose(Image.Transpose.ROTATE_90).save(buf, "JPEG", quality=70)
    response = api.client.post(
        "/api/v1/match", content=buf.getvalue(), headers=api.auth(Role.PLATFORM)
    )
    (match,) = response.json()["matches"]
    assert match["signal_type"] == "pdq"
    assert match["variant"] != "original"
    assert match["distance"] <= 31


def test_batch_of_hashes_keeps_order_and_respects_thresholds(api: Api) -> None:
    import random

    seed_known_bank(api.services)
    known = hash_bytes(known_jpeg(), mode="exact")
    rng = random.Random(1)
    near = flip_bits(known.pdq.hex, 20, rng)
    far = flip_bits(known.pdq.hex, 40, rng)
    batch = [
        {"signal_type": "pdq", "value": far},
        {"signal_type": "pdq", "value": near},
        {"signal_type": "sha256", "value": known.sha256.hex.upper()},
        {"signal_type": "md5", "value": known.md5.hex},
    ]
    response = api.client.post(
        "/api/v1/match/hashes", json={"hashes": batch}, headers=api.auth(Role.PLATFORM)
    )
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert [r["matched"] for r in results] == [False, True, True, False]
    assert results[1]["matches"][0]["distance"] == 20
    assert results[1]["matches"][0]["match_type"] == "near"
    assert results[2]["value"] == known.sha256.hex


def test_batch_limits_and_bad_hashes_are_clear_400s(api: Api) -> None:
    too_many = [{"signal_type": "md5", "value": "0" * 32}] * 1001
    response = api.client.post(
        "/api/v1/match/hashes", json={"hashes": too_many}, headers=api.auth(Role.PLATFORM)
    )
    assert response.status_code == 400
    assert "at most 1000" in json.dumps(response.json()["details"])
    bad = api.client.post(
        "/api/v1/match/hashes",
        json={"hashes": [{"signal_type": "pdq", "value": "xyz"}]},
        headers=api.auth(Role.PLATFORM),
    )
    assert bad.status_code == 400
    assert bad.json()["code"] == "invalid_hash"


def test_upload_over_the_limit_is_413_before_reading(tmp_path) -> None:
    app, services = build_app(
        make_settings(tmp_path, max_upload_bytes=1000), refresh_in_background=False
    )
    with TestClient(app) as client:
        services.auth.ensure_organisation("acme")
        token = services.auth.issue_key("acme", Role.PLATFORM).token
        headers = {"Authorization": f"Bearer {token}"}
        declared = client.post("/api/v1/match", content=b"x" * 5000, headers=headers)
        assert declared.status_code == 413
        assert declared.json()["code"] == "input_too_large"

        def chunks() -> Iterator[bytes]:
            for _ in range(10):
                yield b"y" * 400

        streamed = client.post("/api/v1/hash", content=chunks(), headers=headers)
        assert streamed.status_code == 413
        big_json = client.post(
            "/api/v1/match/hashes",
            json={"hashes": [{"signal_type": "md5", "value": "0" * 32}] * 2000},
            headers=headers,
        )
        assert big_json.status_code == 413


def test_match_url_fetches_on_loopback_when_allowed(api: Api, image_site: str) -> None:
    seed_known_bank(api.services)
    response = api.client.post(
        "/api/v1/match/url",
        json={"url": f"{image_site}/known.jpg"},
        headers=api.auth(Role.PLATFORM),
    )
    assert response.status_code == 200, response.text
    assert response.json()["matched"] is True
    missing = api.client.post(
        "/api/v1/match/url", json={"url": f"{image_site}/nope.jpg"}, headers=api.auth(Role.PLATFORM)
    )
    assert missing.status_code == 502
    assert missing.json()["code"] == "fetch_error"


def test_match_url_refuses_private_addresses_by_default(tmp_path) -> None:
    app, services = build_app(
        make_settings(tmp_path, crawl_allowed_networks=""), refresh_in_background=False
    )
    with TestClient(app) as client:
        services.auth.ensure_organisation("acme")
        token = services.auth.issue_key("acme", Role.PLATFORM).token
        for url in ("http://127.0.0.1:9/x.jpg", "http://169.254.169.254/latest", "http://[::1]/"):
            response = client.post(
                "/api/v1/match/url", json={"url": url}, headers={"Authorization": f"Bearer {token}"}
            )
            assert response.status_code == 403, url
            assert response.json()["code"] == "blocked_address"


def test_an_undecodable_picture_is_reported_not_silently_unmatched(api: Api) -> None:
    """Exact hashes are still compared; the answer says PDQ was not, and why."""
    broken = b"\xff\xd8\xff\xe0 not really a jpeg"
    response = api.client.post(
        "/api/v1/match",
        content=broken,
        headers={**api.auth(Role.PLATFORM), "Content-Type": "image/jpeg"},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["matched"] is False
    assert body["checked"] == ["md5", "sha1", "sha256"]
    assert body["pdq_error"]["code"] == "decode_error"
    assert body["hashes"]["pdq"] is None
    known = api.client.post("/api/v1/match", content=known_jpeg(), headers=api.auth(Role.PLATFORM))
    assert known.json()["checked"] == ["md5", "sha1", "sha256", "pdq"]
    assert known.json()["pdq_error"] is None
    shield = api.client.post(
        "/v1/media/",
        content=broken,
        headers={**api.auth(Role.PLATFORM), "Content-Type": "image/jpeg"},
    )
    assert shield.status_code == 422
    assert shield.json()["code"] == "decode_error"
    assert shield.json()["detail"] == shield.json()["message"]


def test_each_checked_upload_is_an_event_for_the_keys_figures(api: Api) -> None:
    """Uploads become UploadChecked events (the per-key transparency figures): an exact match
    in a trusted bank blocks, a match in a review bank goes to review, no match is allowed;
    bare hash lookups are not recorded."""
    seed_known_bank(api.services)  # trust "review"
    platform = api.auth(Role.PLATFORM)
    assert api.client.post("/api/v1/match", content=known_jpeg(), headers=platform).is_success
    other = synthetic_jpeg(OTHER_SEED, 640, 480)
    assert api.client.post("/api/v1/match", content=other, headers=platform).is_success
    api.services.banks.create_bank("trusted", owner="acme", label="csam", trust="auto")
    known_sha256 = hash_bytes(known_jpeg(), mode="exact").sha256.hex
    api.services.banks.add_entry("trusted", EntryRecord(SignalType.SHA256, known_sha256))
    api.services.index.refresh()
    assert api.client.post("/api/v1/match", content=known_jpeg(), headers=platform).is_success
    lookup = {"hashes": [{"signal_type": "pdq", "value": "0" * 64}]}
    assert api.client.post("/api/v1/match/hashes", json=lookup, headers=platform).is_success

    checked = list(api.services.storage.events.read("upload_checked"))
    assert all(isinstance(e, UploadChecked) for e in checked)
    key_id = api.services.auth.authenticate(api.tokens[Role.PLATFORM]).key_id
    assert [(e.key_id, e.organisation) for e in checked] == [(key_id, "acme")] * 3
    assert [(e.outcome, e.match_type, e.automated) for e in checked] == [
        ("review", "exact", False),
        ("allow", "", True),
        ("block", "exact", True),
    ]


def test_a_picture_skipped_for_low_quality_says_why(api: Api) -> None:
    # Issue 15: a PDQ skipped for low quality answered pdq_error: null.
    import io

    from PIL import Image

    flat = io.BytesIO()
    Image.new("RGB", (64, 64), (128, 128, 128)).save(flat, "PNG")  # no detail: quality 0
    response = api.client.post(
        "/api/v1/match", content=flat.getvalue(), headers=api.auth(Role.PLATFORM)
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["checked"] == ["md5", "sha1", "sha256"]
    assert body["pdq_error"]["code"] == "pdq_low_quality"
    assert "pdq_quality_floor" in body["pdq_error"]["message"]
    assert body["pdq_error"]["details"]["quality"] < body["pdq_error"]["details"]["floor"]
