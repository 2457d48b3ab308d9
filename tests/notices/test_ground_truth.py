"""Removal figures against the ground truth (issues 24 and 25): five providers' bots on
loopback hosts, keepdown driven as an operator drives it, and every published view of the
figures compared with what the bots did.

Five "hosting providers" are loopback web servers (127.0.0.1 to .5), each registered in
keepdown and each with a bot that reads keepdown's notice e-mails (the real SMTP server),
answers through the signed link's JSON endpoints as a provider's program would, and changes
its own host on a script. The clock is a test clock (keepdown/clock.py: ``FrozenClock``) moved
a minute at a time; the cadences are those of the fast simulation of docs/notices.md
(re-check every 5 minutes, floor 1 minute, removed locations watched every 3 minutes), so the
whole scenario is 150 minutes of one day:

=========  ============================================================================
provider   what its bot does (minutes after the first notice, at minute 0)
=========  ============================================================================
P1 fast    removes both files 3 min after a notice (404) and reports the first; puts the
           first back at the same URL at 60 (the crawl at 62 and the watch find it)
P2 slow    removes one at 40 (reported) and the other at 50, silently; re-uploads the
           first at a new URL at 55; removes that 20 min after its notice, silently
P3 half    an object store: at 10, one answers 403 (reported removed: confirmed within
           one re-check pass), one serves a "content removed" page (not reported), one is
           falsely reported removed (still there), one is left alone
P4 disputes  disputes both at 5; the analyst upholds one (withdrawn) and rejects the other
           at 30; the crawl at 62 sees both again: the withdrawn one is not notified again
P5 ignores hosts, from the crawl at 62, the file P1 removed; answers nothing
=========  ============================================================================

``keepdown notices figures`` (text and JSON), ``keepdown report transparency`` (JSON, CSV,
HTML and the per-location data file), ``GET /api/v1/notices/figures``, the same report from
``GET /api/v1/transparency`` (every format) and the public ``/web/transparency`` page, and the
web's figures and provider pages must all give the true counts; each time to removal lies
between the true one and the true one plus its stated precision. The period is the single day
(``--period 2026-03-02``; issue 25, item 4).
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import re
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

from keepdown.app import open_crawl_services, open_notice_services, open_services
from keepdown.app.server import build_app
from keepdown.auth import Role
from keepdown.auth.passwords import Passwords
from keepdown.banks.records import EntryRecord
from keepdown.cli import cli
from keepdown.cli.crawl_cmd import run_worker
from keepdown.clock import FrozenClock
from keepdown.crawl.transport import StaticResolver
from keepdown.events import ReappearanceDetected, RemovalConfirmed
from keepdown.hashing import hash_bytes
from keepdown.hashing.types import SignalType
from keepdown.notices.providers import Provider
from keepdown.reports.durations import duration_text
from keepdown.reports.verify import figures_of
from keepdown.testing import synthetic_jpeg

from .conftest import BANK, T0, start_site

MIN = timedelta(minutes=1)
DAY = "2026-03-02"
END = 150  # minutes
CRAWLS = {0: (1, 2, 3, 4), 62: (1, 2, 4, 5)}  # minute -> providers whose index page is crawled
HOSTS = {i: f"files.p{i}.test" for i in range(1, 6)}
RESOLVER = StaticResolver({name: [f"127.0.0.{i}"] for i, name in HOSTS.items()})
REMOVED_PAGE = b"<!doctype html><title>Removed</title><p>This file was removed.</p>"
PASSWORD = "correct horse battery staple"
#: Cadence and precision: a removal is seen within one re-check (5 min), plus the minute of
#: a confirming check after a 403 or a removed page.
LATE_AT_MOST = 6 * MIN
FAST = {
    "notice_recheck_floor_minutes": 1,
    "notice_watch_every_hours": 0.05,
    "notice_recheck_error_hours": 0.02,
    "notice_delivery_lease_seconds": 600,
    "web_cookie_secure": False,
    "auth_cache_seconds": 0,
}
#: Known material: benign generated pictures whose SHA-256 is put in a trusted bank.
NAMES = ("1a", "1b", "2a", "2b", "3a", "3b", "3c", "3d", "4a", "4b")
FILES = {name: synthetic_jpeg(300 + n) for n, name in enumerate(NAMES)}
DECOY = synthetic_jpeg(399)  # never banked: never notified


@dataclass
class Truth:
    """One location as the provider's bot lived it."""

    url: str
    notified_at: datetime
    removed_at: datetime | None = None
    withdrawn: bool = False


