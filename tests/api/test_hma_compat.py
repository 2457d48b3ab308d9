"""HMA-compatible hash and lookup endpoints, against the shapes HMA documents.

From HMA's OpenMediaMatch blueprints: ``/h/hash`` answers ``{signal_type: hash}``;
``/m/raw_lookup`` answers ``{"matches": [content ids]}`` or, with ``include_distance``,
``[{"bank_content_id", "distance"}]`` (distance a string); ``/m/lookup`` answers
``{bank: [{"bank_content_id", "distance"}]}`` for a given signal, and is keyed by signal type
first for a URL or an upload (the file's form field names its content type, ``photo``).
"""

from __future__ import annotations

import random

from keepdown.auth import Role
from keepdown.hashing import hash_bytes
from keepdown.testing import flip_bits, synthetic_jpeg
from tests.api.conftest import OTHER_SEED, Api, known_jpeg, seed_known_bank


def test_hash_post_with_photo_field(api: Api) -> None:
    data = known_jpeg()
    expected = hash_bytes(data, mode="exact")
    response = api.client.post(
        "/h/hash", files={"photo": ("x.jpg", data, "image/jpeg")}, headers=api.auth(Role.PLATFORM)
    )
    assert response.status_code == 200, response.text
    assert response.json() == {"pdq": expected.pdq.hex}
    both = api.client.post(
        "/h/hash?types=pdq,md5",
        files={"photo": ("x.jpg", data, "image/jpeg")},
        headers=api.auth(Role.PLATFORM),
    )
    assert both.json() == {"pdq": expected.pdq.hex, "md5": expected.md5.hex}
    wrong_field = api.client.post(
        "/h/hash", files={"video": ("x.mp4", data, "video/mp4")}, headers=api.auth(Role.PLATFORM)
    )
    assert wrong_field.status_code == 400
    assert "content_type" in wrong_field.json()["message"]


def test_hash_url(api: Api, image_site: str) -> None:
    response = api.client.get(
        "/h/hash", params={"url": f"{image_site}/known.jpg"}, headers=api.auth(Role.PLATFORM)
    )
    assert response.json() == {"pdq": hash_bytes(known_jpeg(), mode="exact").pdq.hex}


def test_raw_lookup_with_and_without_distance(api: Api) -> None:
    seed_known_bank(api.services)
    pdq = hash_bytes(known_jpeg(), mode="exact").pdq.hex
    near = flip_bits(pdq, 7, random.Random(5))
    plain = api.client.get(
        "/m/raw_lookup",
        params={"signal_type": "pdq", "signal": near},
        headers=api.auth(Role.PLATFORM),
    ).json()
    (entry_id,) = plain["matches"]
    assert isinstance(entry_id, int)
    with_distance = api.client.get(
        "/m/raw_lookup",
        params={"signal_type": "pdq", "signal": near, "include_distance": "true"},
        headers=api.auth(Role.PLATFORM),
    ).json()
    assert with_distance == {"matches": [{"bank_content_id": entry_id, "distance": "7"}]}
    other_bank = api.client.get(
        "/m/raw_lookup",
        params={"signal_type": "pdq", "signal": near, "banks": "elsewhere"},
        headers=api.auth(Role.PLATFORM),
    ).json()
    assert other_bank == {"matches": []}
    bad = api.client.get(
        "/m/raw_lookup",
        params={"signal_type": "nope", "signal": near},
        headers=api.auth(Role.PLATFORM),
    )
    assert bad.status_code == 400
    assert "SignalType" in bad.json()["message"]


