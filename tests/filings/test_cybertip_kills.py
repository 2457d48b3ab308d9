"""Exactly one report reaches NCMEC, whatever point a sender is killed at (SIGKILL).

For every point between NCMEC's steps (each of submit, upload, fileinfo and finish: claimed
but not sent, accepted by NCMEC but not recorded, recorded), a child process
(tests/filings/cybertip_child.py) sends a report to the loopback stub and is killed there;
this process then resumes after the child's lease ran out. The stub must hold exactly one
finished report, with the preserved file once and its details; any other report it saw was
never finished (NCMEC deletes it after its time-out) or was withdrawn; keepdown's record and
its events agree.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from keepdown.clock import FrozenClock
from keepdown.events import CyberTipStep
from keepdown.filings.cybertip_draft import CyberTipDrafter
from keepdown.filings.cybertip_model import ReportState
from keepdown.filings.cybertip_outbox import CyberTipOutbox
from keepdown.filings.preserved import FolderOfPreserved
from keepdown.filings.profiles import FilingProfile
from keepdown.filings.stubs.cybertip import CyberTipStub
from keepdown.storage import open_storage_url
from keepdown.storage.filing_store import SqlCyberTips, SqlProfiles

from .conftest import ENV, T0, Confirmed, KnownSightings, World, ncmec_profile, service_factory

REPO = Path(__file__).resolve().parents[2]
STEPS = ("submit", "upload", "fileinfo", "finish")
POINTS = [f"{when}_{step}" for step in STEPS for when in ("before", "after", "recorded")]


def run_child(args: dict[str, str]) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "tests.filings.cybertip_child", json.dumps(args)],
        cwd=REPO,
        env={**os.environ, **ENV},
        capture_output=True,
        timeout=120,
    )
    assert done.returncode == -signal.SIGKILL, done.stderr.decode()[-3000:]


def prepared(url: str, stub: CyberTipStub, folder: Path):
    storage = open_storage_url(url)
    profiles = SqlProfiles(storage.engine)
    profiles.put(FilingProfile("platform", ncmec=ncmec_profile(), updated_at=T0))
    store = SqlCyberTips(storage.engine)
    clock = FrozenClock(T0)
    preserved = FolderOfPreserved(folder)
    drafter = CyberTipDrafter(store, profiles, Confirmed(), KnownSightings(), preserved, clock)
    world = World(
        clock,
        storage.events,  # type: ignore[arg-type]
        store,  # type: ignore[arg-type]
        profiles,  # type: ignore[arg-type]
        drafter.confirmations,  # type: ignore[arg-type]
        KnownSightings(),
        folder,
        drafter,
        CyberTipOutbox(store, service_factory(profiles, stub.url), preserved, clock),
        stub,
    )
    return storage, world


def kill_and_resume(url: str, tmp_path: Path, point: str) -> None:
    folder = tmp_path / "preserved"
    folder.mkdir()
    with CyberTipStub() as stub:
        storage, world = prepared(url, stub, folder)
        try:
            report = world.upload(0)
            run_child(
                {
                    "database_url": url,
                    "stub_url": stub.url,
                    "preserved_dir": str(folder),
                    "point": point,
                }
            )
            world.clock.advance(timedelta(minutes=6))  # past the dead sender's lease
            world.outbox.run()
            check(world, stub, report.id, point)
        finally:
            storage.close()


def check(world: World, stub: CyberTipStub, report_id: int, point: str) -> None:
    final = world.store.get(report_id)
    assert final.state is ReportState.FINISHED, (point, final.summary())
    [done] = stub.finished_reports()
    assert done.report_id == final.ncmec_report_id
    [only] = done.files.values()  # the file once, never twice
    assert only.details
    assert b"<fileViewedByEsp>" in only.details
    others = [r for r in stub.reports.values() if r is not done]
    assert all(not r.finished for r in others)
    if point == "after_upload":  # the report that may hold the file twice was withdrawn
        assert [r.retracted for r in others] == [True]
    if point == "after_submit":  # opened by the dead sender, never finished: NCMEC deletes it
        assert len(others) == 1
    steps = [e.step for e in world.events.read() if isinstance(e, CyberTipStep)]
    assert steps.count("finished") == 1
    assert stub.count("finish") >= 1


@pytest.mark.parametrize("point", POINTS)
def test_kill_at_every_point_on_sqlite(tmp_path: Path, point: str):
    kill_and_resume(f"sqlite:///{tmp_path / 'k.sqlite3'}", tmp_path, point)


@pytest.mark.postgres
@pytest.mark.parametrize("point", [f"after_{step}" for step in STEPS])
def test_kill_after_ncmec_accepted_on_postgres(tmp_path: Path, postgres_url: str, point: str):
    kill_and_resume(postgres_url, tmp_path, point)


def test_a_child_that_reaches_no_point_finishes_the_report(tmp_path: Path):
    """The child's harness itself: with a point that never comes, it sends the whole report."""
    url = f"sqlite:///{tmp_path / 'k.sqlite3'}"
    folder = tmp_path / "preserved"
    folder.mkdir()
    with CyberTipStub() as stub:
        storage, world = prepared(url, stub, folder)
        report = world.upload(0)
        args = {"database_url": url, "stub_url": stub.url, "preserved_dir": str(folder)}
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "tests.filings.cybertip_child",
                json.dumps({**args, "point": "never_x"}),
            ],
            cwd=REPO,
            env={**os.environ, **ENV},
            capture_output=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr.decode()[-3000:]
        assert world.store.get(report.id).state is ReportState.FINISHED
        assert len(stub.finished_reports()) == 1
        storage.close()