@dataclass
class Bot:
    """A provider's abuse desk: reads its mail, answers by the signed link, edits its host."""

    n: int
    world: World
    site: Any
    address: str
    read: int = 0
    truth: dict[int, Truth] = field(default_factory=dict)  # location id -> truth
    todo: list[tuple[int, str, Any]] = field(default_factory=list)  # (minute, action, arg)
    links: dict[str, str] = field(default_factory=dict)  # notice reference -> link path
    reuploads: int = 0
    reports: int = 0
    disputes: list[tuple[str, int]] = field(default_factory=list)

    # --- the host ---------------------------------------------------------------------------

    def url(self, path: str) -> str:
        return f"http://{HOSTS[self.n]}:{self.site.port}{path}"

    def remove(self, path: str, how: str = "404") -> None:
        if how == "page":
            self.site.put(path, REMOVED_PAGE, "text/html")
        else:
            self.site.answer(path, int(how))
        now = self.world.clock.now()
        for truth in self.truth.values():
            if truth.url == self.url(path) and truth.removed_at is None and not truth.withdrawn:
                truth.removed_at = now

    # --- the mail ---------------------------------------------------------------------------

    def notices(self) -> list[dict[str, Any]]:
        """The notices in mail not read yet, as the signed link's JSON shows them."""
        found = []
        box = self.world.smtp
        for message, rcpt in list(zip(box.messages, box.recipients, strict=True))[self.read :]:
            self.read += 1
            if self.address not in rcpt:
                continue
            link = re.search(
                r"https://keepdown\.hotline\.test(/api/v1/notice-response\S+)",
                message.get_content(),
            )
            assert link, message.get_content()
            path = link.group(1)
            doc = self.world.client.get(path).json()
            self.links[doc["reference"]] = path
            found.append(doc)
        return found

    def answer(self, reference: str, action: str, **body: Any) -> None:
        parts = urlsplit(self.links[reference])
        done = self.world.client.post(f"{parts.path}/{action}?{parts.query}", json=body or None)
        assert done.status_code == 200, done.text

    def receive(self, minute: int) -> None:
        for doc in self.notices():
            new = []
            for loc in doc["locations"]:
                if loc["id"] not in self.truth:
                    self.truth[loc["id"]] = Truth(loc["media_url"], self.world.clock.now())
                    new.append(loc)
            if new:
                self.on_notice(minute, doc["reference"], new)

    def on_notice(self, minute: int, reference: str, new: list[dict[str, Any]]) -> None:
        script = SCRIPTS[self.n]
        for after, action, pick in script(self, minute, new):
            self.todo.append((minute + after, action, (reference, pick)))

    def act(self, minute: int) -> None:
        for item in [t for t in self.todo if t[0] == minute]:
            self.todo.remove(item)
            _, action, (reference, loc) = item
            path = urlsplit(loc["media_url"]).path if isinstance(loc, dict) else loc
            if action in ("404", "403", "page"):
                self.remove(path, action)
            elif action == "report":
                self.reports += 1
                self.answer(reference, "removed", location_id=loc["id"])
            elif action == "dispute":
                self.disputes.append((reference, loc["id"]))
                self.answer(reference, "dispute", location_id=loc["id"], reason="not ours")


