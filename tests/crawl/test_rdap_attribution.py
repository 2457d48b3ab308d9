"""Real attribution: the provider registry first, then RDAP from a loopback RDAP server.

The RDAP server (``rdapserver.py``) speaks RFC 9083 ip network objects; the client reaches it
through the crawler's SSRF-guarded fetcher (loopback allowed explicitly, and refused without
that). Addresses are documentation ranges (RFC 5737): the lookups go to 127.0.0.1 only.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime

import pytest

from keepdown.clock import SystemClock
from keepdown.crawl.sightings import Sighting
from keepdown.notices.attribution import (
    RdapClient,
    RegistryAttributor,
    parse_rdap_ip,
    registry_match,
)
from keepdown.notices.providers import Provider
from keepdown.storage import open_storage_url
from keepdown.storage.crawl_store import CrawlStore, SightingRecorder, list_sightings
from keepdown.storage.provider_store import SqlProviderStore

from .rdapserver import RdapNet, RdapServer, network_object

TRANSIT = RdapNet("192.0.2.0/24", "Example Transit", "DE", "abuse@transit.example", asns=(64501,))
NETWORKS = [
    TRANSIT,
    RdapNet("198.51.100.0/25", "Slow Net", behaviour="slow", delay=3.0),
    RdapNet("198.51.100.128/26", "Broken Net", behaviour="broken"),
    RdapNet("198.51.100.192/27", "Error Net", behaviour="error"),
    RdapNet("198.51.100.224/27", "Wrong Net", behaviour="wrong"),
    RdapNet("203.0.113.0/25", "Via RIR", "FR", "abuse@rir.example", behaviour="redirect"),
    RdapNet("203.0.113.128/25", "Customer Of Registry", "NL", asns=(64500,)),
    RdapNet("2001:db8::/32", "Six Net", "SE", "abuse@six.example", nested_abuse=False),
]
REGISTRY = [
    Provider(
        name="Registry Host",
        id=1,
        ip_ranges=("192.0.2.128/25",),
        asns=(64500,),
        domains=("registry-host.example",),
        abuse_contacts=("abuse@registry-host.example",),
        country="NL",
    ),
    Provider(
        name="Registry CDN",
        id=2,
        ip_ranges=("192.0.2.192/26",),
        domains=("cdn.registry-host.example",),
        abuse_contacts=("abuse@cdn.example",),
        country="IE",
    ),
]


@pytest.fixture(scope="module")
def rdap():
    server = RdapServer(NETWORKS).start()
    yield server
    server.stop()


@pytest.fixture
def rdap_settings(settings, rdap):
    rdap.requests.clear()
    return settings.replace(
        rdap_base_url=rdap.base,
        rdap_timeout_seconds=0.5,
        crawl_allowed_networks="127.0.0.1/32",
        crawl_retry_backoff_seconds=0.01,
    )


def attributor(settings, providers=REGISTRY) -> RegistryAttributor:
    return RegistryAttributor(lambda: list(providers), rdap=RdapClient(settings))


def attribute(attr, host, ip):
    return asyncio.run(attr.attribute(host, ip))


# --- parsing and the registry, without the network ----------------------------------------


def test_parse_an_rfc9083_ip_network():
    answer = parse_rdap_ip(network_object(TRANSIT))
    assert answer.name == "Example Transit"
    assert answer.network == "192.0.2.0/24"
    assert (answer.country, answer.abuse_email, answer.asns) == (
        "DE",
        "abuse@transit.example",
        (64501,),
    )
    six = parse_rdap_ip(network_object(NETWORKS[-1]))  # abuse entity at the top level
    assert (six.network, six.abuse_email, six.country) == (
        "2001:db8::/32",
        "abuse@six.example",
        "SE",
    )


def test_parse_falls_back_to_start_and_end_and_the_object_name():
    data = network_object(RdapNet("192.0.2.0/26", "x"))
    del data["cidr0_cidrs"]
    data["entities"] = []
    answer = parse_rdap_ip(data)
    assert (answer.network, answer.name, answer.abuse_email, answer.asns) == (
        "192.0.2.0/26",
        "X-NET",
        None,
        (),
    )
    for bad in ({"objectClassName": "autnum"}, [], "text", None):
        with pytest.raises(ValueError, match="not an RDAP ip network"):
            parse_rdap_ip(bad)


def test_registry_match_most_specific_range_then_longest_domain():
    assert registry_match(REGISTRY, "x.example", "192.0.2.200").name == "Registry CDN"
    assert registry_match(REGISTRY, "x.example", "192.0.2.130").name == "Registry Host"
    assert registry_match(REGISTRY, "cdn.registry-host.example", None).name == "Registry CDN"
    assert registry_match(REGISTRY, "img.registry-host.example.", "x").name == "Registry Host"
    assert registry_match(REGISTRY, "notregistry-host.example", "192.0.2.1") is None


# --- registry first, then RDAP on loopback ------------------------------------------------


def test_the_registry_answers_first_and_rdap_is_not_asked(rdap_settings, rdap):
    attr = attributor(rdap_settings)
    by_ip = attribute(attr, "unknown.example", "192.0.2.201")
    assert (by_ip.provider, by_ip.provider_id, by_ip.network, by_ip.source) == (
        "Registry CDN",
        2,
        "192.0.2.192/26",
        "registry",
    )
    by_domain = attribute(attr, "img.registry-host.example", "198.51.100.1")
    assert (by_domain.provider, by_domain.abuse_email, by_domain.asn) == (
        "Registry Host",
        "abuse@registry-host.example",
        64500,
    )
    assert rdap.requests == []


def test_rdap_names_the_network_and_abuse_contact(rdap_settings, rdap):
    attr = attributor(rdap_settings)
    answer = attribute(attr, "files.example", "192.0.2.10")
    assert answer.source == "rdap"
    assert (answer.provider, answer.provider_id, answer.asn, answer.network) == (
        "Example Transit",
        None,
        64501,
        "192.0.2.0/24",
    )
    assert (answer.country, answer.abuse_email) == ("DE", "abuse@transit.example")
    assert answer.known
    assert rdap.requests == ["/ip/192.0.2.10"]
    redirected = attribute(attr, "x.example", "203.0.113.9")  # 302 to the registry's server
    assert (redirected.provider, redirected.country) == ("Via RIR", "FR")
    assert rdap.requests[-2:] == ["/ip/203.0.113.9", "/rir/ip/203.0.113.9"]
    six = attribute(attr, "v6.example", "2001:db8::7")
    assert (six.provider, six.network) == ("Six Net", "2001:db8::/32")


def test_an_rdap_origin_as_in_the_registry_names_the_registry_provider(rdap_settings):
    answer = attribute(attributor(rdap_settings), "shop.example", "203.0.113.200")
    assert (answer.provider, answer.provider_id, answer.source) == ("Registry Host", 1, "registry")
    assert answer.network == "203.0.113.128/25"  # the network RDAP knows, not the registry's


def test_unknown_and_failing_rdap_answers_are_unknown(rdap_settings, rdap, caplog):
    attr = attributor(rdap_settings)
    caplog.set_level(logging.WARNING, logger="keepdown.notices.attribution")
    for ip in ("100.64.0.1", "198.51.100.130", "198.51.100.200", "198.51.100.230"):
        answer = attribute(attr, "h.example", ip)
        assert (answer.source, answer.provider, answer.known) == ("unknown", None, False), ip
    assert attribute(attr, "h.example", None).source == "unknown"  # no IP: nothing to ask
    warned = [r.getMessage() for r in caplog.records]
    assert len(warned) == 3  # 404 is an answer (no network known), not a failure
    assert any("HTTP 500" in w for w in warned)
    assert any("not an ip network" in w for w in warned)


def test_a_slow_rdap_server_times_out_without_stalling_the_loop(rdap_settings):
    attr = attributor(rdap_settings.replace(rdap_timeout_seconds=0.3))
    ticks = 0

    async def tick():
        nonlocal ticks
        while True:
            await asyncio.sleep(0.02)
            ticks += 1

    async def go():
        ticker = asyncio.create_task(tick())
        started = asyncio.get_running_loop().time()
        answer = await attr.attribute("slow.example", "198.51.100.5")
        took = asyncio.get_running_loop().time() - started
        ticker.cancel()
        return answer, took

    answer, took = asyncio.run(go())
    assert answer.source == "unknown"
    assert took < 2.5  # two tries of 0.3 s, not the server's 3 s
    assert ticks >= took / 0.02 * 0.5  # the loop kept turning while RDAP was awaited


def test_without_an_allowed_network_loopback_rdap_is_refused(settings, rdap):
    rdap.requests.clear()
    closed = settings.replace(rdap_base_url=rdap.base, rdap_timeout_seconds=0.5)
    answer = attribute(attributor(closed), "files.example", "192.0.2.10")
    assert answer.source == "unknown"
    assert rdap.requests == []  # the SSRF guard refused before any connection


# --- stored sightings: cached lookups, unknown hosts listed for analysts -------------------


def _sighting(host: str, ip: str, n: int) -> Sighting:
    return Sighting(
        crawl_id="1",
        page_url="https://seed.example/",
        media_url=f"https://{host}/{n}.jpg",
        final_url=f"https://{host}/{n}.jpg",
        archive_member="",
        found_by="img[src]",
        status=200,
        declared_type="image/jpeg",
        content_type="image/jpeg",
        size=100,
        server_ip=ip,
        http_version="HTTP/1.1",
        seen_at=datetime(2026, 1, 1, tzinfo=UTC),
        md5="0" * 32,
        sha1="0" * 40,
        sha256=f"{n:064x}",
        pdq=None,
        pdq_quality=None,
    )


def test_recorded_sightings_carry_attribution_and_unknown_hosts_are_listed(
    rdap_settings, rdap, database_url
):
    storage = open_storage_url(database_url)
    try:
        registry = SqlProviderStore(storage.engine)
        registry.add(REGISTRY[0], SystemClock().now())
        crawls = CrawlStore(storage.engine, rdap_settings)
        crawl = crawls.create(["https://seed.example/"], now=SystemClock().now())
        recorder = SightingRecorder(
            storage.engine,
            crawl.id,
            matcher=lambda hashes: [],
            attributor=RegistryAttributor(registry.list_providers, rdap=RdapClient(rdap_settings)),
            events=storage.events,
            clock_now=SystemClock().now,
        )
        places = [("img.registry-host.example", "192.0.2.140")] * 3
        places += [("cdn.transit.example", "192.0.2.10")] * 4
        places += [("nowhere.example", "100.64.0.9")] * 2

        async def go():
            await asyncio.gather(
                *(recorder.accept(_sighting(h, ip, n), None) for n, (h, ip) in enumerate(places))
            )

        asyncio.run(go())
        rows = list_sightings(storage.engine, crawl_id=crawl.id)
        got = {(r["provider"], r["attribution_source"], r["abuse_email"]) for r in rows}
        assert got == {
            ("Registry Host", "registry", "abuse@registry-host.example"),
            ("Example Transit", "rdap", "abuse@transit.example"),
            (None, "unknown", None),
        }
        assert len(rows) == len(places)
        assert sorted(rdap.requests) == ["/ip/100.64.0.9", "/ip/192.0.2.10"]  # once per IP
        assert crawls.unknown_hosts(crawl.id) == [("nowhere.example", "100.64.0.9")]
    finally:
        storage.close()
