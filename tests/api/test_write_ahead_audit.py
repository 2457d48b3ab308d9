"""Providers, URL reports and notices record their actions write-ahead: a ``started`` record
before the action, settled ``ok`` or ``failed`` after it; no record, no action."""

from __future__ import annotations

from keepdown.auth import Role
from keepdown.errors import StorageError
from tests.api.conftest import Api


def _records(api: Api, action: str) -> list[tuple[str, str, dict]]:
    found = api.services.auth.audit_log.list_records(limit=100, action=action)
    return [(r.outcome, r.target, r.details) for r in reversed(found)]


def test_provider_changes_are_recorded_then_settled(api: Api) -> None:
    admin = api.auth(Role.ADMIN)
    body = {"name": "Host A", "channel": "webhook", "webhook_url": "https://hooks.host-a.test/"}
    assert api.client.post("/api/v1/providers", json=body, headers=admin).status_code == 201
    again = api.client.post("/api/v1/providers", json=body, headers=admin)
    assert again.status_code == 409
    (ok, target, details), (failed, _, failure) = _records(api, "provider.create")
    assert (ok, target, details["secret_made"]) == ("ok", "Host A", True)
    assert (failed, failure["error"]) == ("failed", "conflict")

    patch = {"country": "FR"}
    assert api.client.patch("/api/v1/providers/Host A", json=patch, headers=admin).is_success
    missing = api.client.patch("/api/v1/providers/Nobody", json=patch, headers=admin)
    assert missing.status_code == 404
    assert [(o, t) for o, t, _ in _records(api, "provider.edit")] == [
        ("ok", "Host A"),
        ("failed", "Nobody"),
    ]


def test_a_report_is_recorded_with_its_reference(api: Api) -> None:
    made = api.client.post(
        "/api/v1/reports", json={"url": "https://example.org/a"}, headers=api.auth(Role.ANALYST)
    ).json()
    ((outcome, _, details),) = _records(api, "report.create")
    assert outcome == "ok"
    assert (details["reference"], details["intake"]) == (made["reference"], "new")


def test_a_notice_review_of_an_unknown_notice_is_recorded_as_failed(api: Api) -> None:
    body = {"reference": "KDN-404", "location_id": 1, "outcome": "upheld"}
    answer = api.client.post("/api/v1/notices/review", json=body, headers=api.auth(Role.ANALYST))
    assert answer.status_code == 404
    ((outcome, target, details),) = _records(api, "notice.review")
    assert (outcome, target, details["decision"], details["error"]) == (
        "failed",
        "KDN-404",
        "upheld",
        "not_found",
    )


def test_a_reopening_is_recorded_and_only_staff_may_ask(api: Api) -> None:
    body = {"reference": "KDN-404", "location_id": 1, "reason": "seen again"}
    refused = api.client.post("/api/v1/notices/reopen", json=body, headers=api.auth(Role.PROVIDER))
    assert refused.status_code == 403
    answer = api.client.post("/api/v1/notices/reopen", json=body, headers=api.auth(Role.ANALYST))
    assert answer.status_code == 404
    ((outcome, target, details),) = _records(api, "notice.reopen")
    assert (outcome, target, details["location_id"]) == ("failed", "KDN-404", 1)


def test_no_action_runs_when_its_record_cannot_be_written(api: Api) -> None:
    log = api.services.auth.audit_log

    def unwritable(entry):
        raise StorageError("the audit log is unavailable")

    log.record = unwritable
    made = api.client.post(
        "/api/v1/providers", json={"name": "Host B"}, headers=api.auth(Role.ADMIN)
    )
    assert made.status_code == 503
    del log.record  # the store's own method again
    assert (
        api.client.get("/api/v1/providers/Host B", headers=api.auth(Role.ADMIN)).status_code == 404
    )
