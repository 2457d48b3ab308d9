"""The feed endpoints: staff read feeds and quarantines, admins add and run feeds, staff lift
a quarantine; every change audited, secrets shown by variable name only."""

from __future__ import annotations

from keepdown.auth import Role
from tests.api.conftest import Api


def test_feeds_over_the_api(api: Api) -> None:
    body = {
        "name": "ncmec",
        "kind": "ncmec",
        "url": "http://127.0.0.1:9",
        "secrets": {"username": "NCMEC_USER", "password": "NCMEC_PASSWORD"},
        "every_seconds": 600,
        "quality_floor": 70,
    }
    c = api.client
    assert c.post("/api/v1/feeds", json=body, headers=api.auth(Role.ANALYST)).status_code == 403
    made = c.post("/api/v1/feeds", json=body, headers=api.auth(Role.ADMIN))
    assert made.status_code == 201, made.text
    assert made.json()["secrets"] == {"username": "$NCMEC_USER", "password": "$NCMEC_PASSWORD"}
    assert made.json()["guards"]["quality_floor"] == 70
    bad = {**body, "name": "other", "options": {"nonsense": 1}}
    assert c.post("/api/v1/feeds", json=bad, headers=api.auth(Role.ADMIN)).status_code == 400
    listed = c.get("/api/v1/feeds", headers=api.auth(Role.ANALYST)).json()["feeds"]
    assert [f["name"] for f in listed] == ["ncmec"]
    assert c.get("/api/v1/feeds/nope", headers=api.auth(Role.ANALYST)).status_code == 404
    assert c.post("/api/v1/feeds/ncmec/run", headers=api.auth(Role.ADMIN)).json()["due"]
    resync = c.post("/api/v1/feeds/ncmec/resync", headers=api.auth(Role.ADMIN)).json()
    assert resync["generation"] == 1

    runtime = api.services
    bank = runtime.storage.banks.get_bank("ncmec")
    from keepdown.banks.records import EntryRecord
    from keepdown.hashing.types import SignalType

    runtime.banks.add_entry("ncmec", EntryRecord(SignalType.MD5, "ab" * 16))
    entry = runtime.storage.banks.get_entry(bank.id, "md5", "ab" * 16)
    runtime.exchanges.quarantine_store.open(entry.id, 60, 0.0, 50, 3600, runtime.clock.now())
    (active,) = c.get("/api/v1/quarantines", headers=api.auth(Role.ANALYST)).json()["quarantines"]
    assert active["state"] == "active"
    assert "60 matches" in active["why"]
    lift = c.post(
        f"/api/v1/quarantines/{entry.id}/lift",
        json={"note": "a test card"},
        headers=api.auth(Role.ANALYST),
    )
    assert lift.status_code == 200, lift.text
    assert lift.json()["state"] == "lifted"
    got = c.get("/api/v1/quarantines?state=active", headers=api.auth(Role.ANALYST)).json()
    assert got["quarantines"] == []
    actions = {r.action for r in runtime.auth.audit_log.list_records(limit=100)}
    assert {"feed.add", "feed.run_soon", "feed.resync", "feed.quarantine.lift"} <= actions
