"""Sign-in on a real app: cookies, CSRF, throttling, second factor, expiry, sign-out."""

from __future__ import annotations

from datetime import timedelta

import pyotp

from keepdown.auth import Role
from tests.web.conftest import PASSWORD, Web


def _audit(web: Web, action: str) -> list:
    return web.services.auth.audit_log.list_records(limit=100, action=action)


def test_sign_in_sets_a_safe_cookie_and_sign_out_ends_the_session(web: Web) -> None:
    response = web.sign_in(web.users[Role.ANALYST])
    assert response.status_code == 303
    cookie = response.headers["set-cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie
    assert "Path=/" in cookie
    assert web.client.get("/web/review").status_code == 200
    assert _audit(web, "web.sign_in")[0].outcome == "ok"
    web.post("/web/logout")
    assert web.client.get("/web/review", follow_redirects=False).status_code == 303


def test_secure_cookies_by_default(tmp_path) -> None:
    from fastapi.testclient import TestClient

    from tests.web.conftest import make_web

    app, services, ctx, _ = make_web(tmp_path, web_cookie_secure=True)
    with TestClient(app, base_url="https://127.0.0.1") as client:
        services.auth.ensure_organisation("acme")
        ctx.signin.add_user("ann", PASSWORD, organisation="acme", role="admin")
        web = Web(client, services, ctx, None)  # type: ignore[arg-type]
        cookie = web.sign_in("ann").headers["set-cookie"]
    assert cookie.startswith("__Host-kd_session=")
    assert "Secure" in cookie


def test_wrong_password_and_unknown_user_get_the_same_answer(web: Web) -> None:
    wrong = web.sign_in(web.users[Role.ANALYST], "not the password at all")
    unknown = web.sign_in("nobody-here", "not the password at all")
    assert (wrong.status_code, unknown.status_code) == (401, 401)
    assert "wrong username or password" in wrong.text
    assert "wrong username or password" in unknown.text
    reasons = [r.details.get("reason") for r in _audit(web, "web.sign_in")]
    assert {"wrong_password", "unknown_user"} <= set(reasons)


def test_failures_hold_a_name_back_without_ending_its_sessions(web: Web) -> None:
    name = web.users[Role.ANALYST]
    web.sign_in_as(Role.ANALYST)
    session = dict(web.client.cookies)
    web.client.cookies.clear()
    for _ in range(5):
        assert web.sign_in(name, "wrong password number x").status_code == 401
    held = web.sign_in(name)  # the right password, from a browser that never signed in
    assert held.status_code == 429
    assert int(held.headers["retry-after"]) > 0
    assert "too many failed sign-ins" in held.text
    assert "locked" not in held.text
    assert [r.target for r in _audit(web, "web.sign_in_throttled")] == [name]
    web.client.cookies.update(session)  # the session opened before the guessing lives on
    assert web.client.get("/web/review", follow_redirects=False).status_code == 200
    web.client.cookies.clear()
    web.clock.advance(timedelta(minutes=16))
    assert web.sign_in(name).status_code == 303


def test_forms_without_the_csrf_token_or_from_elsewhere_are_refused(web: Web) -> None:
    web.sign_in_as(Role.ANALYST)
    missing = web.client.post("/web/review/break", data={}, follow_redirects=False)
    wrong = web.client.post(
        "/web/review/break", data={"csrf_token": "x" * 43}, follow_redirects=False
    )
    token = web.csrf(web.client.get("/web/account").text)
    foreign = web.client.post(
        "/web/review/break",
        data={"csrf_token": token},
        headers={"Origin": "https://evil.test"},
        follow_redirects=False,
    )
    assert (missing.status_code, wrong.status_code, foreign.status_code) == (403, 403, 403)
    ok = web.client.post("/web/review/break", data={"csrf_token": token}, follow_redirects=False)
    assert ok.status_code == 303


def test_sign_in_form_needs_its_double_submit_token(web: Web) -> None:
    response = web.client.post(
        "/web/login",
        data={"username": web.users[Role.ADMIN], "password": PASSWORD},
        follow_redirects=False,
    )
    assert response.status_code == 403


def test_idle_and_absolute_expiry(web: Web) -> None:
    web.sign_in_as(Role.ANALYST)
    web.clock.advance(timedelta(minutes=31))
    assert web.client.get("/web/review", follow_redirects=False).status_code == 303
    web.sign_in_as(Role.ANALYST)
    for _ in range(25):  # busy for 12.5 hours: never idle, but past the absolute limit
        web.clock.advance(timedelta(minutes=29, seconds=59))
        web.client.get("/web/")
    assert web.client.get("/web/review", follow_redirects=False).status_code == 303


def test_second_factor_enrolment_sign_in_and_replay(web: Web) -> None:
    name = web.users[Role.ANALYST]
    web.sign_in_as(Role.ANALYST)
    page = web.client.get("/web/account").text
    secret = page.split('name="secret" value="')[1].split('"')[0]
    assert "<svg" in page  # the QR code, drawn on the server
    code = pyotp.TOTP(secret).at(web.clock.now())
    enrolled = web.client.post(
        "/web/account/totp",
        data={"secret": secret, "code": code, "current": PASSWORD, "csrf_token": web.csrf(page)},
        follow_redirects=False,
    )
    assert enrolled.status_code == 303
    web.client.cookies.clear()
    assert web.sign_in(name).headers["location"] == "/web/login/code"
    assert (
        web.client.get("/web/review", follow_redirects=False).headers["location"]
        == "/web/login/code"
    )
    form = web.client.get("/web/login/code").text
    # The code used at enrolment cannot be used again.
    replay = web.client.post("/web/login/code", data={"code": code, "csrf_token": web.csrf(form)})
    assert replay.status_code == 401
    web.clock.advance(timedelta(seconds=30))
    fresh = pyotp.TOTP(secret).at(web.clock.now())
    done = web.client.post(
        "/web/login/code",
        data={"code": fresh, "csrf_token": web.csrf(form)},
        follow_redirects=False,
    )
    assert done.status_code == 303
    assert web.client.get("/web/review").status_code == 200


def test_a_reset_password_must_be_changed_first(web: Web) -> None:
    name = web.users[Role.ANALYST]
    _, temporary = web.ctx.signin.reset_password(name)
    web.client.cookies.clear()
    assert web.sign_in(name, temporary).headers["location"] == "/web/account"
    assert (
        web.client.get("/web/review", follow_redirects=False).headers["location"] == "/web/account"
    )
    changed = web.post(
        "/web/account/password",
        {"current": temporary, "new": "a brand new passphrase", "repeat": "a brand new passphrase"},
    )
    assert changed.status_code == 303
    assert web.sign_in(name, "a brand new passphrase").status_code == 303
    assert web.client.get("/web/review").status_code == 200


def test_password_policy_refuses_weak_passwords(web: Web) -> None:
    web.sign_in_as(Role.ANALYST)
    for weak in ("short", "password1234", "aaaaaaaaaaaaaaaa", web.users[Role.ANALYST] + "12345"):
        response = web.post(
            "/web/account/password", {"current": PASSWORD, "new": weak, "repeat": weak}
        )
        assert response.status_code == 400, weak


def test_every_page_carries_the_strict_headers(web: Web) -> None:
    web.sign_in_as(Role.ADMIN)
    for path in ("/web/", "/web/review", "/web/login", "/web/report", "/web/nowhere"):
        response = web.client.get(path, follow_redirects=False)
        assert "script-src 'self'" in response.headers["content-security-policy"]
        assert "'unsafe-inline'" not in response.headers["content-security-policy"]
        assert response.headers["cache-control"] == "no-store"
        assert response.headers["x-frame-options"] == "DENY"
    static = web.client.get("/web/static/vendor/htmx.min.js")
    assert static.status_code == 200
    assert "max-age" in static.headers["cache-control"]
