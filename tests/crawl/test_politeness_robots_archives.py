"""Per-host politeness, robots.txt policy and ZIP limits."""

from __future__ import annotations

import asyncio
import io
import zipfile
from dataclasses import dataclass

import pytest

from keepdown.clock import FrozenClock
from keepdown.crawl.archive_limits import ArchiveLimits
from keepdown.crawl.archives import ArchiveReport, iter_archive_images
from keepdown.crawl.failures import failure_of
from keepdown.crawl.politeness import InMemoryPoliteness
from keepdown.crawl.robots import RobotsTxtFetcher
from keepdown.errors import (
    BlockedAddress,
    FetchError,
    InputTooLarge,
    InvalidInput,
    RobotsDisallowed,
)
from keepdown.testing import synthetic_jpeg

# --- politeness ---------------------------------------------------------------------------


def test_per_host_concurrency_is_capped_and_hosts_are_independent():
    polite = InMemoryPoliteness(2, 0.0)
    in_flight = {"a": 0, "b": 0}
    peak = {"a": 0, "b": 0}

    async def request(host):
        async with polite.slot(host):
            in_flight[host] += 1
            peak[host] = max(peak[host], in_flight[host])
            await asyncio.sleep(0.01)
            in_flight[host] -= 1

    async def go():
        await asyncio.gather(*(request(h) for h in "aaaaaabbb"))

    asyncio.run(go())
    assert peak == {"a": 2, "b": 2}


def test_request_starts_are_spaced_by_the_delay_per_host():
    clock = FrozenClock()
    starts: list[tuple[str, float]] = []

    async def sleep(seconds):
        clock.advance(seconds)

    polite = InMemoryPoliteness(4, 1.5, clock=clock, sleep=sleep)

    async def request(host, delay=None):
        async with polite.slot(host, delay=delay):
            starts.append((host, clock.monotonic()))

    async def go():
        for host in "aab":
            await request(host)
        await request("a", delay=5.0)  # robots Crawl-delay, longer than ours
        await request("a")

    asyncio.run(go())
    assert starts == [("a", 0.0), ("a", 1.5), ("b", 1.5), ("a", 3.0), ("a", 8.0)]


def test_politeness_from_settings_and_bad_concurrency(settings):
    polite = InMemoryPoliteness.from_settings(settings)
    assert (polite.concurrency, polite.delay_seconds) == (2, 1.0)
    with pytest.raises(ValueError, match="at least 1"):
        InMemoryPoliteness(0, 1.0)


# --- robots -------------------------------------------------------------------------------


@dataclass
class Answer:
    status: int
    body: bytes = b""


class FakeFetcher:
    """The in-memory twin of the fetcher for robots: a table of answers by URL."""

    def __init__(self, answers):
        self.answers = answers
        self.calls: list[str] = []

    async def fetch(self, url, *, max_bytes):
        self.calls.append(url)
        await asyncio.sleep(0)
        answer = self.answers[url]
        if isinstance(answer, Exception):
            raise answer
        return answer


ROBOTS = b"User-agent: *\nDisallow: /private/\nCrawl-delay: 3\n\nUser-agent: keepdown\nAllow: /\n"


def _check(robots, url):
    async def go():
        await robots.check(url)

    asyncio.run(go())


def test_robots_rules_are_honoured_and_cached_per_origin():
    fetcher = FakeFetcher({"http://x.org/robots.txt": Answer(200, ROBOTS)})
    robots = RobotsTxtFetcher(fetcher, "SomeBot/1.0")

    async def go():
        await asyncio.gather(*(robots.check(f"http://x.org/p/{i}") for i in range(5)))
        with pytest.raises(RobotsDisallowed, match="forbids"):
            await robots.check("http://x.org/private/a.html")

    asyncio.run(go())
    assert fetcher.calls == ["http://x.org/robots.txt"]
    assert robots.crawl_delay("http://x.org/a") == 3.0
    assert robots.crawl_delay("http://y.org/a") is None


def test_robots_group_for_our_agent_wins():
    fetcher = FakeFetcher({"http://x.org/robots.txt": Answer(200, ROBOTS)})
    _check(RobotsTxtFetcher(fetcher, "keepdown-crawler/0.1"), "http://x.org/private/a.html")


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        (Answer(404), None),
        (Answer(410), None),
        (Answer(503), "http"),
        (FetchError("timed out", reason="timeout"), "timeout"),
        (FetchError("cannot resolve host 'x.org'", reason="dns"), "dns"),
    ],
)
def test_missing_robots_allows_unreachable_robots_forbids_saying_why(answer, reason):
    robots = RobotsTxtFetcher(FakeFetcher({"http://x.org/robots.txt": answer}), "bot")
    if reason is None:
        _check(robots, "http://x.org/a")
        return
    with pytest.raises(
        FetchError, match=r"robots.txt of http://x.org (could not be read|answered HTTP 503)"
    ) as caught:
        _check(robots, "http://x.org/a")
    assert type(caught.value) is FetchError  # not "robots.txt forbids": the host is the trouble
    assert failure_of(caught.value) == reason


