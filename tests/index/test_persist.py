"""Saved indexes load back (memory-mapped) with the same answers; damage is a clear error."""

from __future__ import annotations

import json

import numpy as np
import pytest

from keepdown.errors import IndexFileError
from keepdown.hashing.types import PdqHash, Sha256
from keepdown.index import IndexEntry, IndexSnapshot, load_snapshot, save_snapshot
from keepdown.index.persist import FORMAT

from .conftest import flip, uniform

RAW = uniform(9_000, seed=31)


@pytest.fixture(scope="module")
def snapshot() -> IndexSnapshot:
    entries = [IndexEntry(i, i % 5, PdqHash(RAW[i].tobytes())) for i in range(8_000)]
    entries.append(IndexEntry(99_999, 4, Sha256(b"\x07" * 32)))
    snap = IndexSnapshot.build(entries)
    added = [IndexEntry(50_000 + i, 2, PdqHash(RAW[8_000 + i].tobytes())) for i in range(500)]
    return snap.with_changes(added=added, removed=[1, 2, 3])


@pytest.mark.parametrize("mmap", [True, False])
def test_round_trip_gives_the_same_answers(snapshot, tmp_path, mmap):
    save_snapshot(snapshot, tmp_path / "idx")
    loaded = load_snapshot(tmp_path / "idx", mmap=mmap)
    assert loaded.version == snapshot.version
    assert isinstance(loaded.pdq.main.tables, np.memmap) is mmap
    rng = np.random.default_rng(3)
    for i in [*range(0, 9_000, 250), 1, 2, 8_001]:
        q = PdqHash(flip(RAW[i], int(rng.integers(0, 32)), rng).tobytes())
        assert loaded.query_pdq(q) == snapshot.query_pdq(q)
    assert [h.entry_id for h in loaded.query_exact(Sha256(b"\x07" * 32))] == [99_999]


def test_saving_again_replaces_the_folder(snapshot, tmp_path):
    save_snapshot(IndexSnapshot.empty(), tmp_path / "idx")
    save_snapshot(snapshot, tmp_path / "idx")
    assert load_snapshot(tmp_path / "idx").version == snapshot.version
    assert [p.name for p in tmp_path.iterdir()] == ["idx"]


def test_missing_folder_is_an_index_file_error(tmp_path):
    with pytest.raises(IndexFileError, match="no saved index"):
        load_snapshot(tmp_path / "nothing")


def test_foreign_manifest_is_refused(snapshot, tmp_path):
    save_snapshot(snapshot, tmp_path / "idx")
    (tmp_path / "idx" / "manifest.json").write_text(json.dumps({"format": "other"}))
    with pytest.raises(IndexFileError, match=f"not a {FORMAT} index"):
        load_snapshot(tmp_path / "idx")


@pytest.mark.parametrize("name", ["pdq.main.offsets.npy", "pdq.main.words.npy", "sha1.hidden.npy"])
def test_truncated_or_missing_array_is_refused(snapshot, tmp_path, name):
    save_snapshot(snapshot, tmp_path / "idx")
    path = tmp_path / "idx" / name
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(IndexFileError, match="damaged"):
        load_snapshot(tmp_path / "idx")


def test_an_older_format_is_refused_as_another_version(snapshot, tmp_path):
    save_snapshot(snapshot, tmp_path / "idx")
    manifest = json.loads((tmp_path / "idx" / "manifest.json").read_text())
    manifest["format"] = "keepdown-index-1"
    (tmp_path / "idx" / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(IndexFileError, match="another version of keepdown"):
        load_snapshot(tmp_path / "idx")


@pytest.mark.parametrize("name", ["pdq.main.tables.npy", "pdq.main.entry_ids.npy"])
def test_a_flipped_bit_of_the_same_size_fails_the_checksum(snapshot, tmp_path, name):
    save_snapshot(snapshot, tmp_path / "idx")
    path = tmp_path / "idx" / name
    data = bytearray(path.read_bytes())
    data[-5] ^= 0x10  # inside the array data, past the .npy header
    path.write_bytes(bytes(data))
    with pytest.raises(IndexFileError, match="does not match its checksum"):
        load_snapshot(tmp_path / "idx")
    # Without verification only sizes are checked: the damage goes unseen (why it is on).
    assert load_snapshot(tmp_path / "idx", verify=False).version == snapshot.version


def test_a_truncated_manifest_is_refused(snapshot, tmp_path):
    save_snapshot(snapshot, tmp_path / "idx")
    path = tmp_path / "idx" / "manifest.json"
    path.write_bytes(path.read_bytes()[:40])
    with pytest.raises(IndexFileError, match="unreadable index manifest"):
        load_snapshot(tmp_path / "idx")
