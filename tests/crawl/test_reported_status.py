"""Crawl outcomes a person can see (issue 15): every reported URL's crawl ends in an outcome
that says what really happened, and ``keepdown crawl``, ``keepdown crawl status``, the public
status and the API say the same.

On SQLite and PostgreSQL, one crawl per seed of the loopback site: a page with known material,
a page with nothing known, a name that does not resolve, a closed port, an address the guard
refuses, a page robots.txt forbids.
"""

from __future__ import annotations

import io
import json

import pytest
from click.testing import CliRunner

from keepdown.app import open_crawl_services
from keepdown.cli import cli
from keepdown.cli.crawl_cmd import run_worker
from keepdown.crawl.outcome import CrawlOutcome, Outcome
from keepdown.crawl.scope_request import ScopeRequest
from keepdown.crawl.transport import StaticResolver

from .conftest import CRAWL_OVERRIDES
from .test_crawler import HOST
from .test_db_crawl import RESOLVER, seed_banks


@pytest.fixture
def banked(db_settings, site):
    """Crawl settings on SQLite or PostgreSQL, with the known stand-ins in banks."""
    settings = db_settings.replace(**CRAWL_OVERRIDES)
    seed_banks(settings, site)
    return settings


def _seeds(site) -> dict[str, str]:
    planted = {p.page for p in site.planted}
    known = next(
        p for p in site.planted if p.known == 0 and p.variant == "original" and not p.member
    )
    quiet = next(
        site.page_path(i)
        for i in range(site.n_pages - 1, 0, -1)
        if site.page_path(i) not in planted
    )
    return {
        "known": site.url(known.page, HOST),
        "nothing": site.url(quiet, HOST),
        "dns": "http://nowhere.test/a.html",
        "refused": f"http://{HOST}:1/closed.html",
        "blocked": "http://10.0.0.1/private.html",
        "robots": site.url("/private/secret.html", HOST),
    }


def test_every_outcome_is_true_and_every_view_says_it(banked, site, database_url):
    settings = banked
    services = open_crawl_services(settings, resolver=StaticResolver(RESOLVER))
    seeds = _seeds(site)
    references: dict[str, str] = {}
    receipts: dict[str, tuple[str, str]] = {}
    try:
        for name, url in seeds.items():
            done = services.reports.intake(
                url,
                reporter_type="public",
                now=services.clock.now(),
                receipt=True,
                scope=ScopeRequest(max_depth=0),
            )
            references[name] = done.record.reference
            assert done.public_reference
            assert done.receipt
            receipts[name] = (done.public_reference, done.receipt)
        out = io.StringIO()
        ended: dict[int, CrawlOutcome] = {}
        run_worker(services, once=True, out=out, ended=ended)
        shown = {name: services.reports.status(reference) for name, reference in references.items()}
        got = {
            name: (s.outcome.outcome, s.outcome.reason)
            for name, s in shown.items()
            if s.outcome is not None
        }
        assert got == {
            "known": (Outcome.KNOWN_FOUND, ""),
            "nothing": (Outcome.NOTHING_KNOWN, ""),
            "dns": (Outcome.UNREACHABLE, "dns"),
            "refused": (Outcome.UNREACHABLE, "refused"),
            "blocked": (Outcome.UNREACHABLE, "blocked"),
            "robots": (Outcome.UNREACHABLE, "robots"),
        }
        assert {o.outcome for o in ended.values()} == {o for o, _ in got.values()}
        # the worker's summary says each, with its reason and the failing host
        text = out.getvalue()
        assert "unreachable: could not be fetched (dns: the host name does not resolve)" in text
        assert "failed: 1 blocked (the address is one keepdown never connects to" in text
        assert "failing hosts: nowhere.test 1" in text
        assert "known_found: known material found" in text
        # the public reporter learns reachability, never what was found
        public = {name: services.reports.public_status(*receipts[name]) for name in seeds}
        assert public["known"] == public["nothing"] == {"status": "checked", "reason": None}
        assert public["dns"] == {"status": "unreachable", "reason": "dns"}
        assert public["robots"] == {"status": "unreachable", "reason": "robots"}
        # a URL's own state: the blocked seed was never requested, so no attempt is charged
        urls, total = services.reports.crawl_urls(shown["blocked"].summary.crawl_id)
        assert total == 1
        assert urls[0].state == "failed"
        assert urls[0].failure == "blocked"
        known_urls, _ = services.reports.crawl_urls(shown["known"].summary.crawl_id)
        assert any(u.matched for u in known_urls if u.kind == "media")
        assert sum(u.matched for u in known_urls if u.kind == "page") >= 1
    finally:
        services.close()

    runner = CliRunner()
    base = ["--database-url", database_url, "--data-dir", settings.data_dir]
    status = runner.invoke(cli, [*base, "crawl", "status", references["dns"]])
    assert status.exit_code == 0, status.output
    lines = status.output.splitlines()
    assert lines[0] == f"{references['dns']}  {seeds['dns']}"
    assert "unreachable" in lines[1]
    assert "dns" in lines[1]
    row = lines[-1].split("\t")
    assert (row[0], row[5], row[6]) == ("failed", "dns", seeds["dns"])
    assert "cannot resolve host" in row[7]
    as_json = runner.invoke(
        cli, [*base, "crawl", "status", references["known"], "--format", "json"]
    )
    body = json.loads(as_json.output)
    assert body["outcome"]["outcome"] == "known_found"
    assert body["urls_total"] == len(body["urls"]) >= 2
    listed = runner.invoke(cli, [*base, "crawl", "status"])
    assert listed.exit_code == 0
    assert f"{references['refused']}\tunreachable (refused)\t{seeds['refused']}" in listed.output


def test_a_run_whose_every_seed_failed_exits_non_zero(tmp_path):
    # Issue 15, item 4: a seed the address guard refused ended "done: frontier exhausted",
    # exit 0, with nothing said.
    database = f"sqlite:///{tmp_path / 'k.sqlite3'}"
    runner = CliRunner()
    base = ["--database-url", database, "--data-dir", str(tmp_path / "data")]
    made = runner.invoke(cli, [*base, "report", "http://10.0.0.1/x", "http://192.168.0.1/y"])
    assert made.exit_code == 0, made.output
    ran = runner.invoke(cli, [*base, "crawl", "--once"])
    assert ran.exit_code == 69, ran.output
    assert "unreachable: could not be fetched (blocked" in ran.output
    assert "no seed of the 2 crawls that ended could be fetched" in ran.output
    assert "failed for good (blocked)" in ran.output  # logged as it happened
