"""/metrics: counts matches without naming hashes or banks; a bearer token when configured."""

from __future__ import annotations

import re
from pathlib import Path

from fastapi.testclient import TestClient

from keepdown.app import build_app
from keepdown.auth import Role
from keepdown.hashing import hash_bytes
from tests.api.conftest import Api, known_jpeg, make_settings, seed_known_bank


def _value(text: str, sample: str) -> float:
    found = re.search(rf"^{re.escape(sample)} ([0-9.e+]+)$", text, re.MULTILINE)
    return float(found.group(1)) if found else 0.0


def test_matches_are_counted_by_match_and_signal_type(api: Api) -> None:
    seed_known_bank(api.services)
    platform = api.auth(Role.PLATFORM)
    pdq = hash_bytes(known_jpeg(), mode="exact").pdq.hex
    api.client.post("/api/v1/match", content=known_jpeg(), headers=platform)
    api.client.post(
        "/api/v1/match/hashes",
        json={
            "hashes": [
                {"signal_type": "pdq", "value": pdq},
                {"signal_type": "md5", "value": "0" * 32},
            ]
        },
        headers=platform,
    )
    text = api.client.get("/metrics").text
    assert _value(text, 'keepdown_matches_total{match_type="exact",signal_type="sha256"}') == 1
    assert _value(text, 'keepdown_matches_total{match_type="near",signal_type="pdq"}') >= 2
    assert _value(text, "keepdown_matched_inputs_total") == 2  # the upload and one hash
    assert pdq not in text
    assert "known" not in text  # no bank names either
    assert _value(text, 'keepdown_index_entries{signal_type="pdq"}') == 1


def test_metrics_token_protects_the_endpoint(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("KD_TEST_METRICS_TOKEN", "s3cret-token")
    settings = make_settings(tmp_path, metrics_token_env="KD_TEST_METRICS_TOKEN")
    app, _services = build_app(settings, refresh_in_background=False)
    with TestClient(app) as client:
        assert client.get("/metrics").status_code == 401
        wrong = client.get("/metrics", headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401
        assert wrong.json()["code"] == "unauthenticated"
        right = client.get("/metrics", headers={"Authorization": "Bearer s3cret-token"})
        assert right.status_code == 200
        assert "keepdown_api_requests_total" in right.text
        assert "s3cret-token" not in right.text
