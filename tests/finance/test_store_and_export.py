"""The SQL indicator store (SQLite and PostgreSQL) against its in-memory twin, "confirmed"
joined at query time, and the STIX 2.1 bundle checked by stix2-validator."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta

import pytest
from stix2validator import ValidationOptions, validate_string

from keepdown.errors import InvalidInput
from keepdown.finance.extract import Extractor
from keepdown.finance.model import InMemoryIndicators, PageRecord
from keepdown.finance.observer import FinanceObserver
from keepdown.finance.stix_export import TLP, render_indicators_csv, stix_bundle
from keepdown.storage.indicator_store import SqlIndicatorStore

from .conftest import T0, add_crawl, add_sighting
from .vectors import BASE58_VALID, EIP55_VALID, MONERO_VALID

BTC = next(iter(BASE58_VALID))
ETH = EIP55_VALID[0]


class Page:
    """A stand-in for the crawler's PageSeen."""

    def __init__(self, crawl_id, url, text, at, status=200, final=None):
        self.crawl_id, self.page_url, self.final_url = str(crawl_id), url, final or url
        self.fetched_at, self.status, self.server_ip, self.text = at, status, "127.0.0.1", text


def observe(store, crawl_id):
    observer = FinanceObserver(store, Extractor(), provider_of=lambda host, ip: f"P-{host}")
    observer(Page(crawl_id, "http://a.test/1", f"pay {BTC} or {ETH}", T0))
    observer(Page(crawl_id, "http://a.test/1", f"pay {BTC} again", T0 + timedelta(hours=1)))
    observer(Page(crawl_id, "http://b.test/2", f"xmr {MONERO_VALID} btc {BTC}", T0 + timedelta(1)))
    observer(Page(crawl_id, "http://c.test/3", "nothing to see here", T0))
    observer(Page(crawl_id, "http://d.test/4", f"{ETH}", T0, status=404))
    return observer


def test_sql_store_joins_confirmed_sightings_at_query_time(engine):
    crawl = add_crawl(engine)
    store = SqlIndicatorStore(engine)
    observer = observe(store, crawl)
    assert observer.stats["finance/pages_with_indicators"] == 3
    assert store.indicators() == []  # nothing confirmed yet
    every = store.indicators(confirmed_only=False)
    assert sorted(i.type for i in every) == ["btc", "eth", "xmr"]
    # later: confirmed sightings on page 1 (two) and a pending one on page 2
    add_sighting(engine, crawl, "http://a.test/1", 1, "confirmed", T0)
    add_sighting(engine, crawl, "http://a.test/1", 2, "confirmed", T0)
    add_sighting(engine, crawl, "http://b.test/2", 3, "pending_review", T0)
    found = {i.type: i for i in store.indicators()}
    assert set(found) == {"btc", "eth"}
    btc = found["btc"]
    assert btc.value == BTC
    assert btc.pages == ("http://a.test/1", "http://b.test/2")
    assert btc.providers == ("P-a.test", "P-b.test")
    assert (btc.first_seen, btc.last_seen) == (T0, T0 + timedelta(days=1))
    assert (btc.confirmed_sightings, btc.confirmed_pages) == (2, 1)
    # an analyst confirms the pending one: it counts at once
    add_sighting(engine, crawl, "http://b.test/2", 4, "confirmed", T0)
    found = {i.type: i for i in store.indicators()}
    assert set(found) == {"btc", "eth", "xmr"}
    assert found["btc"].confirmed_sightings == 3
    assert [i.type for i in store.indicators(min_confirmed=2)] == ["btc", "eth"]  # page 1: 2
    assert [i.type for i in store.indicators(types=["xmr"])] == ["xmr"]


def test_the_twin_agrees_with_the_sql_store(engine):
    crawl = add_crawl(engine)
    confirmed = {("1", "http://a.test/1"): 2, ("1", "http://b.test/2"): 1}
    twin = InMemoryIndicators(confirmed=lambda c, p: confirmed.get(("1", p), 0))
    sql = SqlIndicatorStore(engine)
    observe(twin, crawl)
    observe(sql, crawl)
    add_sighting(engine, crawl, "http://a.test/1", 1, "confirmed", T0)
    add_sighting(engine, crawl, "http://a.test/1", 2, "confirmed", T0)
    add_sighting(engine, crawl, "http://b.test/2", 3, "confirmed", T0)

    def facts(store):
        return sorted(
            (i.type, i.value, i.pages, i.providers, i.confirmed_sightings, i.first_seen)
            for i in store.indicators()
        )

    assert facts(twin) == facts(sql)


def indicators_for_export(engine):
    crawl = add_crawl(engine)
    store = SqlIndicatorStore(engine)
    observe(store, crawl)
    store.record(
        PageRecord(str(crawl), "http://e.test/5", "http://e.test/5", T0, (), provider=None)
    )
    observer = FinanceObserver(store, Extractor())
    text = "buy: https://paypal.me/seller42 or e-mail pay@seller.test for the price"
    observer(Page(crawl, "http://a.test/1", text, T0))
    add_sighting(engine, crawl, "http://a.test/1", 1, "confirmed", T0)
    return store.indicators()


@pytest.mark.parametrize("tlp", sorted(TLP))
def test_stix_bundle_validates_and_carries_exactly_the_indicators(engine, tlp):
    found = indicators_for_export(engine)
    assert sorted(i.type for i in found) == ["btc", "email", "eth", "payment_link"]
    text = stix_bundle(found, operator="Test Hotline", tlp=tlp, now=T0)
    result = validate_string(text, ValidationOptions(version="2.1", strict=True))
    assert result.is_valid, [str(e) for e in result.errors] + [str(w) for w in result.warnings]
    doc = json.loads(text)
    by_type: dict[str, list] = {}
    for obj in doc["objects"]:
        by_type.setdefault(obj["type"], []).append(obj)
    marking_id = TLP[tlp][0]
    assert [m["id"] for m in by_type["marking-definition"]] == [marking_id]
    for obj in doc["objects"]:
        if obj["type"] != "marking-definition":
            assert obj["object_marking_refs"] == [marking_id], obj["type"]
    assert {w["address"] for w in by_type["cryptocurrency-wallet"]} == {BTC, ETH}
    assert [e["value"] for e in by_type["email-addr"]] == ["pay@seller.test"]
    assert [u["value"] for u in by_type["url"]] == ["https://paypal.me/seller42"]
    assert len(by_type["indicator"]) == len(by_type["observed-data"]) == 4
    assert {r["relationship_type"] for r in by_type["relationship"]} == {"based-on"}
    patterns = sorted(i["pattern"] for i in by_type["indicator"])
    assert f"[cryptocurrency-wallet:address = '{BTC}']" in patterns
    assert "http://a.test/1" not in text  # never the URL of a page with material


def test_csv_export_and_bad_tlp(engine):
    found = indicators_for_export(engine)
    rows = list(csv.DictReader(io.StringIO(render_indicators_csv(found, tlp="green"))))
    assert {r["value"] for r in rows} == {BTC, ETH, "pay@seller.test", "https://paypal.me/seller42"}
    assert {r["tlp"] for r in rows} == {"TLP:GREEN"}
    assert all("a.test/1" not in ",".join(r.values()) for r in rows)
    with pytest.raises(InvalidInput):
        render_indicators_csv(found, tlp="purple")
    with pytest.raises(InvalidInput):
        stix_bundle(found, operator="x", tlp="purple", now=T0)
