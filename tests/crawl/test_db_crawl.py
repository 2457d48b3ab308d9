"""A reported URL, crawled on the database frontier, yields exactly the planted sightings.

On SQLite and PostgreSQL: report through the CLI, run the crawl worker with the real
attributor (the provider registry in the database, then RDAP from a loopback RDAP server),
then read the ``sightings`` rows: the planted known stand-ins and nothing else, ``confirmed``
for an exact match on the trusted bank, ``pending_review`` otherwise, every row attributed.
"""

from __future__ import annotations

import io

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from keepdown.app import open_crawl_services, open_services, registry_attributor
from keepdown.banks.records import EntryRecord
from keepdown.cli import cli
from keepdown.cli.crawl_cmd import run_worker
from keepdown.clock import SystemClock
from keepdown.crawl.attribution import Attribution
from keepdown.crawl.transport import StaticResolver
from keepdown.crawl.urls import host_of
from keepdown.events import MatchFound, SightingRecorded
from keepdown.hashing import hash_bytes
from keepdown.hashing.types import SignalType
from keepdown.notices.providers import Provider
from keepdown.storage.crawl_store import list_sightings
from keepdown.storage.provider_store import SqlProviderStore
from keepdown.storage.tables_banks import bank_entries
from keepdown.storage.tables_crawl import crawl_unknown_hosts

from .conftest import CRAWL_OVERRIDES
from .rdapserver import RdapServer
from .test_crawler import HOST, _expected

TRUSTED, REVIEW = "trusted-bank", "review-bank"
KNOWN_IN = {0: TRUSTED, 1: TRUSTED, 2: REVIEW, 3: REVIEW}
SOURCES = {TRUSTED: "Hotline A hash list", REVIEW: "Partner B hash list"}
RESOLVER = {HOST: ["127.0.0.1"], "other.test": ["127.0.0.1"]}


class CountingAttributor:
    """The real attributor, counting what it is asked (to prove the per-crawl cache)."""

    def __init__(self, inner) -> None:
        self.inner = inner
        self.calls: list[tuple[str, str | None]] = []

    async def attribute(self, host: str, ip: str | None) -> Attribution:
        self.calls.append((host, ip))
        return await self.inner.attribute(host, ip)


def register_loopback_host(storage) -> int:
    """The provider registry: site.test is hosted by "Loopback Hosting"."""
    provider = Provider(
        name="Loopback Hosting",
        domains=(HOST,),
        asns=(64500,),
        abuse_contacts=("abuse@lo.test",),
        country="NL",
    )
    return SqlProviderStore(storage.engine).add(provider, SystemClock().now()).id


def seed_banks(settings, site) -> dict[int, int]:
    """Trusted bank: known 0 and 1; review bank: known 2 and 3. -> {entry id: known}."""
    services = open_services(settings, SystemClock())
    try:
        services.auth.ensure_organisation(services.settings.operator_organisation)
        services.banks.create_bank(
            TRUSTED,
            owner=services.settings.operator_organisation,
            trust="auto",
            source=SOURCES[TRUSTED],
        )
        services.banks.create_bank(
            REVIEW,
            owner=services.settings.operator_organisation,
            trust="review",
            source=SOURCES[REVIEW],
        )
        entries: dict[int, int] = {}
        for known, bank in KNOWN_IN.items():
            result = hash_bytes(site.known[known]["original"])
            values = [result.sha256.hex, result.pdq.hex]
            services.banks.add_entry(bank, EntryRecord(SignalType.SHA256, values[0]))
            services.banks.add_entry(bank, EntryRecord(SignalType.PDQ, values[1]))
            with services.storage.engine.connect() as conn:
                query = select(bank_entries.c.id).where(bank_entries.c.value.in_(values))
                for (entry_id,) in conn.execute(query):
                    entries[entry_id] = known
        assert len(entries) == 8
        return entries
    finally:
        services.storage.close()


