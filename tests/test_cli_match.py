"""`keepdown match` end to end: banks in a real database, benign stand-ins, real files."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from keepdown.cli import cli
from keepdown.hashing import hash_file


@pytest.fixture
def run(tmp_path: Path, database_url: str):
    runner = CliRunner()
    base = ["--data-dir", str(tmp_path / "data"), "--database-url", database_url]

    def invoke(*args: str, code: int = 0):
        result = runner.invoke(cli, [*base, *args], catch_exceptions=False)
        assert result.exit_code == code, result.output + result.stderr
        return result

    return invoke


def _textured(path: Path, seed: int) -> Path:
    """A benign picture with enough detail for a PDQ quality of 100 (smooth ones score low)."""
    cells = np.random.default_rng(seed).integers(0, 256, (24, 32, 3), dtype=np.uint8)
    Image.fromarray(cells).resize((640, 480), Image.Resampling.BICUBIC).save(path, quality=90)
    return path


@pytest.fixture
def scene(tmp_path: Path, run) -> dict[str, Path]:
    """A bank holding two samples' hashes (stand-ins for known material) and a folder with:
    one sample as is, a mirrored re-encode of the other, an unrelated picture, a corrupt JPEG."""
    known = [_textured(tmp_path / f"known{seed}.jpg", seed) for seed in (1, 2)]
    hashes = tmp_path / "known.csv"
    lines = ["signal_type,value"]
    for path in known:
        result = hash_file(path)
        lines += [f"md5,{result.md5.hex}", f"pdq,{result.pdq.hex}"]
    hashes.write_text("\n".join(lines) + "\n")
    run("bank", "create", "standins", "--classification", "csam", "--trust", "auto")
    run("bank", "import", "standins", str(hashes), "-q")

    folder = tmp_path / "inbox"
    (folder / "nested").mkdir(parents=True)
    as_is = folder / "copy.jpg"
    as_is.write_bytes(known[0].read_bytes())
    mirrored = folder / "nested" / "mirrored.jpg"
    Image.open(known[1]).transpose(Image.Transpose.FLIP_LEFT_RIGHT).save(mirrored, quality=70)
    _textured(folder / "unrelated.jpg", 991)
    (folder / "broken.jpg").write_bytes(known[0].read_bytes()[:400])
    return {"folder": folder, "as_is": as_is, "mirrored": mirrored}


def test_text_output_names_each_match_and_exits_1(run, scene) -> None:
    result = run("match", str(scene["folder"]), code=1)
    lines = result.stdout.splitlines()
    by_path: dict[str, list[list[str]]] = {}
    for line in lines:
        fields = line.split(" ", 6)
        by_path.setdefault(fields[6], []).append(fields[:6])
    assert set(by_path) == {str(scene["as_is"]), str(scene["mirrored"])}
    exact = {tuple(f[:4]) for f in by_path[str(scene["as_is"])]}
    assert ("standins", "exact", "md5", "0") in exact
    assert ("standins", "near", "pdq", "0") in exact
    mirror = by_path[str(scene["mirrored"])]
    assert [f[1] for f in mirror] == ["near"]
    assert int(mirror[0][3]) <= 31
    assert mirror[0][4] not in ("-", "original")  # found through a mirror variant
    assert mirror[0][5] == "csam"
    assert "2 of 4 inputs matched" in result.stderr
    assert "broken.jpg" in result.stderr  # the corrupt file is named among the failures


def test_jsonl_and_csv_carry_the_same_matches(run, scene) -> None:
    jsonl = run("match", "--format", "jsonl", "--all", str(scene["folder"]), code=1).stdout
    records = {r["path"]: r for r in map(json.loads, jsonl.splitlines())}
    assert len(records) == 4  # --all: also the unrelated picture and the broken file
    broken = records[str(scene["folder"] / "broken.jpg")]
    assert broken["pdq"] is None  # not decodable: matched on its exact hashes only
    assert broken["matches"] == []
    assert records[str(scene["folder"] / "unrelated.jpg")]["matches"] == []
    table = run("match", "--format", "csv", str(scene["folder"]), code=1).stdout
    rows = list(csv.DictReader(io.StringIO(table)))
    from_jsonl = sorted(
        (path, m["signal_type"], m["distance"]) for path, r in records.items() for m in r["matches"]
    )
    from_csv = sorted((r["path"], r["signal_type"], int(r["distance"])) for r in rows)
    assert from_csv == from_jsonl
    assert all(len(v) != 256 // 4 for r in rows for v in r.values())  # no entry hash printed


def test_nothing_matched_exits_0_and_failures_alone_exit_65(run, scene, tmp_path: Path) -> None:
    assert run("match", str(scene["folder"] / "unrelated.jpg")).stdout == ""
    failed = run("match", str(scene["folder"] / "broken.jpg"), str(tmp_path / "missing"), code=65)
    assert "2 of 2 inputs failed" in failed.stderr
    run("bank", "disable", "standins")
    assert run("match", str(scene["as_is"])).stdout == ""  # a disabled bank never matches
