"""``keepdown hash``: formats, folders, stdin, failures and exit codes, through click and a
real subprocess."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from keepdown.cli import cli
from keepdown.hashing import hash_file
from keepdown.testing import sample_image_paths, synthetic_jpeg

REPO = Path(__file__).resolve().parent.parent
SAMPLES = REPO / "keepdown" / "samples"
GIF = SAMPLES / "kite-frames.gif"


@pytest.fixture
def run(tmp_path):
    def invoke(*args: str, input: bytes | None = None):
        env = {"KEEPDOWN_DATA_DIR": str(tmp_path / "data")}
        return CliRunner().invoke(cli, ["hash", *args], input=input, env=env)

    return invoke


@pytest.fixture
def mixed_folder(tmp_path):
    """Two good pictures, a text file, a truncated JPEG and an empty file, in nested folders."""
    folder = tmp_path / "mixed"
    (folder / "sub").mkdir(parents=True)
    shutil.copy(SAMPLES / "lake-mirror.jpg", folder / "a.jpg")
    shutil.copy(GIF, folder / "sub" / "b.gif")
    (folder / "notes.txt").write_text("not a picture\n")
    (folder / "sub" / "cut.jpg").write_bytes(synthetic_jpeg(1, 200, 150)[:700])
    (folder / "zero.png").write_bytes(b"")
    return folder


def test_text_output_one_greppable_line_per_file(run):
    result = run(str(SAMPLES))
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert len(lines) == len(sample_image_paths()) == 8
    for line in lines:
        pdq, quality, sha256, path = line.split(" ", 3)
        expected = hash_file(path)
        assert (pdq, int(quality), sha256) == (
            expected.pdq.hex,
            expected.quality,
            expected.sha256.hex,
        )
    assert [line.split(" ", 3)[3] for line in lines] == sorted(str(p) for p in sample_image_paths())


def test_jsonl_output(run):
    result = run("--format", "jsonl", str(SAMPLES / "stone-wall.jpg"))
    assert result.exit_code == 0
    (record,) = [json.loads(line) for line in result.stdout.splitlines()]
    expected = hash_file(SAMPLES / "stone-wall.jpg")
    assert record == {"path": str(SAMPLES / "stone-wall.jpg"), **expected.to_dict()}


def test_csv_output_with_dihedral_rows(run):
    result = run("-f", "csv", "--dihedral", str(SAMPLES / "stone-wall.jpg"))
    assert result.exit_code == 0
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [row["variant"] for row in rows] == [
        "", "rotate90", "rotate180", "rotate270", "flipx", "flipy", "flipplus1", "flipminus1",
    ]  # fmt: skip
    expected = hash_file(SAMPLES / "stone-wall.jpg", dihedral=True)
    assert rows[0]["pdq"] == expected.pdq.hex
    assert rows[1]["pdq"] == expected.dihedral["rotate90"].hash.hex
    assert {row["sha256"] for row in rows} == {expected.sha256.hex}
    assert rows[0]["media_type"] == "image/jpeg"
    assert rows[0]["error"] == ""


def test_text_dihedral_and_frames_suffix_the_path(run):
    result = run("--dihedral", "--all-frames", str(GIF))
    assert result.exit_code == 0
    suffixes = [line.split(" ", 3)[3].removeprefix(str(GIF)) for line in result.stdout.splitlines()]
    assert suffixes == ["", "#rotate90", "#rotate180", "#rotate270", "#flipx", "#flipy",
                        "#flipplus1", "#flipminus1", "#frame1", "#frame2"]  # fmt: skip


def test_failures_are_listed_successes_still_printed_exit_65(run, mixed_folder):
    missing = str(mixed_folder / "absent.jpg")
    result = run(str(mixed_folder), missing)
    assert result.exit_code == 65
    printed = {line.split(" ", 3)[3]: line.split(" ", 3) for line in result.stdout.splitlines()}
    good = str(mixed_folder / "a.jpg")
    assert printed[good][0] != "-"
    text = str(mixed_folder / "notes.txt")
    assert printed[text][:2] == ["-", "-"]  # exact hashes still printed for a non-image
    assert printed[text][2] == hashlib.sha256(b"not a picture\n").hexdigest()
    assert missing not in printed
    stderr = result.stderr
    assert "4 of 6 inputs failed" in stderr
    assert f"{text}: decode_error: not a recognised image format" in stderr
    assert f"{mixed_folder / 'sub' / 'cut.jpg'}: decode_error: " in stderr
    assert f"{mixed_folder / 'zero.png'}: decode_error: empty input" in stderr
    assert f"{missing}: not_found: no such file or folder" in stderr
    assert good not in stderr


def test_jsonl_carries_a_record_for_every_input(run, mixed_folder):
    missing = str(mixed_folder / "absent.jpg")
    result = run("-f", "jsonl", str(mixed_folder / "notes.txt"), missing)
    assert result.exit_code == 65
    text, absent = [json.loads(line) for line in result.stdout.splitlines()]
    assert text["pdq"] is None
    assert text["pdq_error"]["code"] == "decode_error"
    assert absent == {"path": missing, "error": {"code": "not_found",
                      "message": f"no such file or folder: {missing}"}}  # fmt: skip


def test_stdin(run):
    data = synthetic_jpeg(4, 128, 96)
    result = run("-", input=data)
    assert result.exit_code == 0
    pdq, _, sha256, label = result.stdout.strip().split(" ", 3)
    assert (sha256, label) == (hashlib.sha256(data).hexdigest(), "-")
    assert pdq != "-"


def test_fast_mode(run):
    result = run("--mode", "fast", "-f", "jsonl", str(SAMPLES / "meadow-texture.jpg"))
    assert result.exit_code == 0
    assert json.loads(result.stdout)["mode"] == "fast"


def test_mode_defaults_to_the_setting(tmp_path):
    env = {"KEEPDOWN_DATA_DIR": str(tmp_path), "KEEPDOWN_HASH_MODE": "fast"}
    result = CliRunner().invoke(cli, ["hash", "-f", "jsonl", str(SAMPLES / "lake-mirror.jpg")],
                                env=env)  # fmt: skip
    assert json.loads(result.stdout)["mode"] == "fast"


def test_progress_bar_goes_to_stderr_only(run):
    quiet = run(str(SAMPLES))
    shown = run("--progress", str(SAMPLES))
    assert shown.stdout == quiet.stdout
    assert "8/8" in shown.stderr
    assert quiet.stderr == ""


def test_bad_option_is_a_usage_error(run):
    result = run("--format", "xml", str(SAMPLES))
    assert result.exit_code == 2
    assert "xml" in result.stderr


def test_real_process_hashes_the_shipped_samples():
    env = {**os.environ, "KEEPDOWN_DATA_DIR": "/nonexistent-keepdown-data"}
    done = subprocess.run(
        [sys.executable, "-m", "keepdown", "hash", "keepdown/samples"],
        cwd=REPO, capture_output=True, text=True, timeout=120, env=env, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == 8
    assert all(line.split(" ", 3)[3].startswith("keepdown/samples/") for line in lines)
    assert done.stderr == ""


def test_invalid_hash_mode_setting_stops_before_hashing(tmp_path):
    env = {"KEEPDOWN_DATA_DIR": str(tmp_path), "KEEPDOWN_HASH_MODE": "quick"}
    result = CliRunner().invoke(cli, ["hash", str(SAMPLES)], env=env)
    assert result.exit_code == 78
    assert "setting hash_mode (KEEPDOWN_HASH_MODE) must be one of exact, fast" in result.stderr
    assert result.stdout == ""
