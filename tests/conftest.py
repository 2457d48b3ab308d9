"""Shared fixtures: reference test data, settings in a temporary data dir, PostgreSQL URL."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy

from keepdown.settings import load_settings

REPO = Path(__file__).resolve().parent.parent


def testdata_root() -> Path:
    """Where ``../shared/testdata`` is (or ``KEEPDOWN_TESTDATA``)."""
    return Path(os.environ.get("KEEPDOWN_TESTDATA", REPO.parent / "shared" / "testdata"))


def required(variable: str) -> bool:
    """True when ``variable`` (KEEPDOWN_REQUIRE_POSTGRES, KEEPDOWN_REQUIRE_TESTDATA) is set:
    CI sets them so a missing server or data set fails the run instead of skipping tests."""
    return os.environ.get(variable, "").strip().lower() in {"1", "true", "yes", "on"}


def skip_or_fail(reason: str, variable: str) -> None:
    """Skip with ``reason`` on a developer's machine; fail when ``variable`` requires it."""
    if required(variable):
        pytest.fail(f"{reason} ({variable} is set, so this is an error, not a skip)")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def pdq_reference() -> Path:
    """The PDQ reference test data folder; tests that need it skip with a reason if absent."""
    root = testdata_root() / "pdq-reference"
    if not (root / "expected" / "pdqhash-pillow-measured.csv").exists():
        skip_or_fail(
            f"PDQ reference test data not found at {root}: fetch it with "
            "`bash scripts/fetch_testdata.sh` (or set KEEPDOWN_TESTDATA)",
            "KEEPDOWN_REQUIRE_TESTDATA",
        )
    return root


@pytest.fixture(scope="session")
def vpdq_reference() -> Path:
    root = testdata_root() / "vpdq-reference"
    if not (root / "sample-hashes").exists():
        skip_or_fail(
            f"vPDQ reference test data not found at {root}: fetch it with "
            "`bash scripts/fetch_testdata.sh` (or set KEEPDOWN_TESTDATA)",
            "KEEPDOWN_REQUIRE_TESTDATA",
        )
    return root


#: Tests serve everything on loopback: notices may carry loopback response links here.
LOOPBACK = {"notice_links_on_loopback": True}


@pytest.fixture
def settings(tmp_path: Path):
    """Settings pointing at a fresh data dir (SQLite there), ignoring the caller's environment."""
    return load_settings(environ={}, overrides={"data_dir": str(tmp_path / "data"), **LOOPBACK})


# --- databases: the same tests on SQLite and on PostgreSQL ----------------------------------
# `database_url` runs a test twice (sqlite, postgres); `postgres_url` alone gives a test its own
# PostgreSQL schema; `db_settings` and `storage` build on `database_url`. Reuse them for every
# store (auth, api, crawl...).

POSTGRES_URL = os.environ.get(
    "KEEPDOWN_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
_SCHEMA_PREFIX = f"kd_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"


@pytest.fixture(scope="session")
def _postgres_schemas() -> Iterator[list[str]]:
    """Reachability check once per run; drops every schema this run made at the end."""
    engine = sqlalchemy.create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect():
            pass
    except sqlalchemy.exc.SQLAlchemyError as exc:
        engine.dispose()
        skip_or_fail(
            f"PostgreSQL not reachable at {POSTGRES_URL} ({exc.__class__.__name__}); start it "
            "with scripts/services.sh or set KEEPDOWN_TEST_POSTGRES_URL",
            "KEEPDOWN_REQUIRE_POSTGRES",
        )
    created: list[str] = []
    yield created
    with engine.connect() as conn:
        for name in created:
            conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')
    engine.dispose()


@pytest.fixture
def postgres_url(_postgres_schemas: list[str]) -> str:
    """A PostgreSQL URL whose connections use a fresh, empty schema of this test's own."""
    name = f"{_SCHEMA_PREFIX}_{len(_postgres_schemas)}"
    engine = sqlalchemy.create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.exec_driver_sql(f'CREATE SCHEMA "{name}"')
    engine.dispose()
    _postgres_schemas.append(name)
    url = sqlalchemy.engine.make_url(POSTGRES_URL)
    # psycopg passes unknown URL query keys to libpq: every connection gets this search_path,
    # in this process and in any `python -m keepdown --database-url ...` subprocess.
    url = url.update_query_dict({"options": f"-csearch_path={name}"})
    return url.render_as_string(hide_password=False)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database: an SQLite file in tmp_path, then a PostgreSQL schema of its own."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'keepdown.sqlite3'}"
    return request.getfixturevalue("postgres_url")


@pytest.fixture
def db_settings(tmp_path: Path, database_url: str):
    """Settings with a fresh data dir and `database_url` (so: run on SQLite and PostgreSQL)."""
    return load_settings(
        environ={},
        overrides={"data_dir": str(tmp_path / "data"), "database_url": database_url, **LOOPBACK},
    )


@pytest.fixture
def storage(database_url: str):
    """keepdown.storage.Storage opened (and migrated) on `database_url`; closed afterwards."""
    from keepdown.storage import open_storage_url

    opened = open_storage_url(database_url)
    yield opened
    opened.close()
