"""Crawl fixtures: the loopback test site, loopback-allowing settings, a stand-in bank sink."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest

from keepdown.crawl.memory_frontier import InMemoryFrontier
from keepdown.crawl.sightings import Sighting
from keepdown.crawl.transport import StaticResolver
from keepdown.hashing import HashResult, hash_bytes
from keepdown.hashing.types import PdqHash, Sha256

from .site import TestSite

PDQ_THRESHOLD = 31


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def make_frontier(request, tmp_path, settings):
    """``max_attempts`` -> a fresh, empty Frontier of each implementation under test.

    In memory, and :class:`~keepdown.storage.crawl_store.SqlFrontier` on SQLite and
    PostgreSQL: test_frontier.py proves all keep the same protocol."""
    if request.param == "memory":
        yield lambda max_attempts: InMemoryFrontier(max_attempts=max_attempts)
        return
    from keepdown.clock import SystemClock
    from keepdown.storage import open_storage_url
    from keepdown.storage.crawl_store import CrawlStore

    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'frontier.sqlite3'}"
    else:
        url = request.getfixturevalue("postgres_url")
    storage = open_storage_url(url)
    crawls = CrawlStore(storage.engine, settings)

    def make(max_attempts: int):
        crawl = crawls.create(["http://site.test/"], now=SystemClock().now())
        frontier = crawls.frontier(crawl.id)
        frontier.max_attempts = max_attempts
        return frontier

    yield make
    storage.close()


@pytest.fixture(scope="session")
def site() -> Iterator[TestSite]:
    """The generated site, served on 127.0.0.1 at a free port for the whole session."""
    test_site = TestSite().start()
    yield test_site
    test_site.stop()


@pytest.fixture
def fresh_site(site: TestSite) -> TestSite:
    """The session site with its request log cleared (so a test sees only its own requests)."""
    site.reset_log()
    return site


@pytest.fixture
def resolver() -> StaticResolver:
    """Made-up names for the loopback site: ``site.test`` and an off-site ``other.test``."""
    return StaticResolver({"site.test": ["127.0.0.1"], "other.test": ["127.0.0.1"]})


# Settings for crawling the loopback site: 127.0.0.1 (only) allowed, short limits.
CRAWL_OVERRIDES = {
    "crawl_allowed_networks": "127.0.0.1/32",
    "crawl_per_host_concurrency": 8,
    "crawl_per_host_delay_seconds": 0,
    "crawl_concurrency": 16,
    "crawl_timeout_seconds": 1.0,  # generous: the machine may be loaded
    "crawl_max_fetch_seconds": 5,
    "crawl_max_retries": 1,
    "crawl_retry_backoff_seconds": 0.01,
    "crawl_max_attempts": 2,
    "crawl_max_media_bytes": 2_000_000,
    "crawl_max_zip_bytes": 5_000_000,
    "crawl_max_depth": 12,
}


@pytest.fixture
def crawl_settings(settings):
    return settings.replace(**CRAWL_OVERRIDES)


@dataclass
class BankSink:
    """A MediaSink standing in for the real matcher: sha256 or PDQ (all dihedral variants)
    within 31 of a planted known stand-in."""

    sha256: dict[Sha256, int]
    pdq: list[tuple[PdqHash, int]]
    sightings: list[Sighting] = field(default_factory=list)
    matches: list[tuple[Sighting, int]] = field(default_factory=list)

    def known_id(self, hashes: HashResult) -> int | None:
        if hashes.sha256 in self.sha256:
            return self.sha256[hashes.sha256]
        candidates = [r.hash for r in (hashes.dihedral or {}).values()]
        candidates += [hashes.pdq] if hashes.pdq is not None else []
        for query in candidates:
            for known_pdq, known in self.pdq:
                if query - known_pdq <= PDQ_THRESHOLD:
                    return known
        return None

    def accept(self, sighting: Sighting, hashes: HashResult) -> None:
        self.sightings.append(sighting)
        known = self.known_id(hashes)
        if known is not None:
            self.matches.append((sighting, known))


@pytest.fixture(scope="session")
def bank_hashes(site: TestSite) -> tuple[dict[Sha256, int], list[tuple[PdqHash, int]]]:
    """Hashes of the original known stand-ins: the test's bank."""
    sha, pdq = {}, []
    for known, variants in enumerate(site.known):
        result = hash_bytes(variants["original"])
        sha[result.sha256] = known
        assert result.pdq is not None
        pdq.append((result.pdq, known))
    return sha, pdq


@pytest.fixture
def bank_sink(bank_hashes) -> BankSink:
    return BankSink(dict(bank_hashes[0]), list(bank_hashes[1]))
