"""``keepdown serve --demo``'s seed: the demo analyst can sign in to the web pages with the
printed password; a second run adds nothing, issues a new key and a new password (the old
one stops working), and never touches a person of another organisation."""

from __future__ import annotations

from pathlib import Path

import pytest

from keepdown.app import DEMO_BANK, DEMO_USER, Runtime
from keepdown.app import seed_demo as seed_runtime
from keepdown.auth import Role
from keepdown.auth.passwords import Passwords
from keepdown.errors import AuthError, Conflict
from keepdown.settings import load_settings


@pytest.fixture
def settings(tmp_path: Path):
    return load_settings(environ={}, overrides={"data_dir": str(tmp_path / "data")})


def seed_demo(settings):
    with Runtime.open(settings) as runtime:
        return seed_runtime(runtime)


def _sign_in(settings, username: str, password: str):
    with Runtime.open(settings) as runtime:
        return runtime.signin.sign_in(username, password)


def test_the_demo_analyst_signs_in_with_the_printed_password(settings) -> None:
    info = seed_demo(settings)
    assert (info.web_user, len(info.web_password)) == (DEMO_USER, 20)
    signed = _sign_in(settings, info.web_user, info.web_password)
    # an analyst of the operator organisation: case work (the queue, notices) is the operator's
    operator = str(settings.operator_organisation)
    assert (signed.user.organisation, signed.user.role) == (operator, Role.ANALYST)
    assert not signed.user.must_change_password  # the random password is the demo's own
    assert not signed.session.pending_totp


def test_a_second_seed_adds_nothing_and_makes_new_secrets(settings) -> None:
    first = seed_demo(settings)
    second = seed_demo(settings)
    assert second.entries_added == 0
    assert second.token != first.token
    assert second.web_password != first.web_password
    with pytest.raises(AuthError):
        _sign_in(settings, DEMO_USER, first.web_password)
    assert _sign_in(settings, DEMO_USER, second.web_password).user.username == DEMO_USER
    with Runtime.open(settings) as services:
        people = services.signin.store.list_users()
        assert [p.username for p in people] == [DEMO_USER]
        assert [b.name for b in services.storage.banks.list_banks()] == [DEMO_BANK]
        seeds = services.auth.audit_log.list_records(action="demo.seed")
        assert [(r.outcome, r.details["web_user"]) for r in seeds] == [("ok", DEMO_USER)] * 2
        assert seeds[0].details["key_id"] != seeds[1].details["key_id"]


def test_a_person_of_another_organisation_called_like_the_demo_is_left_alone(settings) -> None:
    with Runtime.open(settings) as services:
        services.auth.ensure_organisation("hotline")
        signin = services.signin
        signin.passwords = Passwords(time_cost=1, memory_cost=1024)
        signin.add_user(
            DEMO_USER, "a long passphrase of theirs", organisation="hotline", role="admin"
        )
    with pytest.raises(Conflict):
        seed_demo(settings)
    assert (
        _sign_in(settings, DEMO_USER, "a long passphrase of theirs").user.organisation == "hotline"
    )
