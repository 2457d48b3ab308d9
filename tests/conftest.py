"""Shared fixtures: reference test data, settings in a temporary data dir, PostgreSQL URL."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from keepdown.settings import load_settings

REPO = Path(__file__).resolve().parent.parent


def testdata_root() -> Path:
    """Where ``../shared/testdata`` is (or ``KEEPDOWN_TESTDATA``)."""
    return Path(os.environ.get("KEEPDOWN_TESTDATA", REPO.parent / "shared" / "testdata"))


@pytest.fixture(scope="session")
def pdq_reference() -> Path:
    """The PDQ reference test data folder; tests that need it skip with a reason if absent."""
    root = testdata_root() / "pdq-reference"
    if not (root / "expected" / "pdqhash-pillow-measured.csv").exists():
        pytest.skip(f"PDQ reference test data not found at {root} (set KEEPDOWN_TESTDATA)")
    return root


@pytest.fixture(scope="session")
def vpdq_reference() -> Path:
    root = testdata_root() / "vpdq-reference"
    if not (root / "sample-hashes").exists():
        pytest.skip(f"vPDQ reference test data not found at {root} (set KEEPDOWN_TESTDATA)")
    return root


@pytest.fixture
def settings(tmp_path: Path):
    """Settings pointing at a fresh data dir (SQLite there), ignoring the caller's environment."""
    return load_settings(environ={}, overrides={"data_dir": str(tmp_path / "data")})
