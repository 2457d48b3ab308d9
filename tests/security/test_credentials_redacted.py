"""Issue 16, item 3: a credential is never echoed in an error nor kept in the audit log.

``Authorization: kd_...`` (no "Bearer ", or a tab after it) was refused with a message that
quoted the whole header, and the refusal's audit record kept it. Now the message quotes
nothing, a tab is accepted as the separator, and every audit record and log line goes
through redaction as a net under that rule.
"""

from __future__ import annotations

import base64
import logging

import pytest

from keepdown.auth import AuthService, InMemoryAuthStore, Role, keys
from keepdown.auth.model import AuditRecord
from keepdown.auth.redact import REDACTED, RedactingFilter, redact, redact_details, secret_field
from keepdown.errors import AuthError
from keepdown.testing import FrozenClock


@pytest.fixture
def auth() -> AuthService:
    store = InMemoryAuthStore()
    service = AuthService(store, store, clock=FrozenClock())
    service.add_organisation("acme")
    return service


@pytest.mark.parametrize(
    "header",
    ["{token}", "Token {token}", "bearer:{token}", "X {token}", "{token} Bearer"],
)
def test_an_unsupported_header_is_refused_without_quoting_it(auth, header) -> None:
    token = auth.issue_key("acme", Role.ADMIN).token
    secret = token.split("_", 2)[2]
    with pytest.raises(AuthError) as refused:
        keys.from_header(header.format(token=token))
    assert secret not in refused.value.message
    assert secret not in str(refused.value.to_dict())
    auth.record_refusal(refused.value, target="GET /api/v1/audit", key_id=None, client_ip=None)
    for record in auth.audit_log.list_records():
        assert secret not in repr(record)


def test_a_tab_or_several_spaces_separate_scheme_and_key(auth) -> None:
    token = auth.issue_key("acme", Role.ADMIN).token
    for header in (f"Bearer\t{token}", f"Bearer   {token}", f"  bearer {token}  "):
        assert keys.from_header(header) == token


def test_audit_records_are_redacted_whoever_writes_them(auth) -> None:
    token = auth.issue_key("acme", Role.ADMIN).token
    secret = token.split("_", 2)[2]
    basic = base64.b64encode(f"{token[3:19]}:{secret}".encode()).decode()
    auth.audit_log.record(
        AuditRecord(
            at=auth.clock.now(),
            action="web.sign_in",
            actor="anonymous",
            target=f"Authorization: Basic {basic}",
            details={"reason": f"got {token}", "password": "hunter2-hunter2", "nested": [token]},
        )
    )
    with auth.audited("key.issue", target=token, smtp_password="s3cret-Value") as found:
        found["note"] = f"https://user:pw-{secret}@127.0.0.1/"
    for record in auth.audit_log.list_records():
        text = repr(record)
        for planted in (secret, basic, "hunter2-hunter2", "s3cret-Value"):
            assert planted not in text


def test_redaction_keeps_what_is_not_a_secret() -> None:
    assert redact("Basic authentication failed for key kd_0123456789abcdef") == (
        "Basic authentication failed for key kd_0123456789abcdef"
    )
    assert redact("kd_0123456789abcdef_" + "A1b2" * 10) == f"kd_0123456789abcdef_{REDACTED}"
    assert redact_details({"key_id": "0123456789abcdef", "error": "rate_limited"}) == {
        "key_id": "0123456789abcdef",
        "error": "rate_limited",
    }
    assert [secret_field(n) for n in ("smtp_password", "totpSecret", "api_key", "pinned")] == [
        True,
        True,
        True,
        False,
    ]


def test_secret_named_fields_hide_values_but_not_flags() -> None:
    """A flag saying a secret was made is no secret; any value that could be one is hidden."""
    details = {
        "secret_made": True,
        "password_changed": False,
        "totp_secret": None,
        "webhook_secret": "whsec-planted",
        "pin": 4711,
        "otp": 123456.0,
        "api_key": ["kd-like", "list"],
        "secrets": {"smtp": "planted"},
    }
    assert redact_details(details) == {
        "secret_made": True,
        "password_changed": False,
        "totp_secret": None,
        "webhook_secret": REDACTED,
        "pin": REDACTED,
        "otp": REDACTED,
        "api_key": REDACTED,
        "secrets": REDACTED,
    }


def test_log_lines_are_redacted(caplog) -> None:
    logger = logging.getLogger("keepdown.test.redact")
    logger.addFilter(RedactingFilter())
    token = "kd_0123456789abcdef_" + "Zz9" * 15
    with caplog.at_level(logging.INFO, logger="keepdown.test.redact"):
        logger.info("refused %s", token)
        try:
            raise ValueError(f"bad header Bearer {token}")
        except ValueError:
            logger.exception("failed")
    assert "Zz9Zz9" not in caplog.text
