"""Issue 16, item 8: out-of-range input is a clear 4xx, never a 500 or a traceback.

Domain part: key expiries (``9999999w`` overflowed the date into a 500 and a CLI traceback;
Unicode digits such as ``٣`` were read as numbers) and a key's state in listings (an
expired key showed as active).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from keepdown.auth import ApiKey, Role, parse_duration
from keepdown.auth.model import MAX_DURATION
from keepdown.errors import UsageError


@pytest.mark.parametrize(
    "text",
    ["9999999w", "99999999999999999999d", "٣d", "３d", "3\u0663d", "1e3d", "-1d", "0d", "d", ""],
)
def test_bad_expiries_are_usage_errors(text: str) -> None:
    with pytest.raises(UsageError):
        parse_duration(text)


def test_good_expiries_and_the_longest() -> None:
    assert parse_duration("90d") == timedelta(days=90)
    assert parse_duration(" 12 h ") == timedelta(hours=12)
    assert parse_duration(f"{MAX_DURATION.days}d") == MAX_DURATION
    with pytest.raises(UsageError, match="longest"):
        parse_duration(f"{MAX_DURATION.days + 1}d")


def test_a_listing_tells_expired_from_active() -> None:
    now = datetime(2026, 5, 1, tzinfo=UTC)
    key = ApiKey("0" * 16, "acme", Role.PLATFORM, "x", now, expires_at=now + timedelta(days=1))
    assert key.state(now) == "active"
    assert key.state(now + timedelta(days=2)) == "expired"
    revoked = ApiKey("1" * 16, "acme", Role.PLATFORM, "x", now, revoked_at=now)
    assert revoked.state(now) == "revoked"


def test_an_oversized_chunked_web_form_is_413_not_404(tmp_path) -> None:
    """Item 15: a form body over max_upload_bytes sent without a Content-Length (chunked) was
    refused while Starlette read it, and the page's error handler called that a 404."""
    import re

    from fastapi.testclient import TestClient

    from tests.web.conftest import make_web

    app, *_ = make_web(tmp_path, max_upload_bytes=1024 * 1024)
    with TestClient(app, base_url="http://127.0.0.1:8000") as client:
        page = client.get("/web/report")
        found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert found
        token = found.group(1)

        def body():  # type: ignore[no-untyped-def]
            yield f"csrf_token={token}&url=http%3A%2F%2Fexample.test%2F&note=".encode()
            for _ in range(120):
                yield b"a" * 10_000

        refused = client.post(
            "/web/report",
            content=body(),
            headers={"content-type": "application/x-www-form-urlencoded"},
            follow_redirects=False,
        )
        assert refused.status_code == 413
