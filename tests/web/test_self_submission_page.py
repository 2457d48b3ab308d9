"""The self-submission page without a browser: its languages, its strict policy, and what its
endpoint accepts (hashes and the two answers only), answers (JSON) and limits."""

from __future__ import annotations

import re
from pathlib import Path

from fastapi.testclient import TestClient

from keepdown.app import build_app
from keepdown.web.pages.self_submission import API_PREFIX, pseudonym
from tests.web.conftest import web_settings


def _client(tmp_path: Path, **overrides: object) -> TestClient:
    app, _runtime = build_app(web_settings(tmp_path, **overrides), refresh_in_background=False)
    return TestClient(app, base_url="http://127.0.0.1:8000")


def _token(client: TestClient) -> str:
    page = client.get("/web/self-submission")
    found = re.search(r'data-csrf="([^"]+)"', page.text)
    assert found
    return found.group(1)


ITEM = {"media": "video", "md5": "0" * 31 + "1", "sha256": "0" * 63 + "1"}


def test_the_page_in_english_and_french_with_its_strict_policy(tmp_path: Path) -> None:
    with _client(tmp_path) as client:
        english = client.get("/web/self-submission")
        assert english.status_code == 200
        assert "Stop your pictures from spreading" in english.text
        csp = english.headers["content-security-policy"]
        assert f"connect-src http://127.0.0.1:8000{API_PREFIX};" in csp
        assert "worker-src 'self'" in csp
        assert "default-src 'none'" in csp
        scripts = re.findall(r'<script[^>]*src="([^"]+)"', english.text)
        assert all(s.startswith("/web/static/") for s in scripts), scripts
        assert "<script>" not in english.text  # no inline script
        french = client.get("/web/self-submission", headers={"Accept-Language": "fr"})
        assert "Empêcher la diffusion de vos images" in french.text
        assert "Moins de 13 ans" in french.text


def test_the_endpoint_takes_hashes_only_and_answers_json(tmp_path: Path) -> None:
    with _client(tmp_path) as client:
        headers = {"X-CSRF-Token": _token(client)}
        body = {"age_at_time": "18-plus", "share_with_platforms": False, "items": [ITEM]}
        extra = {**body, "items": [{**ITEM, "bytes": "/9j/4AAQ"}]}
        refused = client.post(API_PREFIX + "send", json=extra, headers=headers)
        assert refused.status_code == 400
        assert refused.json()["code"] == "invalid_input"
        made = client.post(API_PREFIX + "send", json=body, headers=headers)
        assert made.status_code == 201, made.text
        receipt = made.json()
        assert set(receipt) == {"case_number", "pin", "pictures", "videos", "low_quality"}
        case = {"case_number": receipt["case_number"], "pin": receipt["pin"]}
        status = client.post(API_PREFIX + "case", json=case, headers=headers).json()
        assert (status["status"], status["videos"]) == ("active", 1)
        wrong = client.post(API_PREFIX + "case", json={**case, "pin": "000000"}, headers=headers)
        assert wrong.status_code == 401
        assert "wrong" in wrong.json()["message"]
        assert client.post(API_PREFIX + "send", json=body).status_code == 403  # no token
        done = client.post(API_PREFIX + "withdraw", json=case, headers=headers).json()
        assert done["status"] == "withdrawn"


def test_requests_are_limited_under_a_pseudonym(tmp_path: Path) -> None:
    assert pseudonym("192.0.2.7") == pseudonym("192.0.2.7")
    assert "192.0.2.7" not in pseudonym("192.0.2.7")
    assert pseudonym("192.0.2.7") != pseudonym("192.0.2.8")
    with _client(tmp_path, self_submission_rate_limit="2/hour") as client:
        headers = {"X-CSRF-Token": _token(client)}
        case = {"case_number": "1", "pin": "1"}
        codes = [
            client.post(API_PREFIX + "case", json=case, headers=headers).status_code
            for _ in range(3)
        ]
        assert codes[-1] == 429
