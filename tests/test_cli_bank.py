"""`keepdown bank ...` and `keepdown db ...` through click's CliRunner, on a temp data dir."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from keepdown.cli import cli

MD5S = [f"{i:032x}" for i in range(1, 6)]


@pytest.fixture
def run(tmp_path: Path, database_url: str):
    """Invoke the CLI against a fresh database (SQLite file, then a PostgreSQL schema)."""
    runner = CliRunner()
    base = ["--data-dir", str(tmp_path / "data"), "--database-url", database_url]

    def invoke(*args: str, code: int = 0):
        result = runner.invoke(cli, [*base, *args], catch_exceptions=False)
        assert result.exit_code == code, result.output + result.stderr
        return result

    return invoke


def write(path: Path, lines: list[str]) -> Path:
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def test_db_upgrade_then_status(run) -> None:
    assert "upgraded from empty" in run("db", "upgrade").output
    assert "up to date" in run("db", "upgrade").output
    assert "up to date" in run("db", "status").output


def test_create_list_show(run) -> None:
    run(
        "bank",
        "create",
        "arachnid",
        "--owner",
        "c3p",
        "--classification",
        "A1",
        "--trust",
        "auto",
        "--threshold",
        "pdq=20",
        "--source",
        "Project Arachnid",
    )
    listing = json.loads(run("bank", "list", "--format", "json").output)
    assert [(b["name"], b["owner"], b["trusted"]) for b in listing] == [("arachnid", "c3p", True)]
    shown = json.loads(run("bank", "show", "arachnid", "--format", "json").output)
    assert (shown["category"], shown["maturity"], shown["label"]) == ("csam", "pre-pubescent", "A1")
    assert shown["thresholds"]["pdq"] == 20
    table = run("bank", "list").output
    assert table.splitlines()[0].split() == [
        "NAME",
        "OWNER",
        "TRUST",
        "ENABLED",
        "ENTRIES",
        "REMOVED",
        "LABEL",
    ]
    assert "Project Arachnid" in run("bank", "show", "arachnid").output


def test_import_export_remove_disable(run, tmp_path: Path) -> None:
    run("bank", "create", "local", "--classification", "csam")
    hashes = write(tmp_path / "list.txt", MD5S)
    out = run("bank", "import", "local", str(hashes), "--signal-type", "md5").output
    assert "5 added, 0 already present, 0 invalid" in out
    again = run("bank", "import", "local", str(hashes), "--signal-type", "md5")
    assert "0 added, 5 already present" in again.output
    assert "lines read" in again.stderr  # progress goes to stderr

    removed = run("bank", "remove-entry", "local", "md5", MD5S[0], "--reason", "false-positive")
    assert f"removed md5 {MD5S[0]} (false-positive)" in removed.output
    third = run("bank", "import", "local", str(hashes), "--signal-type", "md5", "-q")
    assert "1 kept removed" in third.output
    assert "use --restore" in third.stderr

    export = tmp_path / "local.jsonl"
    run("bank", "export", "local", "-o", str(export))
    rows = [json.loads(line) for line in export.read_text().splitlines()[1:]]
    assert [(r["value"], r["removed"]) for r in rows][:2] == [(MD5S[0], True), (MD5S[1], False)]
    stdout_export = run("bank", "export", "local", "--format", "plain", "--exclude-removed")
    assert stdout_export.output.split() == MD5S[1:]
    assert "warning" not in stdout_export.stderr  # tombstones were asked to be left out
    pytx = run("bank", "export", "local", "-o", str(tmp_path / "local.txt"), "--format", "pytx")
    assert "warning: 1 removed entries of bank local are not in this pytx export" in pytx.stderr
    shown = run("bank", "show", "local").output
    assert "updated_at:" in shown
    assert "(removed entry " in shown  # the removal is in the bank's journal

    assert "disabled" in run("bank", "disable", "local").output
    assert json.loads(run("bank", "show", "local", "--format", "json").output)["enabled"] is False


def test_robust_opt_in_and_out(run) -> None:
    run("bank", "create", "local")
    assert json.loads(run("bank", "show", "local", "--format", "json").output)["robust"] is False
    assert "robust matching on" in run("bank", "robust", "local", "on").output
    assert json.loads(run("bank", "show", "local", "--format", "json").output)["robust"] is True
    assert "robust:      True" in run("bank", "show", "local").output
    assert "robust matching off" in run("bank", "robust", "local", "off").output
    assert json.loads(run("bank", "list", "--format", "json").output)[0]["robust"] is False
    run("bank", "robust", "local", "maybe", code=2)
    run("bank", "robust", "nope", "on", code=66)


def test_signed_export_and_tampered_import(run, tmp_path: Path) -> None:
    private, public = tmp_path / "k.pem", tmp_path / "k.pub"
    run("bank", "keygen", str(private), str(public))
    run("bank", "create", "src")
    run("bank", "import", "src", str(write(tmp_path / "l.txt", MD5S)), "--signal-type", "md5")
    export = tmp_path / "src.csv"
    run("bank", "export", "src", "-o", str(export), "--sign", str(private))
    assert (tmp_path / "src.csv.sig").is_file()
    run("bank", "create", "peer")
    ok = run("bank", "import", "peer", str(export), "--verify", str(public))
    assert "5 added" in ok.output
    export.write_text(export.read_text().replace(MD5S[2], MD5S[3]))
    run("bank", "create", "victim")
    bad = run("bank", "import", "victim", str(export), "--verify", str(public), code=65)
    assert "does not match its signature" in bad.stderr
    shown = json.loads(run("bank", "show", "victim", "--format", "json").output)
    assert (shown["entries"], shown["imports"]) == (0, [])


def test_bad_input_exit_codes(run, tmp_path: Path) -> None:
    missing = run("bank", "show", "nope", code=66)
    assert "no bank named 'nope'" in missing.stderr
    run("bank", "create", "dup")
    assert "already exists" in run("bank", "create", "dup", code=65).stderr
    bad_file = write(tmp_path / "bad.txt", [MD5S[0], "not-a-hash", MD5S[1], "abc"])
    refused = run("bank", "import", "dup", str(bad_file), "--signal-type", "md5", code=65)
    assert "line 2:" in refused.stderr
    assert "line 4:" in refused.stderr
    assert json.loads(run("bank", "show", "dup", "--format", "json").output)["entries"] == 0
    skipped = run("bank", "import", "dup", str(bad_file), "--signal-type", "md5", "--skip-invalid")
    assert "2 added, 0 already present, 2 invalid" in skipped.output
    assert "skipped line 2:" in skipped.stderr
    run("bank", "create", "x", "--threshold", "pdq=lots", code=65)
    run("bank", "export", "dup", "--sign", "k.pem", code=64)
