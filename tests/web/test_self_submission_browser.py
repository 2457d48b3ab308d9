"""The self-submission page in a real browser (Debian's Chromium, Playwright), keepdown on
uvicorn on loopback. A person picks two benign pictures (shipped samples), answers, sends, and
gets a case number and a PIN. The test records every request the page makes and proves:

- every request went to this keepdown, and no request body carries picture content: each body
  is far smaller than the smallest picture, and holds no 64-byte run of any picture's bytes;
- the hashes keepdown received are keepdown's own for those files (MD5 and SHA-256 equal, the
  8 PDQ hashes within 10 bits of keepdown's Python on the same bytes: the browser decodes);
- withdrawal with the PIN takes them out of the self-submitted bank, and the bank's published
  export carries them as tombstones (``source-withdrew``).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from keepdown.auth import Role
from keepdown.hashing import hash_bytes
from keepdown.hashing.pdq import DIHEDRAL_NAMES
from keepdown.hashing.types import PdqHash
from keepdown.testing import sample_image_paths
from keepdown.web.pages.self_submission import API_PREFIX
from tests.web.conftest import web_settings
from tests.web.test_browser import ARGS, CHROMIUM, Served

pytestmark = pytest.mark.slow

BANK = "self-submission-minors"
PICTURES = ("stone-wall.jpg", "garden-palette.png")


@pytest.fixture
def served(tmp_path: Path) -> Iterator[dict[str, Any]]:
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    pytest.importorskip("playwright.sync_api")
    from keepdown.app import build_app

    app, runtime = build_app(web_settings(tmp_path), refresh_in_background=False)
    runtime.auth.ensure_organisation("acme")
    with Served(app) as base:
        yield {"base": base, "runtime": runtime}
    runtime.close()


def _runs(data: bytes, size: int = 64) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data) - size, 997)]


def test_pick_send_check_and_withdraw(served: dict[str, Any], tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    base, runtime = served["base"], served["runtime"]
    files = {p.name: p for p in sample_image_paths() if p.name in PICTURES}
    picked = [tmp_path / name for name in PICTURES]
    for path in picked:
        path.write_bytes(files[path.name].read_bytes())
    contents = [p.read_bytes() for p in picked]

    requests: list[dict[str, Any]] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_context().new_page()
        page.on(
            "request",
            lambda r: requests.append(
                {"url": r.url, "method": r.method, "body": r.post_data_buffer or b""}
            ),
        )
        answer = page.goto(f"{base}/web/self-submission")
        assert answer is not None
        csp = answer.headers["content-security-policy"]
        assert f"connect-src {base}{API_PREFIX};" in csp
        page.set_input_files("#files", [str(p) for p in picked])
        page.check("input[name=age][value='16-17']")
        page.click("#send")
        try:  # the page's CSP refuses evaluated script: wait on the page's own state
            page.wait_for_selector("#receipt:not([hidden])", timeout=60_000)
        except Exception:
            raise AssertionError(page.text_content("#progress")) from None
        case_number = page.text_content("#case-number") or ""
        pin = page.text_content("#case-pin") or ""
        assert case_number
        assert pin

        page.fill("#case-input", case_number)
        page.fill("#pin-input", pin)
        page.click("#check")
        page.wait_for_selector("#case-status[data-status=active]")
        page.click("#withdraw")
        page.wait_for_selector("#case-status[data-status=withdrawn]")
        browser.close()

    # 1. nothing left this keepdown; no body carries picture content
    assert all(r["url"].startswith(base) for r in requests), [r["url"] for r in requests]
    bodies = [r["body"] for r in requests if r["body"]]
    assert bodies
    smallest = min(len(c) for c in contents)
    for body in bodies:
        assert len(body) < min(16 * 1024, smallest // 2)
        for content in contents:
            assert not any(run in body for run in _runs(content))
    sent = [json.loads(r["body"]) for r in requests if r["url"].endswith(API_PREFIX + "send")]
    assert len(sent) == 1
    assert set(sent[0]) == {"age_at_time", "share_with_platforms", "items"}

    # 2. the hashes are keepdown's for these files
    items = sent[0]["items"]
    for item, content in zip(items, contents, strict=True):
        ours = hash_bytes(content, dihedral=True)
        assert set(item) == {"media", "md5", "sha256", "quality", "pdq"}
        assert (item["md5"], item["sha256"]) == (ours.md5.hex, ours.sha256.hex)
        for name in DIHEDRAL_NAMES:
            theirs = PdqHash.from_hex(item["pdq"][name])
            assert theirs - ours.dihedral[name].hash <= 10, name

    # 3. withdrawn: out of the bank, tombstones in its published export
    bank = runtime.storage.banks.get_bank(BANK)
    for content in contents:
        entry = runtime.storage.banks.get_entry(bank.id, "sha256", hash_bytes(content).sha256.hex)
        assert entry.removed
        assert entry.removal_reason == "source-withdrew"
    token = runtime.auth.issue_key("acme", Role.ADMIN, expires_in=timedelta(hours=1)).token
    export = httpx.get(
        f"{base}/api/v1/banks/{BANK}/export",
        params={"format": "jsonl"},
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    assert export.status_code == 200, export.text
    rows = [json.loads(line) for line in export.text.splitlines()[1:]]
    assert rows
    assert all(row["removed"] for row in rows)
