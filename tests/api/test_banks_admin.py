"""Banks, keys and the audit log through the API; the index follows bank changes live."""

from __future__ import annotations

import json
import time

from fastapi.testclient import TestClient

from keepdown.app import build_app
from keepdown.auth import Role
from keepdown.hashing import hash_bytes
from tests.api.conftest import Api, known_jpeg, make_settings

MD5S = [f"{i:032x}" for i in range(1, 6)]


def test_bank_lifecycle_create_import_page_export_remove(api: Api) -> None:
    admin, analyst = api.auth(Role.ADMIN), api.auth(Role.ANALYST)
    created = api.client.post(
        "/api/v1/banks", json={"name": "local", "label": "csam", "trust": "auto"}, headers=admin
    )
    assert created.status_code == 201, created.text
    assert created.json()["classification"] == "csam"
    assert created.json()["owner"] == "acme"
    again = api.client.post("/api/v1/banks", json={"name": "local"}, headers=admin)
    assert again.status_code == 409
    imported = api.client.post(
        "/api/v1/banks/local/import?format=plain&signal_type=md5",
        content="\n".join(MD5S).encode(),
        headers=admin,
    )
    assert imported.status_code == 200, imported.text
    assert imported.json()["added"] == 5
    page1 = api.client.get("/api/v1/banks/local/entries?limit=3", headers=analyst).json()
    page2 = api.client.get(
        f"/api/v1/banks/local/entries?limit=3&after={page1['next_after']}", headers=analyst
    ).json()
    assert [e["value"] for e in page1["entries"] + page2["entries"]] == MD5S
    assert page2["next_after"] is None
    removed = api.client.delete(
        f"/api/v1/banks/local/entries/md5/{MD5S[0]}?reason=false-positive", headers=admin
    )
    assert removed.status_code == 200, removed.text
    assert removed.json()["reason"] == "false-positive"
    exported = api.client.get("/api/v1/banks/local/export?format=jsonl", headers=analyst)
    lines = [json.loads(line) for line in exported.text.splitlines() if line.strip()]
    tombstones = [line for line in lines if line.get("removed")]
    assert [t["value"] for t in tombstones] == [MD5S[0]]
    listed = api.client.get("/api/v1/banks", headers=analyst).json()["banks"]
    assert [(b["name"], b["active_entries"], b["removed_entries"]) for b in listed] == [
        ("local", 4, 1)
    ]
    assert api.client.get("/api/v1/banks/nope", headers=analyst).status_code == 404
    actions = [r.action for r in api.services.auth.audit_log.list_records()]
    for action in ("bank.create", "bank.import", "bank.entry.remove", "bank.export"):
        assert action in actions


def test_bad_import_is_refused_whole_with_line_numbers(api: Api) -> None:
    admin = api.auth(Role.ADMIN)
    api.client.post("/api/v1/banks", json={"name": "local"}, headers=admin)
    response = api.client.post(
        "/api/v1/banks/local/import?format=plain&signal_type=md5",
        content=f"{MD5S[0]}\nnot-a-hash\n".encode(),
        headers=admin,
    )
    assert response.status_code == 400
    assert response.json()["code"] == "import_format_error"
    assert "2" in json.dumps(response.json()["details"])
    assert api.client.get("/api/v1/banks/local", headers=admin).json()["active_entries"] == 0


