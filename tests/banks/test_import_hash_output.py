"""``keepdown hash`` output imports into a bank as it is (CSV, JSON Lines and text), and the
known files then match: the first thing a hotline does with keepdown.

Through the real CLI (click's runner) on SQLite and PostgreSQL.
"""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from keepdown.banks.formats import detect_format, read_entries
from keepdown.banks.formats.hashes import MIN_PDQ_QUALITY
from keepdown.banks.records import EntryRecord, LineError
from keepdown.cli import cli
from keepdown.hashing.types import SignalType
from keepdown.testing import sample_image_paths

SAMPLES = sample_image_paths()


@pytest.fixture
def run(tmp_path: Path, database_url: str):
    runner = CliRunner()
    base = ["--data-dir", str(tmp_path / "data"), "--database-url", database_url]

    def invoke(*args: str, code: int = 0):
        result = runner.invoke(cli, [*base, *args], catch_exceptions=False)
        assert result.exit_code == code, result.output + result.stderr
        return result

    return invoke


@pytest.fixture
def known(tmp_path: Path) -> Path:
    folder = tmp_path / "known"
    folder.mkdir()
    for path in SAMPLES[:3]:
        shutil.copy(path, folder / path.name)
    return folder


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "text"])
def test_hash_output_imports_as_it_is_and_the_files_then_match(run, known, tmp_path, fmt):
    out = tmp_path / f"known.{'txt' if fmt == 'text' else fmt}"
    out.write_text(run("hash", "-f", fmt, str(known)).stdout)
    run("bank", "create", "known", "--classification", "csam", "--trust", "auto")
    imported = run("bank", "import", "known", str(out)).output
    exact = 1 if fmt == "text" else 3  # text carries SHA-256 only
    assert f"{3 * (exact + 1)} added" in imported
    assert "0 invalid" in imported
    shown = json.loads(run("bank", "show", "known", "--format", "json").output)
    assert shown["entries"] == 3 * (exact + 1)
    assert shown["counts"]["pdq"]["active"] == 3
    matched = run("match", "-f", "jsonl", str(known), code=1).stdout.splitlines()
    assert len(matched) == 3
    assert all(json.loads(line)["matches"] for line in matched)


def test_dihedral_rows_low_quality_and_unreadable_inputs(run, known, tmp_path):
    (known / "notes.txt").write_text("not a picture")
    dihedral = run("hash", "-f", "csv", "--dihedral", str(known), code=65).stdout
    records = list(read_entries(io.StringIO(dihedral), "hashes"))
    assert all(isinstance(r, EntryRecord) for r in records)
    pdq = [r for r in records if r.signal_type is SignalType.PDQ]
    assert len(pdq) == 3, "the rotations and mirrors are left out"
    assert sum(r.signal_type is SignalType.SHA256 for r in records) == 4  # the text file too
    only = list(read_entries(io.StringIO(dihedral), "hashes", signal_type="md5"))
    assert {r.signal_type for r in only} == {SignalType.MD5}

    flat = json.dumps(
        {"path": "flat.png", "md5": "a" * 32, "pdq": "f" * 64, "quality": MIN_PDQ_QUALITY - 1}
    )
    failed = '{"path": "gone.jpg", "error": {"code": "not_found", "message": "no such file"}}'
    records = list(read_entries(io.StringIO(flat + "\n" + failed + "\n"), "hashes"))
    assert [type(r) for r in records] == [EntryRecord, LineError]
    assert records[0].signal_type is SignalType.MD5  # the low-quality PDQ is left out
    assert "gone.jpg" in records[1].message


def test_hash_output_is_detected_whatever_the_file_is_called(run, known, tmp_path):
    for fmt, name in (("csv", "h.csv"), ("jsonl", "h.jsonl"), ("text", "h.txt"), ("csv", "h")):
        path = tmp_path / name
        path.write_text(run("hash", "-f", fmt, str(known)).stdout)
        assert detect_format(path) == "hashes", name


def test_hash_of_an_empty_folder_says_so(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    result = CliRunner().invoke(cli, ["--data-dir", str(tmp_path / "d"), "hash", str(empty)])
    assert result.exit_code == 66
    assert f"no files in {empty}" in result.output + result.stderr


def test_hashes_cannot_be_an_export_format(run):
    run("bank", "create", "known", "--classification", "csam")
    result = run("bank", "export", "known", "--format", "hashes", code=2)
    assert "hashes" in result.output + result.stderr
