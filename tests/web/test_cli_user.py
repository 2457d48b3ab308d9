"""``keepdown user``: the first admin, listing, disabling and resetting, on a real database."""

from __future__ import annotations

from click.testing import CliRunner

from keepdown.cli import cli
from keepdown.storage import open_storage
from keepdown.storage.auth_store import SqlAuthStore

PASSWORD = "a long enough passphrase"


def _run(tmp_path, *args: str, env: dict[str, str] | None = None):
    return CliRunner().invoke(
        cli,
        ["--data-dir", str(tmp_path / "data"), "user", *args],
        env=env or {},
        catch_exceptions=False,
    )


def test_first_admin_list_disable_and_reset(tmp_path) -> None:
    env = {"KD_PW": PASSWORD}
    added = _run(
        tmp_path,
        "add",
        "ada",
        "--org",
        "hotline",
        "--role",
        "admin",
        "--create-org",
        "--password-env",
        "KD_PW",
        env=env,
    )
    assert added.exit_code == 0, added.output
    assert "user ada added (admin at hotline)" in added.output
    again = _run(tmp_path, "add", "ada", "--org", "hotline", "--password-env", "KD_PW", env=env)
    assert again.exit_code == 65  # Conflict
    weak = _run(
        tmp_path,
        "add",
        "bob",
        "--org",
        "hotline",
        "--password-env",
        "KD_PW",
        env={"KD_PW": "short"},
    )
    assert weak.exit_code == 65
    assert "at least 12 characters" in weak.output
    listed = _run(tmp_path, "list")
    assert listed.output.split("\t")[:3] == ["ada", "hotline", "admin"]
    assert _run(tmp_path, "disable", "ada").exit_code == 0
    assert "disabled" in _run(tmp_path, "list").output
    reset = _run(tmp_path, "reset", "ada")
    temporary = reset.output.strip().splitlines()[-1]
    assert len(temporary) >= 12
    storage = open_storage_for(tmp_path)
    try:
        actions = [r.action for r in SqlAuthStore(storage.engine).list_records(limit=10)]
    finally:
        storage.close()
    assert {"user.add", "user.disable", "user.reset"} <= set(actions)


def test_a_missing_password_variable_is_a_usage_error(tmp_path) -> None:
    result = _run(tmp_path, "add", "ada", "--org", "x", "--create-org", "--password-env", "NOPE")
    assert result.exit_code == 64
    assert "NOPE is not set" in result.output


def open_storage_for(tmp_path):
    from keepdown.settings import load_settings

    return open_storage(load_settings(environ={}, overrides={"data_dir": str(tmp_path / "data")}))