def test_keys_issued_listed_and_revoked_through_the_api(api: Api) -> None:
    admin = api.auth(Role.ADMIN)
    org = api.client.post("/api/v1/organisations", json={"name": "hoster"}, headers=admin)
    assert org.status_code == 201
    issued = api.client.post(
        "/api/v1/keys",
        json={"organisation": "hoster", "role": "platform", "expires_in": "30d"},
        headers=admin,
    )
    assert issued.status_code == 201, issued.text
    token, key_id = issued.json()["token"], issued.json()["key_id"]
    platform = {"Authorization": f"Bearer {token}"}
    batch = {"hashes": [{"signal_type": "md5", "value": MD5S[0]}]}
    assert api.client.post("/api/v1/match/hashes", json=batch, headers=platform).status_code == 200
    listed = api.client.get("/api/v1/keys?organisation=hoster", headers=admin).json()["keys"]
    assert [k["key_id"] for k in listed] == [key_id]
    assert "token" not in listed[0]
    assert api.client.delete(f"/api/v1/keys/{key_id}", headers=admin).status_code == 200
    refused = api.client.post("/api/v1/match/hashes", json=batch, headers=platform)
    assert refused.status_code == 401
    records = api.client.get("/api/v1/audit?action=key.revoke", headers=admin).json()["records"]
    assert records[0]["target"] == key_id
    assert records[0]["client_ip"] == "testclient"
    assert records[0]["role"] == "admin"


def test_error_bodies_have_one_shape_and_no_traceback(api: Api) -> None:
    def boom() -> None:
        raise RuntimeError("secret internals")

    api.client.app.add_api_route("/boom", boom)
    client = TestClient(api.client.app, raise_server_exceptions=False)
    crashed = client.get("/boom")
    assert crashed.status_code == 500
    assert crashed.json() == {"code": "internal_error", "message": "internal error"}
    missing = client.get("/api/v1/nothing-here")
    assert (missing.status_code, missing.json()["code"]) == (404, "not_found")
    wrong_method = client.put("/api/v1/health")
    assert (wrong_method.status_code, wrong_method.json()["code"]) == (405, "method_not_allowed")
    invalid = client.post(
        "/api/v1/match/hashes", content=b"{not json", headers=api.auth(Role.ADMIN)
    )
    assert (invalid.status_code, invalid.json()["code"]) == (400, "invalid_input")


def test_rate_limit_per_key_answers_429_with_retry_after(tmp_path) -> None:
    settings = make_settings(tmp_path, rate_limit_platform="3/minute")
    app, services = build_app(settings, refresh_in_background=False)
    with TestClient(app) as client:
        services.auth.ensure_organisation("acme")
        one = {"Authorization": f"Bearer {services.auth.issue_key('acme', Role.PLATFORM).token}"}
        two = {"Authorization": f"Bearer {services.auth.issue_key('acme', Role.PLATFORM).token}"}
        batch = {"hashes": [{"signal_type": "md5", "value": MD5S[0]}]}
        codes = [
            client.post("/api/v1/match/hashes", json=batch, headers=one).status_code
            for _ in range(4)
        ]
        assert codes == [200, 200, 200, 429]
        limited = client.post("/api/v1/match/hashes", json=batch, headers=one)
        assert limited.json()["code"] == "rate_limited"
        assert int(limited.headers["Retry-After"]) >= 1
        assert client.post("/api/v1/match/hashes", json=batch, headers=two).status_code == 200


def test_index_follows_bank_changes_without_restart(tmp_path) -> None:
    settings = make_settings(tmp_path, index_refresh_seconds=0.05)
    app, services = build_app(settings)
    known = hash_bytes(known_jpeg(), mode="exact")
    batch = {"hashes": [{"signal_type": "pdq", "value": known.pdq.hex}]}
    with TestClient(app) as client:
        services.auth.ensure_organisation("acme")
        admin = {"Authorization": f"Bearer {services.auth.issue_key('acme', Role.ADMIN).token}"}

        def matched() -> bool:
            response = client.post("/api/v1/match/hashes", json=batch, headers=admin)
            return response.json()["results"][0]["matched"]

        def eventually(expected: bool) -> None:
            deadline = time.monotonic() + 10
            while matched() is not expected:
                assert time.monotonic() < deadline, f"index never became matched={expected}"
                time.sleep(0.05)

        assert matched() is False
        client.post("/api/v1/banks", json={"name": "live"}, headers=admin)
        client.post(
            "/api/v1/banks/live/import?format=plain&signal_type=pdq",
            content=known.pdq.hex.encode(),
            headers=admin,
        )
        eventually(True)
        client.delete(f"/api/v1/banks/live/entries/pdq/{known.pdq.hex}", headers=admin)
        eventually(False)
        client.post(
            "/api/v1/banks/live/import?format=plain&signal_type=pdq&restore=true",
            content=known.pdq.hex.encode(),
            headers=admin,
        )
        eventually(True)
        services.banks.set_enabled("live", False)
        eventually(False)
        client.patch("/api/v1/banks/live", json={"enabled": True}, headers=admin)
        eventually(True)
        client.patch("/api/v1/banks/live", json={"enabled": False}, headers=admin)
        eventually(False)