@pytest.fixture
def crawl_db(db_settings, site):
    settings = db_settings.replace(**CRAWL_OVERRIDES)
    return settings, seed_banks(settings, site)


def test_reported_url_yields_exactly_the_planted_sightings(crawl_db, site, database_url):
    settings, entries = crawl_db
    site.reset_log()
    seed = site.url("/index.html", HOST)
    runner = CliRunner(env={"KEEPDOWN_CRAWL_MAX_DEPTH": str(settings.crawl_max_depth)})
    first = runner.invoke(cli, ["--database-url", database_url, "report", seed])
    assert first.exit_code == 0, first.output
    again = runner.invoke(cli, ["--database-url", database_url, "report", seed + "#top"])
    reference = first.output.split("\t")[0]
    assert again.output.split("\t")[:2] == [reference, "repeat"]

    rdap = RdapServer().start()  # knows no network: 127.0.0.1 is a 404 there
    settings = settings.replace(rdap_base_url=rdap.base, rdap_timeout_seconds=1.0)
    services = open_crawl_services(settings, resolver=StaticResolver(RESOLVER))
    provider_id = register_loopback_host(services.storage)
    attributor = CountingAttributor(registry_attributor(settings, services.storage))
    services.attributor = attributor
    try:
        out = io.StringIO()
        assert run_worker(services, once=True, out=out) == 1
        rows = list_sightings(services.storage.engine)
        matched = [r for r in rows if r["state"] != "unmatched"]
        found = {
            (r["page_url"], r["media_url"], r["archive_member"], entries[r["entry_id"]])
            for r in matched
        }
        assert found == _expected(site)
        assert len(matched) == len(found)  # one row per planted place
        progress = [x for x in out.getvalue().splitlines() if x.startswith("crawl 1: pages")]
        assert f"matches {len(matched)}" in progress[-1]
        assert "crawl 1: known_found: known material found" in out.getvalue()
        for r in matched:
            assert r["bank"] == KNOWN_IN[entries[r["entry_id"]]]
            exact_trusted = r["bank"] == TRUSTED and r["match_type"] == "exact"
            assert r["state"] == ("confirmed" if exact_trusted else "pending_review")
            assert (r["provider"], r["provider_id"], r["asn"], r["country"]) == (
                "Loopback Hosting",
                provider_id,
                64500,
                "NL",
            )
            assert (r["abuse_email"], r["attribution_source"]) == ("abuse@lo.test", "registry")
            assert r["server_ip"] == "127.0.0.1"
            assert r["http_status"] == 200
            assert len(r["sha256"]) == 64
            assert r["size"] > 0
        confirmed = {
            r["media_url"].rsplit("/", 1)[-1] for r in matched if r["state"] == "confirmed"
        }
        assert confirmed == {"k0-original.jpg"}  # the only exact copy of a trusted entry
        assert attributor.calls == [(HOST, "127.0.0.1")]  # one lookup for the whole crawl
        assert rdap.requests == []  # the registry knew the host
        events = services.storage.events
        assert events.count(SightingRecorded.kind) == len(matched)
        # Each names its bank's source, its crawl and the report that started it.
        recorded = list(events.read(SightingRecorded.kind))
        assert {(e.bank, e.bank_source) for e in recorded} == {
            (bank, SOURCES[bank]) for bank in {r["bank"] for r in matched}
        }
        assert {(e.crawl_id, e.report_ref) for e in recorded} == {("1", reference)}
        assert events.count(MatchFound.kind) >= len(matched)
        assert events.count("url_reported") == 2
        crawl = services.crawls.get(1)
        assert (crawl.state, crawl.reason) == ("done", "frontier exhausted")
        with services.storage.engine.connect() as conn:
            unknown = {(r.host, r.ip) for r in conn.execute(select(crawl_unknown_hosts))}
        assert unknown == {
            (host_of(r["final_url"]), r["server_ip"])
            for r in rows
            if r["attribution_source"] == "unknown"
        }
    finally:
        services.close()
        rdap.stop()
