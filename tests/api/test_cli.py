"""The org, key and serve commands: keys made on the command line work against the API."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from click.testing import CliRunner

from keepdown.app import DEMO_BANK, Runtime, seed_demo
from keepdown.app.demo import DEMO_KEY_LIFETIME
from keepdown.cli import cli
from keepdown.settings import load_settings
from keepdown.storage import open_storage
from keepdown.storage.auth_store import SqlAuthStore
from tests.api.conftest import make_settings

SAMPLES = Path(__file__).resolve().parents[2] / "keepdown" / "samples"


def run(tmp_path: Path, *args: str):
    result = CliRunner().invoke(cli, ["--data-dir", str(tmp_path / "data"), *args])
    return result


def test_org_and_key_commands(tmp_path: Path) -> None:
    assert run(tmp_path, "org", "add", "hoster").exit_code == 0
    assert run(tmp_path, "org", "add", "hoster").exit_code == 65  # Conflict
    created = run(tmp_path, "key", "create", "--org", "hoster", "--role", "platform")
    assert created.exit_code == 0, created.output
    key_line, token = created.output.strip().splitlines()
    key_id = key_line.split()[2]
    assert token.startswith(f"kd_{key_id}_")
    listed = run(tmp_path, "key", "list", "--org", "hoster").output
    assert key_id in listed
    assert "active" in listed
    assert token not in listed
    assert run(tmp_path, "key", "revoke", key_id).exit_code == 0
    assert "revoked" in run(tmp_path, "key", "list").output
    missing = run(tmp_path, "key", "create", "--org", "nobody", "--role", "admin")
    assert missing.exit_code == 66
    bad = run(tmp_path, "key", "create", "--org", "hoster", "--role", "admin", "--expires", "soon")
    assert bad.exit_code == 64


def test_a_fresh_database_has_the_operator_organisation(tmp_path: Path) -> None:
    """The documented first step works on a fresh data directory (issue 25, item 4)."""
    created = run(tmp_path, "key", "create", "--org", "local", "--role", "admin")
    assert created.exit_code == 0, created.output
    assert run(tmp_path, "org", "list").output.split()[0] == "local"
    assert run(tmp_path, "org", "add", "local").exit_code == 65  # already there
    # another operator name: that one is made (and `local` is not)
    other = CliRunner(env={"KEEPDOWN_OPERATOR_ORGANISATION": "hotline-x"}).invoke(
        cli, ["--data-dir", str(tmp_path / "other"), "org", "list"]
    )
    assert other.output.split()[0::2] == ["hotline-x"]
    # `keepdown db upgrade` alone leaves it there too
    upgraded = CliRunner().invoke(cli, ["--data-dir", str(tmp_path / "third"), "db", "upgrade"])
    assert upgraded.exit_code == 0, upgraded.output
    third = load_settings(environ={}, overrides={"data_dir": str(tmp_path / "third")})
    with open_storage(third, migrate=False) as storage:
        names = [o.name for o in SqlAuthStore(storage.engine).list_organisations()]
    assert names == ["local"]


def test_cli_actions_are_audited_as_cli(tmp_path: Path) -> None:
    bank_file = tmp_path / "hashes.txt"
    bank_file.write_text("\n".join(f"{i:032x}" for i in range(1, 4)))
    steps = [
        ("bank", "create", "local-bank"),
        ("bank", "import", "local-bank", str(bank_file), "--signal-type", "md5", "-q"),
        ("bank", "export", "local-bank", "-o", str(tmp_path / "out.jsonl")),
        ("bank", "remove-entry", "local-bank", "md5", f"{1:032x}"),
        ("bank", "disable", "local-bank"),
        ("bank", "enable", "local-bank"),
        ("bank", "import", "nope", str(bank_file)),  # fails: recorded as failed
    ]
    for step in steps:
        run(tmp_path, *step)
    with open_storage(make_settings(tmp_path)) as storage:
        records = SqlAuthStore(storage.engine).list_records(limit=20)
    seen = [(r.action, r.outcome, r.actor) for r in reversed(records)]
    assert seen == [
        ("bank.create", "ok", "cli"),
        ("bank.import", "ok", "cli"),
        ("bank.export", "ok", "cli"),
        ("bank.entry.remove", "ok", "cli"),
        ("bank.update", "ok", "cli"),
        ("bank.update", "ok", "cli"),
        ("bank.import", "failed", "cli"),
    ]
    assert records[0].details["error"] == "not_found"


def test_seed_demo_is_idempotent(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    with Runtime.open(settings) as runtime:
        first = seed_demo(runtime)
        second = seed_demo(runtime)
    assert first.entries_added >= len(first.samples)
    assert second.entries_added == 0
    assert first.token != second.token
    assert first.expires_at is not None
    assert timedelta(days=6) < first.expires_at - datetime.now(UTC) <= DEMO_KEY_LIFETIME
    with open_storage(settings) as storage:
        assert [b.name for b in storage.banks.list_banks()] == [DEMO_BANK]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_serve_demo_answers_the_printed_curl(tmp_path: Path) -> None:
    port = _free_port()
    env = {**os.environ, "KEEPDOWN_DATA_DIR": str(tmp_path / "data")}
    process = subprocess.Popen(
        [sys.executable, "-m", "keepdown", "serve", "--demo", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env=env,
        text=True,
    )
    try:
        lines = []
        assert process.stdout is not None
        while not any("/docs" in line for line in lines):  # the last line of the demo's
            line = process.stdout.readline()
            assert line, "".join(lines)
            lines.append(line)
        token = next(line for line in lines if "Bearer" in line).split("Bearer ")[1].split('"')[0]
        assert any("expires 20" in line for line in lines), "".join(lines)
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{base}/api/v1/ready").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "server never became ready"
            time.sleep(0.1)
        response = httpx.post(
            f"{base}/api/v1/match",
            content=(SAMPLES / "harbour-shapes.jpg").read_bytes(),
            headers={"Authorization": f"Bearer {token}", "Content-Type": "image/jpeg"},
        )
        assert response.status_code == 200, response.text
        assert response.json()["matched"] is True
        _sign_in_as_the_printed_analyst(lines, port)
    finally:
        process.terminate()
        process.wait(timeout=20)


def _sign_in_as_the_printed_analyst(lines: list[str], port: int) -> None:
    """The printed web address and password sign the demo analyst in over plain HTTP."""
    text = "".join(lines)
    web = next(line for line in lines if "/web/" in line).split()[1]
    assert web == f"http://127.0.0.1:{port}/web/", text
    user = next(line for line in lines if "analyst for the web" in line).split(": ")[1].strip()
    password = next(line for line in lines if "password (shown once)" in line).split(": ")[1]
    with httpx.Client(base_url=web) as browser:
        form = browser.get("login")
        token = form.text.split('name="csrf_token" value="')[1].split('"')[0]
        signed = browser.post(
            "login", data={"username": user, "password": password.strip(), "csrf_token": token}
        )
        assert signed.status_code == 303, signed.text
        assert browser.get("banks").text.count(DEMO_BANK) >= 1  # the analyst's pages open