def _by_name(new: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {urlsplit(loc["media_url"]).path.rsplit("/", 1)[-1]: loc for loc in new}


def _fast(bot: Bot, minute: int, new: list[dict[str, Any]]) -> list[tuple[int, str, Any]]:
    steps = []
    for name, loc in _by_name(new).items():
        steps.append((3, "404", loc))
        if name == "1a.jpg":
            steps.append((3, "report", loc))
    return steps


def _slow(bot: Bot, minute: int, new: list[dict[str, Any]]) -> list[tuple[int, str, Any]]:
    names = _by_name(new)
    if "2a.jpg" in names:
        return [
            (40, "404", names["2a.jpg"]),
            (40, "report", names["2a.jpg"]),
            (50, "404", names["2b.jpg"]),
        ]
    return [(20, "404", loc) for loc in new]  # the re-upload, silently


def _half(bot: Bot, minute: int, new: list[dict[str, Any]]) -> list[tuple[int, str, Any]]:
    names = _by_name(new)
    return [
        (10, "403", names["3a.jpg"]),
        (10, "report", names["3a.jpg"]),
        (10, "page", names["3b.jpg"]),
        (10, "report", names["3c.jpg"]),  # a false report: 3c stays
    ]


def _disputes(bot: Bot, minute: int, new: list[dict[str, Any]]) -> list[tuple[int, str, Any]]:
    return [(5, "dispute", loc) for loc in new]


def _ignores(bot: Bot, minute: int, new: list[dict[str, Any]]) -> list[tuple[int, str, Any]]:
    return []


SCRIPTS = {1: _fast, 2: _slow, 3: _half, 4: _disputes, 5: _ignores}


def _page(*names: str) -> bytes:
    body = "".join(f'<img src="/{name}">' for name in names)
    return f"<!doctype html><html><body>{body}</body></html>".encode()


class World:
    """The hosts and their bots, keepdown (notices, crawler, API and pages), the clock."""

    def __init__(self, settings: Any, smtp: Any, sites: dict[int, Any]) -> None:
        self.settings, self.smtp, self.clock = settings, smtp, FrozenClock(T0)
        self._bank()
        self.notices = open_notice_services(settings, clock=self.clock, resolver=RESOLVER)
        self.providers = {}
        for i in range(1, 6):
            self.providers[i] = self.notices.providers.add(
                Provider(
                    name=f"P{i}",
                    ip_ranges=(f"127.0.0.{i}/32",),
                    abuse_contacts=(f"abuse@p{i}.test",),
                    country="NL",
                    recheck_minutes=5,
                    renotice_minutes=30,
                    escalate_minutes=60,
                    escalation_target="upstream",
                    escalation_contact=f"noc@up{i}.test",
                ),
                self.clock.now(),
            )
        self.app, self.runtime = build_app(
            settings, clock=self.clock, resolver=RESOLVER, refresh_in_background=False
        )
        self.client = TestClient(self.app, base_url="http://127.0.0.1:8000")
        auth = self.runtime.auth
        operator = settings.operator_organisation
        self.keys = {role: auth.issue_key(operator, role).token for role in Role}
        self.bots = {i: Bot(i, self, site, f"abuse@p{i}.test") for i, site in sites.items()}
        self._host()

    def _bank(self) -> None:
        runtime = open_services(self.settings, self.clock)
        try:
            runtime.auth.ensure_organisation("hotline")
            runtime.banks.create_bank(BANK, owner="hotline", trust="auto", label="csam")
            for data in FILES.values():
                sha = hash_bytes(data, mode="exact").sha256.hex
                runtime.banks.add_entry(BANK, EntryRecord(SignalType.SHA256, sha))
        finally:
            runtime.close()

    def _host(self) -> None:
        by_host = {1: ("1a", "1b"), 2: ("2a", "2b"), 3: ("3a", "3b", "3c", "3d"), 4: ("4a", "4b")}
        for i, names in by_host.items():
            site = self.bots[i].site
            for name in names:
                site.put(f"/{name}.jpg", FILES[name])
            site.put("/decoy.jpg", DECOY)
            site.put("/index.html", _page(*(f"{n}.jpg" for n in names), "decoy.jpg"), "text/html")
        p5 = self.bots[5].site
        p5.put("/mirror.jpg", FILES["1b"])  # the file P1 removes at minute 3
        p5.put("/index.html", _page("mirror.jpg"), "text/html")

    def crawl(self, providers: tuple[int, ...]) -> None:
        crawl = open_crawl_services(self.settings, clock=self.clock, resolver=RESOLVER)
        try:
            for i in providers:
                crawl.crawls.create([self.bots[i].url("/index.html")], now=self.clock.now())
            assert run_worker(crawl, once=True, out=io.StringIO()) == len(providers)
        finally:
            crawl.close()

    def script(self, minute: int) -> None:
        """What happens at ``minute`` apart from the bots' answers to notices."""
        p1, p2 = self.bots[1], self.bots[2]
        if minute == 60:  # P1 puts 1a back where it was
            p1.site.put("/1a.jpg", FILES["1a"])
            p1.reuploads += 1
        if minute == 55:  # P2 re-uploads 2a at a new URL, linked from its page
            p2.site.put("/again-2a.jpg", FILES["2a"])
            p2.site.put("/index.html", _page("2b.jpg", "again-2a.jpg", "decoy.jpg"), "text/html")
            p2.reuploads += 1
        if minute == 30:  # the analyst reviews P4's disputes: the first upheld, the rest not
            head = {"Authorization": f"Bearer {self.keys[Role.ANALYST]}"}
            for n, (reference, location_id) in enumerate(self.bots[4].disputes):
                outcome = "upheld" if n == 0 else "rejected"
                body = {"reference": reference, "location_id": location_id, "outcome": outcome}
                done = self.client.post("/api/v1/notices/review", json=body, headers=head)
                assert done.status_code == 200, done.text
                if outcome == "upheld":
                    self.bots[4].truth[location_id].withdrawn = True

    def tick(self, minute: int) -> None:
        self.clock.set(T0 + minute * MIN)
        for bot in self.bots.values():
            bot.act(minute)
        self.script(minute)
        if minute in CRAWLS:
            self.crawl(CRAWLS[minute])
        asyncio.run(self.notices.tracker.recheck_due())
        asyncio.run(self.notices.service.send_due())
        for bot in self.bots.values():
            bot.receive(minute)

    def close(self) -> None:
        self.client.close()
        self.runtime.close()
        self.notices.close()


@pytest.fixture
def database_url(tmp_path):
    """SQLite only: the scenario is long, and what differs on PostgreSQL (concurrent passes,
    the provider lock) has its own tests (test_reappearance.py, test_end_to_end.py)."""
    return f"sqlite:///{tmp_path / 'keepdown.sqlite3'}"


@pytest.fixture
def world(nsettings, smtp):
    started = [start_site(f"127.0.0.{i}") for i in range(1, 6)]
    w = World(nsettings.replace(**FAST), smtp, {i: s for i, (s, _) in enumerate(started, 1)})
    yield w
    w.close()
    for _, server in started:
        server.shutdown()
        server.server_close()


# --- what the bots did -------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    """One provider's counts, however a view spells them."""

    notified: int
    removed: int
    present: int
    withdrawn: int
    reappearances: int


def _truth(w: World) -> dict[str, Row]:
    rows = {}
    for i, bot in w.bots.items():
        kept = [t for t in bot.truth.values() if not t.withdrawn]
        removed = sum(t.removed_at is not None for t in kept)
        withdrawn = sum(t.withdrawn for t in bot.truth.values())
        back = bot.reuploads + (1 if i == 5 else 0)  # P5 hosts a file P1 removed
        rows[f"P{i}"] = Row(len(kept), removed, len(kept) - removed, withdrawn, back)
    rows["all"] = Row(*(sum(getattr(r, f) for r in rows.values()) for f in Row.__annotations__))
    return rows


def _true_minutes(w: World) -> dict[str, list[float]]:
    return {
        f"P{i}": sorted(
            (t.removed_at - t.notified_at) / MIN
            for t in bot.truth.values()
            if t.removed_at is not None and not t.withdrawn
        )
        for i, bot in w.bots.items()
    }


# --- what each view says -----------------------------------------------------------------------


def _cli(w: World, *args: str) -> str:
    data = Path(tempfile.mkdtemp(prefix="keepdown-truth-"))
    result = CliRunner().invoke(
        cli, ["--database-url", w.settings.resolved_database_url, "--data-dir", str(data), *args]
    )
    assert result.exit_code == 0, result.output
    return result.stdout


def _rows_of_json(doc: dict[str, Any]) -> dict[str, Row]:
    """``notices figures --json`` and the API."""
    found = {
        r["provider"]: Row(
            r["notified"], r["removed"], r["still_present"], r["withdrawn"], r["reappearances"]
        )
        for r in doc["providers"]
    }
    t = doc["totals"]
    found["all"] = Row(
        t["notified"], t["removed"], t["still_present"], t["withdrawn"], t["reappearances"]
    )
    return found


def _rows_of_text(text: str) -> dict[str, Row]:
    lines = [line.split("\t") for line in text.splitlines()[1:]]
    header, found = lines[0], {}
    for cells in lines[1:]:
        c = dict(zip(header, cells, strict=True))
        name = "all" if c["provider"] == "all providers" else c["provider"]
        found[name] = Row(
            *(int(c[k]) for k in ("notified", "removed", "still present", "withdrawn")),
            int(c["reappearances"]),
        )
    return found


def _report_row(r: dict[str, Any]) -> Row:
    return Row(r["locations"], r["removed"], r["still_present"], r["withdrawn"], r["reappearances"])


def _rows_of_report_json(doc: dict[str, Any]) -> dict[str, Row]:
    found = {r["name"]: _report_row(r) for r in doc["league_table"]}
    found["all"] = _report_row(doc["totals"])
    return found


def _rows_of_report_csv(text: str) -> dict[str, Row]:
    cells: dict[str, dict[str, str]] = {}
    for section, subject, figure, value in list(csv.reader(io.StringIO(text)))[1:]:
        if section == "league_table":
            cells.setdefault(subject, {})[figure] = value
        elif section == "totals":
            cells.setdefault("all", {})[figure] = value
    names = ("locations", "removed", "still_present", "withdrawn", "reappearances")
    return {name: Row(*(int(c[k]) for k in names)) for name, c in cells.items()}


def _rows_of_report_html(text: str) -> dict[str, Row]:
    cells = figures_of("html", text)
    rows: dict[str, dict[str, str]] = {}
    for key, value in cells.items():
        table_row, _, column = key.rpartition(", ")
        rows.setdefault(table_row, {})[column] = value
    league = {r["provider"]: r for r in rows.values() if "rank" in r and "confirmed removed" in r}
    columns = (
        "locations notified",
        "confirmed removed",
        "still present at period end",
        "withdrawn (dispute upheld)",
        "reappearances",
    )
    return {name: Row(*(int(r[c]) for c in columns)) for name, r in league.items()}


def _rows_of_data_file(text: str) -> tuple[dict[str, Row], dict[str, list[tuple[float, float]]]]:
    """Per provider, the counts the per-location rows add up to, and (hours, precision) of
    each removal."""
    rows = list(csv.DictReader(io.StringIO(text.split("\n", 1)[1])))
    found, times = {}, {}
    for name in sorted({r["provider"] for r in rows}):
        mine = [r for r in rows if r["provider"] == name]
        status = Counter(r["status_at_period_end"] for r in mine)
        found[name] = Row(
            sum(r["counted_as_notified"].lower() == "true" for r in mine),
            status["removed"],
            status["present"],
            status["withdrawn"],
            sum(r["reappearance"].lower() == "true" for r in mine),
        )
        times[name] = sorted(
            (float(r["hours_to_removal"]), float(r["precision_hours"] or 0))
            for r in mine
            if r["hours_to_removal"]
        )
    return found, times


def _cells(html: str, attribute: str) -> dict[str, str]:
    row = re.search(rf'<tr data-provider="{re.escape(attribute)}">(.*?)</tr>', html, re.S)
    assert row, attribute
    return dict(re.findall(r'<td class="([\w-]+)">([^<]*)</td>', row.group(1)))


def _web_row(c: dict[str, str]) -> Row:
    return Row(
        *(int(c[k]) for k in ("notified", "removed", "present", "withdrawn", "reappearances"))
    )


def _sign_in(w: World) -> None:
    web = next(r.app.state.web for r in w.app.routes if getattr(r, "name", "") == "web")
    web.signin.passwords = Passwords(time_cost=1, memory_cost=1024)
    web.signin.add_user(
        "reader", PASSWORD, organisation=w.settings.operator_organisation, role=Role.ANALYST
    )
    page = w.client.get("/web/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    done = w.client.post(
        "/web/login",
        data={"username": "reader", "password": PASSWORD, "csrf_token": token},
        follow_redirects=False,
    )
    assert done.status_code == 303, done.text


# --- the test ----------------------------------------------------------------------------------


def test_every_view_gives_the_true_counts(world, tmp_path):
    w = world
    for minute in range(END + 1):
        w.tick(minute)
    truth = _truth(w)
    # the scenario's own truth, written out: what the bots did
    assert truth == {
        "P1": Row(3, 3, 0, 0, 1),  # 1a, 1b, and 1a again at the same URL: one reappearance
        "P2": Row(3, 3, 0, 0, 1),  # 2a, 2b, 2a again at a new URL
        "P3": Row(4, 2, 2, 0, 0),  # 403 and removed page removed; falsely reported and left
        "P4": Row(1, 0, 1, 1, 0),  # one withdrawn (seen again at 62: not notified again)
        "P5": Row(1, 0, 1, 0, 1),  # P1's removed file
        "all": Row(12, 8, 4, 1, 3),
    }
    events = list(w.notices.storage.events.read())
    assert Counter(e.where for e in events if isinstance(e, ReappearanceDetected)) == {
        "same_url": 1,
        "same_provider": 1,
        "other": 1,
    }
    # P3's 403, reported removed at minute 10, is confirmed by the check of that same pass
    # (the report and the 403 agree); its "content removed" page, not reported, by a second
    # check a floor (1 minute) later; both count from the check that first saw them
    removals = {e.answer: e for e in events if isinstance(e, RemovalConfirmed)}
    refused, page = removals["refused"], removals["unmatched"]
    assert (refused.status, refused.removed_at, refused.at) == (403, T0 + 10 * MIN, T0 + 10 * MIN)
    assert page.status == 200
    assert page.at - page.removed_at == MIN
    assert T0 + 10 * MIN <= page.removed_at <= T0 + 15 * MIN

    cli_json = json.loads(_cli(w, "notices", "figures", "--period", DAY, "--json"))
    head = {"Authorization": f"Bearer {w.keys[Role.REGULATOR]}"}
    api_json = w.client.get(f"/api/v1/notices/figures?period={DAY}", headers=head).json()
    assert api_json == cli_json
    report = json.loads(_cli(w, "report", "transparency", "--period", DAY, "--format", "json"))
    report_csv = _cli(w, "report", "transparency", "--period", DAY, "--format", "csv")
    data_file = _cli(w, "report", "transparency", "--period", DAY, "--format", "data-csv")
    html_path = tmp_path / "report.html"
    _cli(w, "report", "transparency", "--period", DAY, "-o", str(html_path))
    from_data, data_times = _rows_of_data_file(data_file)
    views = {
        "notices figures --json": _rows_of_json(cli_json),
        "notices figures (text)": _rows_of_text(_cli(w, "notices", "figures", "--period", DAY)),
        "GET /api/v1/notices/figures": _rows_of_json(api_json),
        "report json": _rows_of_report_json(report),
        "report csv": _rows_of_report_csv(report_csv),
    }
    for name, rows in views.items():
        assert rows == truth, name
    providers_only = {k: v for k, v in truth.items() if k != "all"}
    assert _rows_of_report_html(html_path.read_text()) == providers_only
    assert from_data == providers_only
    # the same report served by the API (every format) and the public web page
    served = {
        fmt: w.client.get(f"/api/v1/transparency?period={DAY}&format={fmt}", headers=head)
        for fmt in ("json", "csv", "html", "data-csv")
    }
    assert {fmt: r.status_code for fmt, r in served.items()} == dict.fromkeys(served, 200)
    assert _rows_of_report_json(served["json"].json()) == truth
    assert _rows_of_report_csv(served["csv"].text) == truth
    assert _rows_of_report_html(served["html"].text) == providers_only
    assert _rows_of_data_file(served["data-csv"].text)[0] == providers_only
    public_page = w.client.get(f"/web/transparency?period={DAY}")
    assert public_page.status_code == 200
    assert _rows_of_report_html(public_page.text) == providers_only

    _sign_in(w)
    figures_page = w.client.get(f"/web/figures?period={DAY}").text
    for i, provider in w.providers.items():
        key = str(provider.id)
        assert _web_row(_cells(figures_page, key)) == truth[f"P{i}"], key
        page = w.client.get(f"/web/providers/P{i}").text
        shown = dict(re.findall(r'<dd class="([\w-]+)">([^<]*)</dd>', page))
        assert _web_row(shown) == truth[f"P{i}"], f"provider page P{i}"
    assert _web_row(_cells(figures_page, "")) == truth["all"]

    # every time to removal: never early, late by at most its stated precision (<= 6 min)
    true_minutes = _true_minutes(w)
    by_name = {r["provider"]: r for r in cli_json["providers"]}
    for name, truth_minutes in true_minutes.items():
        measured = sorted(h * 60 for h in by_name[name]["removal_hours"])
        assert len(measured) == len(truth_minutes), name
        stated = data_times.get(name, [])
        for real, seen, (hours, precision) in zip(truth_minutes, measured, stated, strict=True):
            assert real <= seen <= real + LATE_AT_MOST / MIN, (name, real, seen)
            assert seen == pytest.approx(hours * 60, abs=0.01)
            assert seen - real <= precision * 60 + 1.0 + 1e-6, (name, real, seen, precision)
        row = by_name[name]
        if row["precision_max_hours"] is not None:
            assert row["precision_max_hours"] * 60 <= LATE_AT_MOST / MIN
            assert duration_text(row["median_removal_hours"]).endswith("min")  # not "0.1 h"