def test_lookup_by_signal_upload_and_url(api: Api, image_site: str) -> None:
    seed_known_bank(api.services)
    pdq = hash_bytes(known_jpeg(), mode="exact").pdq.hex
    by_signal = api.client.get(
        "/m/lookup", params={"signal_type": "pdq", "signal": pdq}, headers=api.auth(Role.PLATFORM)
    ).json()
    assert list(by_signal) == ["known"]
    assert by_signal["known"][0]["distance"] == "0"
    upload = api.client.post(
        "/m/lookup",
        files={"photo": ("x.jpg", known_jpeg(), "image/jpeg")},
        headers=api.auth(Role.PLATFORM),
    ).json()
    # A file is matched as every door matches it (the one match chain): the exact SHA-256 match
    # is reported too, under its own signal type, next to HMA's default PDQ.
    sha = api.client.get(
        "/m/lookup",
        params={"signal_type": "sha256", "signal": hash_bytes(known_jpeg()).sha256.hex},
        headers=api.auth(Role.PLATFORM),
    ).json()
    assert upload == {"pdq": by_signal, "sha256": sha}
    pdq_only = api.client.post(
        "/m/lookup",
        params={"types": "pdq"},
        files={"photo": ("x.jpg", known_jpeg(), "image/jpeg")},
        headers=api.auth(Role.PLATFORM),
    ).json()
    assert pdq_only == {"pdq": by_signal}
    clean = api.client.post(
        "/m/lookup",
        files={"photo": ("x.jpg", synthetic_jpeg(OTHER_SEED), "image/jpeg")},
        headers=api.auth(Role.PLATFORM),
    ).json()
    assert clean == {"pdq": {}}
    by_url = api.client.get(
        "/m/lookup", params={"url": f"{image_site}/known.jpg"}, headers=api.auth(Role.PLATFORM)
    ).json()
    assert by_url == {"pdq": by_signal, "sha256": sha}
    neither = api.client.get("/m/lookup", headers=api.auth(Role.PLATFORM))
    assert neither.status_code == 400


def test_compare_answers_as_hma_serialises_a_comparison(api: Api) -> None:
    pdq = hash_bytes(known_jpeg(), mode="exact").pdq.hex
    near = flip_bits(pdq, 9, random.Random(1))
    far = flip_bits(pdq, 100, random.Random(2))
    md5 = "a" * 32
    response = api.client.post(
        "/m/compare", json={"pdq": [pdq, near], "md5": [md5, md5]}, headers=api.auth(Role.PLATFORM)
    )
    assert response.status_code == 200, response.text
    assert response.json() == {"pdq": [True, {"distance": 9}], "md5": [True, {}]}
    apart = api.client.post(
        "/m/compare",
        json={"pdq": [pdq, far], "md5": [md5, "b" * 32]},
        headers=api.auth(Role.PLATFORM),
    ).json()
    assert apart == {"pdq": [False, {"distance": 100}], "md5": [False, {}]}
    for bad in ({"pdq": [pdq]}, {"nope": [pdq, pdq]}, {"pdq": [pdq, "zz"]}):
        refused = api.client.post("/m/compare", json=bad, headers=api.auth(Role.PLATFORM))
        assert refused.status_code == 400, bad


def test_index_status_per_signal_type(api: Api) -> None:
    seed_known_bank(api.services)
    status = api.client.get("/m/index/status", headers=api.auth(Role.PLATFORM)).json()
    assert set(status) == {"pdq", "md5", "sha1", "sha256"}
    assert status["pdq"]["present"] is True
    assert status["pdq"]["size"] == 1
    assert status["sha256"]["size"] == 1
    assert status["md5"]["size"] == 0
    assert status["pdq"]["built_to"] > 1_600_000_000
    one = api.client.get(
        "/m/index/status", params={"signal_type": "pdq"}, headers=api.auth(Role.PLATFORM)
    ).json()
    assert one == {"pdq": status["pdq"]}
    bad = api.client.get(
        "/m/index/status", params={"signal_type": "nope"}, headers=api.auth(Role.PLATFORM)
    )
    assert bad.status_code == 400


def test_an_hma_client_can_carry_the_key_in_its_base_url(api: Api) -> None:
    """HMA clients send no Authorization header of their own; an HTTP client given a base URL
    with user info (here httpx, under the test client) sends it as Basic credentials."""
    key_id, secret = api.tokens[Role.PLATFORM][3:].split("_", 1)
    response = api.client.get(f"http://{key_id}:{secret}@testserver/m/index/status")
    assert response.status_code == 200, response.text
    assert response.request.headers["Authorization"].startswith("Basic ")
    assert api.client.get("http://testserver/m/index/status").status_code == 401


def test_an_undecodable_photo_is_an_error_not_an_empty_answer(api: Api) -> None:
    broken = ("x.jpg", b"\xff\xd8\xff\xe0 truncated", "image/jpeg")
    for path in ("/h/hash", "/m/lookup"):
        response = api.client.post(path, files={"photo": broken}, headers=api.auth(Role.PLATFORM))
        assert response.status_code == 422, (path, response.text)
        assert response.json()["code"] == "decode_error"
    exact_only = api.client.post(
        "/h/hash?types=md5", files={"photo": broken}, headers=api.auth(Role.PLATFORM)
    )
    assert exact_only.status_code == 200
    assert set(exact_only.json()) == {"md5"}
