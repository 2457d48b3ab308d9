"""The published forms rendered from one snapshot."""

from __future__ import annotations

import csv
import io
import re

from keepdown.blocklist import Change, Entry, EntryKind, Snapshot
from keepdown.blocklist.render import (
    RpzPolicy,
    csv_list,
    json_list,
    rpz_delta,
    rpz_zone,
    squid_domains,
    squid_urls,
)
from keepdown.clock import utc

T = utc(2026, 5, 4, 9)
URL = Entry(EntryKind.URL, "http://img.h.test/a/1.jpg", T, "location", "csam", "Hosting A")
QUERY = Entry(EntryKind.URL, "http://img.h.test/view.php?id=7", T, "location", "csam", "A")
DOMAIN = Entry(EntryKind.DOMAIN, "dedicated.test", T, "domain", "csam")
SNAP = Snapshot(12, T, (URL, QUERY, DOMAIN))


def test_rpz_zone_lists_domains_with_the_operators_action() -> None:
    nx = rpz_zone(SNAP, RpzPolicy())
    assert "$ORIGIN rpz.keepdown." in nx
    assert re.search(r"SOA localhost\. hostmaster\.localhost\. 12 ", nx)
    assert "dedicated.test 300 IN CNAME ." in nx
    assert "*.dedicated.test 300 IN CNAME ." in nx
    assert "img.h.test" not in nx  # a resolver cannot block one URL
    splash = rpz_zone(SNAP, RpzPolicy(splash_host="blocked.isp.test"))
    assert "dedicated.test 300 IN CNAME blocked.isp.test." in splash


def test_rpz_delta_is_ixfr_ordered() -> None:
    gone = Entry(EntryKind.DOMAIN, "old.test", T, "domain")
    changes = [Change(12, "remove", gone, T), Change(12, "add", DOMAIN, T)]
    lines = rpz_delta(11, SNAP, changes, RpzPolicy()).splitlines()
    soas = [i for i, line in enumerate(lines) if " SOA " in line]
    assert [lines[i].split()[6] for i in soas] == ["12", "11", "12", "12"]
    assert lines[soas[1] + 1 : soas[2]] == [
        "-*.old.test 300 IN CNAME .",
        "-old.test 300 IN CNAME .",
    ]
    assert lines[soas[2] + 1 : soas[3]] == [
        "+*.dedicated.test 300 IN CNAME .",
        "+dedicated.test 300 IN CNAME .",
    ]


def test_hosts_of_listed_urls_are_steered_to_the_filtering_proxy() -> None:
    policy = RpzPolicy(proxy_host="filter.isp.test")
    zone = rpz_zone(SNAP, policy)
    assert "img.h.test 300 IN CNAME filter.isp.test." in zone
    assert zone.count("img.h.test") == 1  # one record per host, however many URLs
    inside = Entry(EntryKind.URL, "http://www.dedicated.test/x.jpg", T, "location")
    with_domain = Snapshot(13, T, (*SNAP.entries, inside))
    assert "www.dedicated.test" not in rpz_zone(with_domain, policy)  # the domain covers it
    # the host's steer record leaves with its last listed URL only
    one_gone = Snapshot(13, T, (QUERY, DOMAIN))
    delta = rpz_delta(12, one_gone, [Change(13, "remove", URL, T)], policy)
    assert "img.h.test" not in delta
    both_gone = Snapshot(14, T, (DOMAIN,))
    changes = [Change(13, "remove", URL, T), Change(14, "remove", QUERY, T)]
    delta = rpz_delta(12, both_gone, changes, policy)
    assert "-img.h.test 300 IN CNAME filter.isp.test." in delta.splitlines()


def test_squid_files_match_what_they_list() -> None:
    assert squid_domains(SNAP) == ".dedicated.test\n"
    patterns = [re.compile(p) for p in squid_urls(SNAP).splitlines()]

    def blocked(url: str) -> bool:
        return any(p.search(url) for p in patterns)

    assert blocked("http://img.h.test/a/1.jpg")
    assert blocked("http://img.h.test:8080/a/1.jpg?x=1")
    assert blocked("http://img.h.test/view.php?id=7")
    assert not blocked("http://img.h.test/view.php?id=70")
    assert not blocked("http://img.h.test/a/1.jpgx")
    assert not blocked("http://img-h.test/a/1.jpg")


def test_json_and_csv_carry_every_entry() -> None:
    doc = json_list(SNAP)
    assert doc["serial"] == 12
    assert doc["count"] == 3
    rows = list(csv.DictReader(io.StringIO(csv_list(SNAP))))
    assert [r["target"] for r in rows] == [URL.target, QUERY.target, DOMAIN.target]
    assert rows[0]["provider"] == "Hosting A"
