"""The first run (issue 15): the documented first-admin command made an admin outside the
operator organisation, who could not open the case-work pages. ``keepdown init`` makes the
operator organisation and its first admin, ``keepdown serve`` says to run it on an empty
database, and that admin signs in and opens every page in the header."""

from __future__ import annotations

import re

from click.testing import CliRunner
from fastapi.testclient import TestClient

from keepdown.app import build_app
from keepdown.cli import cli
from keepdown.cli.serve_cmd import _say_if_first_run
from keepdown.settings import load_settings
from tests.web.test_nav import _links


def test_init_makes_the_operator_and_its_admin_once(tmp_path, capsys) -> None:
    data = str(tmp_path / "d")
    settings = load_settings(environ={}, overrides={"data_dir": data})
    _say_if_first_run(settings)
    assert "run `keepdown init`" in capsys.readouterr().err

    runner = CliRunner()
    made = runner.invoke(cli, ["init", "--data-dir", data])
    assert made.exit_code == 0, made.output
    assert "operator organisation: local" in made.output
    password = re.search(r"temporary password .*: (\S+)", made.output).group(1)
    again = runner.invoke(cli, ["init", "--data-dir", data])
    assert again.exit_code == 0
    assert "already set up: 'local' has admins admin" in again.output
    _say_if_first_run(settings)
    assert "keepdown init" not in capsys.readouterr().err

    plain_http = settings.replace(web_cookie_secure=False)  # TestClient speaks plain HTTP
    app, _ = build_app(plain_http, refresh_in_background=False)
    with TestClient(app, base_url="http://127.0.0.1:8000") as client:
        page = client.get("/web/login")
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
        signed = client.post(
            "/web/login",
            data={"username": "admin", "password": password, "csrf_token": csrf},
            follow_redirects=False,
        )
        assert signed.status_code == 303
        assert signed.headers["location"].endswith("/web/account")  # change it first
        new = "a much longer passphrase of five words"
        account = client.get("/web/account")
        token = re.search(r'name="csrf_token" value="([^"]+)"', account.text).group(1)
        changed = client.post(
            "/web/account/password",
            data={"current": password, "new": new, "repeat": new, "csrf_token": token},
            follow_redirects=False,
        )
        assert changed.status_code in (200, 303), changed.text[:500]
        if "/web/login" in client.get("/web/", follow_redirects=False).headers.get("location", ""):
            page = client.get("/web/login")  # a new password ends the sessions: sign in again
            csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
            client.post(
                "/web/login", data={"username": "admin", "password": new, "csrf_token": csrf}
            )
        links = _links(client.get("/web/").text)
        assert {"/web/review", "/web/sightings", "/web/reports", "/web/users"} <= set(links)
        for path in links:
            assert client.get(path).status_code == 200, path