def test_an_unreadable_robots_is_asked_again_after_a_while():
    clock = [0.0]
    fetcher = FakeFetcher({"http://x.org/robots.txt": Answer(503)})
    robots = RobotsTxtFetcher(fetcher, "bot", failure_seconds=30, monotonic=lambda: clock[0])
    for _ in range(3):
        with pytest.raises(FetchError):
            _check(robots, "http://x.org/a")
    assert fetcher.calls == ["http://x.org/robots.txt"]  # remembered meanwhile
    clock[0] = 31.0
    fetcher.answers["http://x.org/robots.txt"] = Answer(200, ROBOTS)
    _check(robots, "http://x.org/a")
    assert fetcher.calls == ["http://x.org/robots.txt"] * 2


def test_a_blocked_robots_address_is_a_blocked_address_not_robots():
    fetcher = FakeFetcher({"http://x.org/robots.txt": BlockedAddress("no")})
    with pytest.raises(BlockedAddress):
        _check(RobotsTxtFetcher(fetcher, "bot"), "http://x.org/a")


def test_robots_can_be_switched_off():
    fetcher = FakeFetcher({})
    robots = RobotsTxtFetcher(fetcher, "bot", enabled=False)
    _check(robots, "http://x.org/private/a.html")
    assert fetcher.calls == []
    assert robots.crawl_delay("http://x.org/") is None


# --- archives -----------------------------------------------------------------------------

LIMITS = ArchiveLimits(
    max_entries=10, max_entry_bytes=1_000_000, max_total_bytes=3_000_000, max_ratio=100
)


def _zip(members, method=zipfile.ZIP_DEFLATED):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", method) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buf.getvalue()


def test_images_come_out_of_a_zip_and_the_rest_is_reported():
    jpeg = synthetic_jpeg(1, 64, 48)
    data = _zip(
        {
            "a/one.jpg": jpeg,
            "dir/": b"",
            "readme.txt": b"hello",
            "two.dat": jpeg,
            "inner.zip": _zip({"x.jpg": jpeg}),
        }
    )
    report = ArchiveReport()
    found = list(iter_archive_images(data, LIMITS, report))
    assert found == [("a/one.jpg", jpeg), ("two.dat", jpeg)]  # sniffed, not by name
    assert set(report.skipped) == {"dir/", "readme.txt", "inner.zip"}


def test_too_many_entries_refuses_the_archive():
    data = _zip({f"{i}.txt": b"x" for i in range(11)})
    with pytest.raises(InputTooLarge, match="11 entries"):
        list(iter_archive_images(data, LIMITS))


def test_too_many_declared_bytes_refuses_the_archive():
    data = _zip({f"{i}.bin": bytes(900_000) for i in range(4)})
    with pytest.raises(InputTooLarge, match="uncompressed"):
        list(iter_archive_images(data, LIMITS))


def test_a_zip_bomb_entry_and_an_oversized_entry_are_skipped():
    jpeg = synthetic_jpeg(2, 64, 48)
    data = _zip({"bomb.jpg": b"\xff\xd8\xff" + bytes(900_000), "ok.jpg": jpeg})
    big = _zip({"big.jpg": b"\xff\xd8\xff" + bytes(1_100_000)}, zipfile.ZIP_STORED)
    report = ArchiveReport()
    assert list(iter_archive_images(data, LIMITS, report)) == [("ok.jpg", jpeg)]
    assert report.skipped["bomb.jpg"].startswith("zip_bomb: compression ratio")
    report = ArchiveReport()
    assert list(iter_archive_images(big, LIMITS, report)) == []
    assert report.skipped["big.jpg"].startswith("too_large: 1100003 bytes, over 1000000")


def test_not_a_zip_is_invalid_input():
    with pytest.raises(InvalidInput, match="ZIP"):
        list(iter_archive_images(b"PK\x03\x04 but not really", LIMITS))


def test_damaged_archives_give_our_errors_or_skipped_entries_only():
    import random

    jpeg = synthetic_jpeg(4, 64, 48)
    base = _zip({"a.jpg": jpeg, "b.jpg": synthetic_jpeg(5, 64, 48)})
    rng = random.Random(1)
    outcomes = set()
    for _ in range(400):
        data = bytearray(base)
        for _ in range(5):
            data[rng.randrange(len(data))] = rng.randrange(256)
        try:
            list(iter_archive_images(bytes(data), LIMITS, ArchiveReport()))
            outcomes.add("read")
        except InvalidInput as exc:  # InputTooLarge is one too
            outcomes.add(type(exc).__name__)
    assert "read" in outcomes
    assert "InvalidInput" in outcomes


def test_crawl_and_scan_judge_a_member_alike():
    """One guard: the same member is refused by the crawler's and a scan's limits for the
    same reason when their numbers agree (keepdown.crawl.archive_limits)."""
    from keepdown.settings import load_settings

    settings = load_settings(
        environ={},
        overrides={
            "crawl_max_zip_entries": 5,
            "scan_max_archive_members": 5,
            "crawl_max_zip_ratio": 50,
            "scan_max_member_ratio": 50,
            "crawl_max_zip_bytes": 10_000,
            "scan_max_archive_bytes": 10_000,
        },
    )
    crawl, scan = ArchiveLimits.for_crawl(settings), ArchiveLimits.for_scan(settings)
    for member in (
        {"size": 900, "packed": 9},  # ratio 100: a bomb
        {"size": 10, "count": 6},  # the sixth member of five
        {"size": 10, "total": 20_000},  # over the total
        {"size": 10, "encrypted": True},
    ):
        said = (crawl.refusal(**member), scan.refusal(**member))
        assert said[0] is not None
        assert said[0].split(" (")[0] == said[1].split(" (")[0]  # the setting each names differs
    assert crawl.refusal(size=10, packed=5) is None
