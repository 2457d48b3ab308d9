"""The checkpoint folder: atomic pointer, pruning, the writer lock, and damage refused."""

from __future__ import annotations

import fcntl
import os
import threading

import numpy as np
import pytest

from keepdown.errors import IndexFileError
from keepdown.hashing.types import PdqHash
from keepdown.index import IndexEntry, IndexSnapshot
from keepdown.index.checkpoint import CheckpointDir

from .conftest import uniform

RAW = uniform(5_000, seed=8)


@pytest.fixture(scope="module")
def snapshot() -> IndexSnapshot:
    return IndexSnapshot.build([IndexEntry(i, 1, PdqHash(RAW[i].tobytes())) for i in range(5_000)])


def test_save_then_load_keeps_meta_arrays_and_answers(snapshot, tmp_path):
    folder = CheckpointDir(tmp_path / "idx")
    name = folder.save(snapshot, {"kind": "test", "n": 5}, {"ids": np.arange(4)})
    loaded = folder.load()
    assert loaded.name == name == folder.current()
    assert dict(loaded.saved.meta) == {"kind": "test", "n": 5}
    assert loaded.saved.arrays["ids"].tolist() == [0, 1, 2, 3]
    query = PdqHash(RAW[17].tobytes())
    assert loaded.saved.snapshot.query_pdq(query) == snapshot.query_pdq(query)


def test_only_the_current_and_previous_checkpoints_are_kept(snapshot, tmp_path):
    folder = CheckpointDir(tmp_path / "idx")
    names = [folder.save(snapshot, {"i": i}) for i in range(4)]
    on_disk = sorted(p.name for p in folder.root.glob("ck-*"))
    assert on_disk == sorted(names[-2:])
    assert folder.load().saved.meta["i"] == 3


def test_a_writer_holding_the_lock_makes_others_wait_for_it_and_write_nothing(snapshot, tmp_path):
    """A second writer waits for the one writing (then uses its checkpoint) instead of
    skipping at once and trying again while it is still writing (the flaky
    test_two_processes_share_one_index_dir: one slow write, several skips)."""
    folder = CheckpointDir(tmp_path / "idx")
    folder.root.mkdir()
    fd = os.open(folder.root / ".lock", os.O_RDWR | os.O_CREAT)
    fcntl.flock(fd, fcntl.LOCK_EX)  # another open file description: as another process
    order: list[str] = []
    results: list[str | None] = []

    def second_writer() -> None:
        results.append(folder.save(snapshot, {}))
        order.append("returned")

    thread = threading.Thread(target=second_writer)
    thread.start()
    thread.join(0.2)
    assert thread.is_alive()  # waiting for the writer, not skipped at once
    order.append("released")
    os.close(fd)
    thread.join(10)
    assert order == ["released", "returned"]
    assert results == [None]
    assert folder.current() is None  # it wrote nothing of its own
    assert folder.save(snapshot, {}) is not None


def test_a_killed_writers_temporary_folder_is_cleaned_and_never_read(snapshot, tmp_path):
    folder = CheckpointDir(tmp_path / "idx")
    first = folder.save(snapshot, {"i": 1})
    (folder.root / ".tmp-deadbeef").mkdir()  # a writer killed half-way
    (folder.root / ".tmp-deadbeef" / "pdq.main.words.npy").write_bytes(b"half")
    assert folder.load().name == first
    folder.save(snapshot, {"i": 2})
    assert not list(folder.root.glob(".tmp-*"))


def test_no_checkpoint_and_a_bad_pointer_are_index_file_errors(snapshot, tmp_path):
    folder = CheckpointDir(tmp_path / "idx")
    with pytest.raises(IndexFileError, match="no checkpoint"):
        folder.load()
    folder.save(snapshot, {})
    (folder.root / "CURRENT").write_text("../../etc\n")
    with pytest.raises(IndexFileError, match="does not name a checkpoint"):
        folder.load()
    (folder.root / "CURRENT").write_text("ck-0-1\n")
    with pytest.raises(IndexFileError, match="does not exist"):
        folder.load()


def test_clear_removes_everything(snapshot, tmp_path):
    folder = CheckpointDir(tmp_path / "idx")
    folder.save(snapshot, {})
    folder.save(snapshot, {})
    assert folder.clear() == 2
    assert folder.current() is None
    assert not list(folder.root.glob("ck-*"))
