"""A provider's cadence in minutes and its answer rules through the API (issue 24, items 3
and 5); the older whole-hour fields still read."""

from __future__ import annotations

from keepdown.auth import Role
from tests.api.conftest import Api

BASE = {"abuse_contacts": ["abuse@host.test"]}


def test_minutes_rules_and_hours(api: Api) -> None:
    admin = api.auth(Role.ADMIN)
    body = {**BASE, "name": "Fast", "recheck_minutes": 5, "forbidden_means": "removed"}
    made = api.client.post("/api/v1/providers", json=body, headers=admin)
    assert made.status_code == 201, made.text
    shown = made.json()
    assert (shown["recheck_minutes"], shown["renotice_minutes"], shown["escalate_minutes"]) == (
        5,
        1440,
        4320,
    )
    assert (shown["forbidden_means"], shown["unmatched_means"]) == ("removed", "confirm")
    older = {**BASE, "name": "Older", "recheck_hours": 2, "escalate_hours": 48}
    shown = api.client.post("/api/v1/providers", json=older, headers=admin).json()
    assert (shown["recheck_minutes"], shown["escalate_minutes"]) == (120, 2880)
    patched = api.client.patch(
        "/api/v1/providers/Older",
        json={"renotice_minutes": 90, "unmatched_means": "removed"},
        headers=admin,
    ).json()
    assert (patched["renotice_minutes"], patched["unmatched_means"]) == (90, "removed")
    for bad in (
        {"recheck_minutes": 0},
        {"recheck_minutes": 5, "recheck_hours": 1},
        {"unmatched_means": "error"},
        {"forbidden_means": "maybe"},
    ):
        refused = api.client.patch("/api/v1/providers/Older", json=bad, headers=admin)
        assert refused.status_code in (400, 422), (bad, refused.text)
