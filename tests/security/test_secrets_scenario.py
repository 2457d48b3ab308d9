"""Issue 16, standing check (first part): planted secrets appear in no response, log line,
audit row nor database row.

Planted: an admin's API key, a person's password and second-factor seed, a provider's
webhook secret, the SMTP password and the key that seals webhook secrets (both read from the
environment by name). Known gap: the TOTP seed is stored in clear in the users table, so the
database search leaves it out until seeds are sealed.
The scenario uses them the way people do (and misuse them: a key sent without "Bearer ", a
wrong password), reads every listing back, exports a bank, and then searches every response
body and header after the key's own issuing, every captured log line, every audit record and
every row of every table. Not yet covered: exchange credentials and the e-mails a notice
sends.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pyotp
import sqlalchemy
from fastapi.testclient import TestClient

from keepdown.app import build_app
from keepdown.auth import Role
from keepdown.auth.passwords import Passwords
from keepdown.settings import load_settings
from keepdown.testing import FrozenClock, utc
from tests.web.conftest import web_context_of

SMTP_PASSWORD = "smtp-Planted-9f3c1e7a-Secret"
SEAL_KEY = "seal-Planted-2b8d4f60-Key-0123456789abcdef"
WEBHOOK_SECRET = "whsec-Planted-5a1e9c33-Secret"
PASSWORD = "planted Horse battery 7731 staple"


def test_planted_secrets_never_come_back(tmp_path: Path, caplog) -> None:
    settings = load_settings(
        environ={"KD_SMTP_PW": SMTP_PASSWORD, "KD_SEAL": SEAL_KEY},
        overrides={
            "data_dir": str(tmp_path / "data"),
            "operator_organisation": "acme",
            "auth_cache_seconds": 0,
            "web_cookie_secure": False,
            "smtp_username": "keepdown",
            "smtp_password_env": "KD_SMTP_PW",
            "provider_secret_key_env": "KD_SEAL",
        },
    )
    clock = FrozenClock(utc(2026, 3, 2, 9))
    app, runtime = build_app(settings, clock=clock, refresh_in_background=False)
    ctx = web_context_of(app)
    ctx.signin.passwords = Passwords(time_cost=1, memory_cost=1024)
    seen: list[str] = []

    statuses: list[int] = []

    def keep(response) -> None:  # type: ignore[no-untyped-def]
        seen.append(response.text)
        seen.append(repr(dict(response.headers)))
        statuses.append(response.status_code)

    caplog.set_level(logging.DEBUG)
    with TestClient(app, base_url="http://127.0.0.1:8000") as client:
        runtime.auth.ensure_organisation("acme")
        token = runtime.auth.issue_key("acme", Role.ADMIN).token
        key_secret = token.split("_", 2)[2]
        ctx.signin.add_user("planted-admin", PASSWORD, organisation="acme", role=Role.ANALYST)
        bearer = {"Authorization": f"Bearer {token}"}

        for header in (token, f"Token {token}", f"Bearer\t{token}x", f"Basic {token}"):
            keep(client.get("/api/v1/audit", headers={"Authorization": header}))
        provider = {
            "name": "Host A",
            "channel": "webhook",
            "webhook_url": "https://hooks.host-a.test/",
            "webhook_secret": WEBHOOK_SECRET,
        }
        keep(client.post("/api/v1/providers", json=provider, headers=bearer))
        keep(client.post("/api/v1/providers", json=provider, headers=bearer))  # a conflict
        keep(client.get("/api/v1/providers", headers=bearer))
        keep(client.get("/api/v1/providers/Host A", headers=bearer))
        keep(client.post("/api/v1/banks", json={"name": "b"}, headers=bearer))
        keep(client.get("/api/v1/banks/b/export", headers=bearer))
        keep(client.get("/metrics", headers=bearer))

        page = client.get("/web/login")
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert csrf
        for password in (PASSWORD + "x", PASSWORD):
            keep(
                client.post(
                    "/web/login",
                    data={"username": "planted-admin", "password": password, "csrf_token": csrf[1]},
                    follow_redirects=True,
                )
            )
        account = client.get("/web/account").text  # shows its own new seed: not kept
        seed = account.split('name="secret" value="')[1].split('"')[0]
        code = pyotp.TOTP(seed).at(clock.now())
        token_form = re.search(r'name="csrf_token" value="([^"]+)"', account)
        assert token_form
        enrol = {"secret": seed, "code": code, "current": PASSWORD, "csrf_token": token_form[1]}
        keep(client.post("/web/account/totp", data=enrol, follow_redirects=True))
        keep(client.get("/web/account"))
        keep(client.get("/api/v1/audit?limit=500", headers=bearer))

    # the scenario did what it says (refusals, a conflict, then the real work and a sign-in)
    assert statuses == [
        *(401, 401, 401, 401, 201, 409, 200, 200, 201, 200, 200, 401, 200, 200, 200, 200)
    ]
    rows: list[str] = []
    engine = sqlalchemy.create_engine(settings.resolved_database_url)
    with engine.connect() as conn:
        for table in sqlalchemy.inspect(engine).get_table_names():
            rows.extend(repr(r) for r in conn.execute(sqlalchemy.text(f'SELECT * FROM "{table}"')))
    engine.dispose()
    audit = [repr(r) for r in runtime.auth.audit_log.list_records(limit=1000)]
    assert len(audit) > 10

    for name, planted in (
        ("API key", key_secret),
        ("password", PASSWORD),
        ("webhook secret", WEBHOOK_SECRET),
        ("SMTP password", SMTP_PASSWORD),
        ("sealing key", SEAL_KEY),
        ("TOTP seed", seed),
    ):
        assert not [s for s in seen if planted in s], f"{name} in a response"
        assert planted not in caplog.text, f"{name} in a log line"
        assert not [a for a in audit if planted in a], f"{name} in an audit record"
        if name == "TOTP seed":  # open: the users table keeps seeds in clear (docs/security.md)
            continue
        assert not [r for r in rows if planted in r], f"{name} in a database row"