def test_metrics_count_requests_without_naming_hashes(api: Api) -> None:
    api.client.post(
        "/api/v1/match/hashes",
        json={"hashes": [{"signal_type": "md5", "value": MD5S[0]}]},
        headers=api.auth(Role.PLATFORM),
    )
    text = api.client.get("/metrics").text
    assert 'keepdown_api_requests_total{method="POST",route="/api/v1/match/hashes"' in text
    assert MD5S[0] not in text
    assert api.client.get("/api/v1/ready").json() == {"status": "ready"}


def test_bank_list_pages_by_name_with_a_total(api: Api) -> None:
    admin = api.auth(Role.ADMIN)
    for name in ("c-bank", "a-bank", "b-bank"):
        api.client.post("/api/v1/banks", json={"name": name}, headers=admin)
    first = api.client.get("/api/v1/banks?limit=2", headers=admin).json()
    assert [b["name"] for b in first["banks"]] == ["a-bank", "b-bank"]
    assert (first["total"], first["next_after"]) == (3, "b-bank")
    rest = api.client.get("/api/v1/banks?limit=2&after=b-bank", headers=admin).json()
    assert [b["name"] for b in rest["banks"]] == ["c-bank"]
    assert (rest["total"], rest["next_after"]) == (3, None)


def test_patch_changes_settings_and_refuses_bad_ones(api: Api) -> None:
    admin = api.auth(Role.ADMIN)
    api.client.post("/api/v1/banks", json={"name": "tuned"}, headers=admin)
    patched = api.client.patch(
        "/api/v1/banks/tuned",
        json={"trust": "auto", "thresholds": {"pdq": 20}, "label": "csam"},
        headers=admin,
    )
    assert patched.status_code == 200, patched.text
    body = patched.json()
    assert (body["trust"], body["thresholds"], body["classification"]) == (
        "auto",
        {"pdq": 20},
        "csam",
    )
    assert body["updated_at"] > body["created_at"] or body["updated_at"] == body["created_at"]
    assert (
        api.client.patch(
            "/api/v1/banks/tuned", json={"label": "no-such-label"}, headers=admin
        ).status_code
        == 400
    )
    assert (
        api.client.patch(
            "/api/v1/banks/tuned", json={"thresholds": {"pdq": 999}}, headers=admin
        ).status_code
        == 400
    )
    assert api.client.patch("/api/v1/banks/nope", json={}, headers=admin).status_code == 404
    record = api.services.auth.audit_log.list_records(action="bank.update")[-1]
    assert (record.outcome, record.details["trust"]) == ("ok", "auto")


def test_patch_opts_a_bank_in_to_robust_matches(api: Api) -> None:
    admin = api.auth(Role.ADMIN)
    created = api.client.post("/api/v1/banks", json={"name": "wide"}, headers=admin)
    assert created.json()["robust"] is False
    patched = api.client.patch("/api/v1/banks/wide", json={"robust": True}, headers=admin)
    assert patched.status_code == 200, patched.text
    assert patched.json()["robust"] is True
    assert api.client.get("/api/v1/banks/wide", headers=admin).json()["robust"] is True
    assert api.services.banks.store.get_bank("wide").robust is True
    record = api.services.auth.audit_log.list_records(action="bank.update")[-1]
    assert (record.outcome, record.details["robust"]) == ("ok", True)
    analyst = api.auth(Role.ANALYST)
    refused = api.client.patch("/api/v1/banks/wide", json={"robust": False}, headers=analyst)
    assert refused.status_code == 403
    off = api.client.patch("/api/v1/banks/wide", json={"robust": False}, headers=admin)
    assert off.json()["robust"] is False
    assert api.client.patch(
        "/api/v1/banks/wide", json={"robust": "x"}, headers=admin
    ).status_code in (400, 422)


