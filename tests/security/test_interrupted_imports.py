"""Issue 16, item 13: after ``kill -9`` during an import, nothing is left behind.

A real child process stages a bank file and starts an import, then is killed with SIGKILL in
the middle of its transaction. Before: the copy stayed in the temporary folder and the
import stayed ``running`` forever. Now the next start removes the dead process's folder and
marks the import ``failed``; a folder or an import of a live process is left alone.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
from datetime import timedelta
from pathlib import Path

import pytest

from keepdown.banks.model import ImportFile
from keepdown.banks.records import EntryRecord
from keepdown.banks.service import BankService
from keepdown.banks.staging import ImportStaging
from keepdown.clock import SystemClock
from keepdown.hashing.types import SignalType
from keepdown.storage import open_storage_url

CHILD = textwrap.dedent(
    """
    import sys, time
    from datetime import datetime, UTC
    from pathlib import Path
    from keepdown.banks.model import ImportFile
    from keepdown.banks.records import EntryRecord
    from keepdown.banks.staging import ImportStaging
    from keepdown.hashing.types import SignalType
    from keepdown.storage import open_storage_url

    url, root = sys.argv[1], sys.argv[2]
    storage = open_storage_url(url)
    bank = storage.banks.get_bank("b")

    def records():
        for i in range(1, 20_001):
            yield EntryRecord(signal_type=SignalType.MD5, value=f"{i:032x}")
        print("inside", flush=True)  # the first batches are written, the transaction is open
        time.sleep(600)

    with ImportStaging(root).folder() as folder:
        (folder / "bank.txt").write_text("hashes")
        print(folder, flush=True)
        storage.banks.import_entries(
            bank, records(), ImportFile("bank.txt", "0" * 64), datetime.now(UTC)
        )
    """
)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'k.sqlite3'}"
    return str(request.getfixturevalue("postgres_url"))


def kill_mid_import(url: str, root: Path) -> Path:
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, url, str(root)], stdout=subprocess.PIPE, text=True
    )
    assert child.stdout is not None
    folder = Path(child.stdout.readline().strip())
    assert child.stdout.readline().strip() == "inside"
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    return folder


def test_a_killed_import_is_cleaned_up_at_the_next_start(url: str, tmp_path: Path) -> None:
    storage = open_storage_url(url)
    try:
        service = BankService(storage.banks, storage.events, SystemClock())
        bank = service.create_bank("b", owner="o")
        root = tmp_path / "data" / "tmp"
        staging = ImportStaging(root)
        folder = kill_mid_import(url, root)
        assert (folder / "bank.txt").exists()
        [run] = storage.banks.list_imports(bank.id)
        assert run.status == "running"

        with staging.folder() as mine:  # a live process's folder stays
            assert staging.sweep() == 1
            assert mine.exists()
        assert not folder.exists()
        assert service.recover_interrupted_imports(grace=timedelta(0)) == [run.id]
        assert [r.status for r in storage.banks.list_imports(bank.id)] == ["failed"]
        assert sum(c["active"] for c in storage.banks.entry_counts(bank.id).values()) == 0
        assert service.recover_interrupted_imports(grace=timedelta(0)) == []
    finally:
        storage.close()


def test_a_recent_import_is_given_time(tmp_path: Path) -> None:
    storage = open_storage_url(f"sqlite:///{tmp_path / 'k.sqlite3'}")
    try:
        service = BankService(storage.banks, storage.events, SystemClock())
        service.create_bank("b", owner="o")
        kill_mid_import(f"sqlite:///{tmp_path / 'k.sqlite3'}", tmp_path / "tmp")
        assert service.recover_interrupted_imports(grace=timedelta(minutes=2)) == []
    finally:
        storage.close()


@pytest.mark.postgres
def test_an_import_under_way_is_never_marked(postgres_url: str) -> None:
    storage = open_storage_url(postgres_url)
    try:
        service = BankService(storage.banks, storage.events, SystemClock())
        bank = service.create_bank("b", owner="o")
        inside, release = threading.Event(), threading.Event()

        def records():  # type: ignore[no-untyped-def]
            for i in range(1, 20_001):
                yield EntryRecord(signal_type=SignalType.MD5, value=f"{i:032x}")
            inside.set()
            release.wait(30)

        result: list[object] = []
        worker = threading.Thread(
            target=lambda: result.append(
                storage.banks.import_entries(
                    bank, records(), ImportFile("f", "0" * 64), SystemClock().now()
                )
            )
        )
        worker.start()
        assert inside.wait(30)
        assert service.recover_interrupted_imports(grace=timedelta(0)) == []
        release.set()
        worker.join(30)
        assert [r.status for r in storage.banks.list_imports(bank.id)] == ["done"]
    finally:
        storage.close()


def test_serve_cleans_up_when_it_starts_and_stages_uploads_privately(tmp_path: Path) -> None:
    """The wiring: ``keepdown serve`` (build_app's start) sweeps what a killed import left,
    and the API's uploads are staged in the swept folder (<data_dir>/tmp), not in /tmp."""
    from datetime import UTC, datetime

    from fastapi.testclient import TestClient

    from keepdown.app import build_app
    from keepdown.auth import Role
    from keepdown.testing import FrozenClock
    from tests.api.conftest import make_settings

    settings = make_settings(tmp_path)
    storage = open_storage_url(settings.resolved_database_url)
    try:
        BankService(storage.banks, storage.events, SystemClock()).create_bank("b", owner="acme")
        folder = kill_mid_import(settings.resolved_database_url, settings.data_path / "tmp")
        bank = storage.banks.get_bank("b")
    finally:
        storage.close()
    assert folder.exists()
    later = FrozenClock(datetime.now(UTC) + timedelta(minutes=5))  # past the grace period
    app, runtime = build_app(settings, clock=later, refresh_in_background=False)
    with TestClient(app) as client:
        assert not folder.exists()
        assert [r.status for r in runtime.storage.banks.list_imports(bank.id)] == ["failed"]
        staged: list[Path] = []
        real = runtime.banks.staged

        def spy():  # type: ignore[no-untyped-def]
            with real() as where:
                staged.append(where)
                yield where

        from contextlib import contextmanager

        runtime.banks.staged = contextmanager(spy)  # type: ignore[method-assign]
        runtime.auth.ensure_organisation("acme")
        token = runtime.auth.issue_key("acme", Role.ADMIN).token
        done = client.post(
            "/api/v1/banks/b/import?format=plain&signal_type=md5",
            content=b"0" * 32 + b"\n",
            headers={"Authorization": f"Bearer {token}"},
        )
        assert done.status_code == 200, done.text
    assert staged
    assert staged[0].parent == settings.data_path / "tmp"
    assert not staged[0].exists()
