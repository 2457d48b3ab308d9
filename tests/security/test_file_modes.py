"""Issue 16, item 14: what keepdown writes to disk is readable by its own user only.

The data directory is created 0700; the SQLite database (and its WAL and shared-memory
files), the task queue, saved indexes, key files, bank exports and scan journals 0600, with
the usual umask 022 in force (the umask can only take bits away).
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from keepdown import files
from keepdown.banks import signing
from keepdown.banks.service import BankService
from keepdown.clock import FrozenClock, utc
from keepdown.hashing.types import PdqHash
from keepdown.index import IndexEntry, IndexSnapshot
from keepdown.index.checkpoint import CheckpointDir
from keepdown.notices.links import link_secret
from keepdown.notices.sealing import secret_box
from keepdown.scan.report import Report
from keepdown.settings import load_settings
from keepdown.storage import open_storage_url
from keepdown.tasks.backend import open_huey


@pytest.fixture(autouse=True)
def usual_umask() -> Iterator[None]:
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_data_dir_and_sqlite_database_are_private(tmp_path: Path) -> None:
    data = tmp_path / "data"
    storage = open_storage_url(f"sqlite:///{data / 'keepdown.sqlite3'}")
    try:
        storage.banks.list_banks()
        assert mode(data) == 0o700
        made = sorted(p.name for p in data.iterdir())
        assert "keepdown.sqlite3" in made
        for name in made:  # the database and its -wal / -shm companions
            assert mode(data / name) == 0o600, name
    finally:
        storage.close()


def test_the_task_queue_and_key_files_are_private(tmp_path: Path) -> None:
    settings = load_settings(environ={}, overrides={"data_dir": str(tmp_path / "data")})
    queue = open_huey(settings)
    queue.enqueue  # noqa: B018 - opening is enough to create the file
    queue.storage.conn.execute("select 1")
    link_secret(settings)
    secret_box(settings)
    assert mode(settings.data_path) == 0o700
    for name in ("tasks.sqlite3", "notice-links.key", "provider-secrets.key"):
        assert mode(settings.data_path / name) == 0o600, name


def test_saved_indexes_are_private(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    raw = rng.integers(0, 256, size=(50, 32), dtype=np.uint8)
    snapshot = IndexSnapshot.build([IndexEntry(i, 1, PdqHash(raw[i].tobytes())) for i in range(50)])
    folder = CheckpointDir(tmp_path / "index")
    name = folder.save(snapshot, {"n": 50})
    assert name is not None
    for path in [folder.root, *folder.root.rglob("*")]:
        expected = 0o700 if path.is_dir() else 0o600
        assert mode(path) == expected, path


def test_bank_exports_signing_keys_and_scan_journals_are_private(tmp_path: Path) -> None:
    storage = open_storage_url(f"sqlite:///{tmp_path / 'k.sqlite3'}")
    try:
        service = BankService(storage.banks, storage.events, FrozenClock(utc(2026, 2, 1)))
        service.create_bank("b", owner="o")
        key, public = tmp_path / "export.key", tmp_path / "export.pub"
        signing.generate_keypair(key, public)
        out = tmp_path / "b.jsonl"
        service.export_file("b", out, sign_key=key)
        assert mode(out) == 0o600
        assert mode(key) == 0o600
    finally:
        storage.close()
    journal = tmp_path / "scan" / "journal.jsonl"
    Report(journal, fresh=True).close()
    assert mode(journal) == 0o600


def test_an_existing_loose_file_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "f"
    path.write_text("x")
    os.chmod(path, 0o644)
    assert files.loose(path)
    assert not files.create_private(path)
    assert mode(path) == 0o644  # an operator's choice is kept; the caller warns
    os.chmod(path, 0o600)
    assert not files.loose(path)