def test_import_streams_past_the_upload_cap_up_to_its_own_limit(tmp_path) -> None:
    settings = make_settings(tmp_path, max_upload_bytes=4096, bank_import_max_bytes=200_000)
    app, services = build_app(settings, refresh_in_background=False)
    lines = "\n".join(f"{i:032x}" for i in range(3000)).encode()  # ~99 KB, over 4 KiB
    with TestClient(app) as client:
        services.auth.ensure_organisation("acme")
        admin = {"Authorization": f"Bearer {services.auth.issue_key('acme', Role.ADMIN).token}"}
        client.post("/api/v1/banks", json={"name": "big"}, headers=admin)
        url = "/api/v1/banks/big/import?format=plain&signal_type=md5"
        done = client.post(url, content=lines, headers=admin)
        assert done.status_code == 200, done.text
        assert done.json()["added"] == 3000
        too_big = client.post(url, content=lines * 3, headers=admin)
        assert too_big.status_code == 413
        assert "bank_import_max_bytes" in too_big.json()["message"]
        assert "200,000" in too_big.json()["message"]
        # other bodies keep the upload cap, and its 413 quotes it
        upload = client.post("/api/v1/hash", content=b"x" * 5000, headers=admin)
        assert upload.status_code == 413
        assert "max_upload_bytes" in upload.json()["message"]
        assert "4,096" in upload.json()["message"]
        multipart = client.post(url, files={"file": ("x.txt", lines[:100])}, headers=admin)
        assert multipart.status_code == 400
        # the export streams back everything, in chunks
        with client.stream(
            "GET", "/api/v1/banks/big/export?format=plain", headers=admin
        ) as response:
            chunks = list(response.iter_bytes())
        assert b"".join(chunks).split() == lines.split()
        exported = services.auth.audit_log.list_records(action="bank.export")[0]
        assert (exported.outcome, exported.details["entries"]) == ("ok", 3000)
        imports = services.auth.audit_log.list_records(action="bank.import")
        # the too-large body was refused by the body limit before any import began
        assert [r.outcome for r in imports] == ["failed", "ok"]
        assert imports[0].details["error"] == "invalid_input"  # the multipart one


def test_audit_is_written_before_the_action_and_settled_after(api: Api) -> None:
    admin = api.auth(Role.ADMIN)
    api.client.post("/api/v1/banks", json={"name": "audited"}, headers=admin)
    bad = api.client.post(
        "/api/v1/banks/audited/import?format=plain&signal_type=md5",
        content=b"not-a-hash",
        headers=admin,
    )
    assert bad.status_code == 400
    record = api.services.auth.audit_log.list_records(action="bank.import")[0]
    assert (record.outcome, record.details["error"]) == ("failed", "import_format_error")
    created = api.services.auth.audit_log.list_records(action="bank.create")[0]
    assert created.outcome == "ok"
    assert created.target == "audited"
    # a write-ahead record nothing settled stays visible as "started"
    auth = api.services.auth
    pending = auth.begin_audit("bank.import", target="audited")
    assert auth.audit_log.list_records(action="bank.import")[0].outcome == "started"
    auth.settle_audit(pending, added=1)
    assert auth.audit_log.list_records(action="bank.import")[0].details["added"] == 1
    page = api.client.get("/api/v1/audit?limit=2", headers=admin).json()
    older = api.client.get(f"/api/v1/audit?before={page['next_before']}", headers=admin).json()
    assert page["records"][-1]["id"] > older["records"][0]["id"]
