"""Issue 16, item 2: only the operator decides what is acted on.

Matching is pooled: every organisation's uploads are matched against the banks that take part.
A partner organisation's admin owns its banks but may not make one act without review
(``trust: auto``) nor move its thresholds, and its banks take no part in matching until an
operator admin accepts them (audited, a ``BankChanged`` event). Thresholds are bounded by the
``bank_max_pdq_distance`` setting, also for the operator, and a stored value above it (set
before the bound) is matched at the bound. The same rules hold at every door because they are
the bank service's (the API, the CLI; the web has no setting form but shows acceptance).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from keepdown.auth import Role
from keepdown.banks.model import TrustLevel, matching_view
from keepdown.banks.records import EntryRecord
from keepdown.cli import cli
from keepdown.errors import Forbidden, InvalidInput
from keepdown.events import BankChanged
from keepdown.hashing import hash_bytes
from keepdown.hashing.types import SignalType
from keepdown.testing import synthetic_jpeg
from tests.api.conftest import Api, known_jpeg
from tests.api.conftest import api as _api_fixture

api = _api_fixture  # the API's fixture: acme (the operator) with a key of every role

PARTNER = "partner"


def _bearer(api: Api, organisation: str, role: Role) -> dict[str, str]:
    api.services.auth.ensure_organisation(organisation)
    return {"Authorization": f"Bearer {api.services.auth.issue_key(organisation, role).token}"}


def _partner_bank_with_known_picture(api: Api, admin: dict[str, str], **body: object) -> None:
    made = api.client.post("/api/v1/banks", json={"name": "partner-bank", **body}, headers=admin)
    assert made.status_code == 201, made.text
    sha256 = hash_bytes(known_jpeg(), mode="exact").sha256.hex
    api.services.banks.add_entry("partner-bank", EntryRecord(SignalType.SHA256, sha256))
    api.services.index.refresh()


def _verdict(api: Api) -> str:
    found = api.client.post("/api/v1/match", content=known_jpeg(), headers=api.auth(Role.PLATFORM))
    assert found.status_code == 200, found.text
    return str(found.json()["verdict"])


def test_a_partner_admin_cannot_make_a_bank_act_nor_move_its_thresholds(api: Api) -> None:
    admin = _bearer(api, PARTNER, Role.ADMIN)
    auto = {"name": "partner-auto", "trust": "auto"}
    assert api.client.post("/api/v1/banks", json=auto, headers=admin).status_code == 403
    wide = {"name": "partner-wide", "thresholds": {"pdq": 128}}
    assert api.client.post("/api/v1/banks", json=wide, headers=admin).status_code == 403
    _partner_bank_with_known_picture(api, admin)
    for change in ({"trust": "auto"}, {"thresholds": {"pdq": 40}}, {"accepted": True}):
        refused = api.client.patch("/api/v1/banks/partner-bank", json=change, headers=admin)
        assert refused.status_code == 403, (change, refused.text)
    bank = api.services.banks.show_bank("partner-bank").bank
    assert (bank.trust, dict(bank.thresholds), bank.accepted_at) == (TrustLevel.REVIEW, {}, None)
    # what it may still change: its own bank's enabled flag and label
    ok = api.client.patch("/api/v1/banks/partner-bank", json={"enabled": False}, headers=admin)
    assert ok.status_code == 200, ok.text


def test_a_partner_bank_matches_only_once_an_operator_admin_accepts_it(api: Api) -> None:
    admin = _bearer(api, PARTNER, Role.ADMIN)
    _partner_bank_with_known_picture(api, admin)
    shown = api.client.get("/api/v1/banks/partner-bank", headers=admin).json()
    assert (shown["pooled"], shown["accepted_by"]) == (False, None)
    assert _verdict(api) == "no_match"  # the partner alone decided nothing for anyone

    operator = api.auth(Role.ADMIN)
    accepted = api.client.patch(
        "/api/v1/banks/partner-bank", json={"accepted": True}, headers=operator
    )
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["pooled"] is True
    assert accepted.json()["trust"] == "review"
    api.services.index.refresh()
    assert _verdict(api) == "review"  # it takes part now, and a person still decides

    (record,) = [
        r
        for r in api.services.auth.audit_log.list_records(action="bank.update")
        if r.details.get("accepted") is True
    ]
    assert (record.outcome, record.target) == ("ok", "partner-bank")
    events = [e for e in api.services.storage.events.read() if isinstance(e, BankChanged)]
    assert any(e.bank == "partner-bank" and e.changes.get("accepted") is True for e in events)

    withdrawn = api.client.patch(
        "/api/v1/banks/partner-bank", json={"accepted": False}, headers=operator
    )
    assert withdrawn.json()["pooled"] is False
    api.services.index.refresh()
    assert _verdict(api) == "no_match"


def test_acceptance_sets_trust_back_to_review_unless_the_operator_says_auto(api: Api) -> None:
    admin = _bearer(api, PARTNER, Role.ADMIN)
    _partner_bank_with_known_picture(api, admin)
    # a partner bank made auto before the rule (straight in the store): not acted on when
    # accepted unless the operator asks for it in the same change
    api.services.banks.change("partner-bank", trust="auto")
    operator = api.auth(Role.ADMIN)
    api.client.patch("/api/v1/banks/partner-bank", json={"accepted": True}, headers=operator)
    assert api.services.banks.show_bank("partner-bank").bank.trust is TrustLevel.REVIEW
    both = {"accepted": True, "trust": "auto"}
    assert api.client.patch("/api/v1/banks/partner-bank", json=both, headers=operator).is_success
    api.services.index.refresh()
    assert _verdict(api) == "confirmed"


def test_thresholds_are_bounded_for_the_operator_too(api: Api) -> None:
    operator = api.auth(Role.ADMIN)
    bound = api.services.settings.bank_max_pdq_distance
    made = api.client.post("/api/v1/banks", json={"name": "op"}, headers=operator)
    assert made.status_code == 201
    for value in (bound + 1, 128, 256):
        wide = api.client.patch(
            "/api/v1/banks/op", json={"thresholds": {"pdq": value}}, headers=operator
        )
        assert wide.status_code == 400, (value, wide.text)
    exact = api.client.patch("/api/v1/banks/op", json={"thresholds": {"md5": 3}}, headers=operator)
    assert exact.status_code == 400
    inside = api.client.patch(
        "/api/v1/banks/op", json={"thresholds": {"pdq": bound}}, headers=operator
    )
    assert inside.status_code == 200
    with pytest.raises(InvalidInput):
        api.services.banks.change("op", thresholds={"pdq": bound + 1})


def test_a_threshold_stored_above_the_bound_is_matched_at_the_bound(api: Api) -> None:
    api.services.banks.create_bank("old", owner="acme")
    bank = api.services.banks.store.change_settings  # the store takes what it is given
    from keepdown.banks.model import BankSettingsChange

    stored = bank("old", BankSettingsChange(thresholds={"pdq": 200}), api.services.clock.now())
    view = matching_view(stored, operator="acme", max_distance=40)
    assert view.threshold("pdq") == 40
    assert view.enabled
    partner = matching_view(
        api.services.banks.create_bank("p", owner=PARTNER), operator="acme", max_distance=40
    )
    assert not partner.enabled


def test_the_service_refuses_a_partner_whatever_the_door() -> None:
    from keepdown.banks.service import BankService
    from keepdown.storage import open_storage_url

    storage = open_storage_url("sqlite://")
    service = BankService(storage.banks, storage.events, max_distance=40)
    with pytest.raises(Forbidden):
        service.create_bank("x", owner=PARTNER, trust="auto", by_operator=False)
    service.create_bank("x", owner=PARTNER, by_operator=False)
    with pytest.raises(Forbidden):
        service.change("x", thresholds={"pdq": 10}, by_operator=False)
    with pytest.raises(Forbidden):
        service.change("x", accepted=True, by_operator=False)


def test_the_cli_accepts_and_withdraws_a_bank(tmp_path: Path) -> None:
    runner = CliRunner()
    base = ["--data-dir", str(tmp_path / "data")]
    assert runner.invoke(cli, [*base, "bank", "create", "p", "--owner", PARTNER]).exit_code == 0
    wide = runner.invoke(cli, [*base, "bank", "create", "w", "--threshold", "pdq=200"])
    assert wide.exit_code != 0
    assert "200" in wide.output
    accepted = runner.invoke(cli, [*base, "bank", "accept", "p"])
    assert accepted.exit_code == 0, accepted.output
    shown = runner.invoke(cli, [*base, "bank", "show", "p", "--format", "json"])
    assert '"pooled": true' in shown.output
    withdrawn = runner.invoke(cli, [*base, "bank", "accept", "p", "--withdraw"])
    assert withdrawn.exit_code == 0, withdrawn.output
    shown = runner.invoke(cli, [*base, "bank", "show", "p", "--format", "json"])
    assert '"pooled": false' in shown.output


def test_other_pictures_never_become_matches_through_a_partner(api: Api) -> None:
    admin = _bearer(api, PARTNER, Role.ADMIN)
    _partner_bank_with_known_picture(api, admin)
    other = api.client.post(
        "/api/v1/match", content=synthetic_jpeg(99), headers=api.auth(Role.PLATFORM)
    )
    assert other.json()["verdict"] == "no_match"
