"""KEEPDOWN_REQUIRE_POSTGRES / KEEPDOWN_REQUIRE_TESTDATA turn skips into failures (CI sets them),
so a run cannot go green without PostgreSQL or the reference data; without them a developer's
run skips with the reason."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.conftest import REPO

POSTGRES_TEST = "tests/storage/test_event_store.py::test_events_round_trip_in_order"
TESTDATA_TEST = "tests/hashing/test_pdq.py"


def _pytest(target: str, extra: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KEEPDOWN_REQUIRE_")}
    env.update(extra)
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rs", target, *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.parametrize("require", ["", "1"])
def test_an_unreachable_postgres_skips_or_fails(require: str) -> None:
    nowhere = {"KEEPDOWN_TEST_POSTGRES_URL": "postgresql+psycopg://postgres@127.0.0.1:9/none"}
    run = _pytest(f"{POSTGRES_TEST}[postgres]", {**nowhere, "KEEPDOWN_REQUIRE_POSTGRES": require})
    if require:
        assert run.returncode == 1, run.stdout
        assert "KEEPDOWN_REQUIRE_POSTGRES is set" in run.stdout
    else:
        assert run.returncode == 0, run.stdout
        assert "1 skipped" in run.stdout
        assert "PostgreSQL not reachable" in run.stdout


@pytest.mark.parametrize("require", ["", "1"])
def test_missing_reference_data_skips_or_fails(require: str, tmp_path) -> None:
    extra = {"KEEPDOWN_TESTDATA": str(tmp_path), "KEEPDOWN_REQUIRE_TESTDATA": require}
    run = _pytest(TESTDATA_TEST, extra, "-k", "reference", "-x")
    if require:
        assert run.returncode == 1, run.stdout
        assert "KEEPDOWN_REQUIRE_TESTDATA is set" in run.stdout
    else:
        assert run.returncode == 0, run.stdout
        assert "skipped" in run.stdout
        assert "reference test data not found" in run.stdout
