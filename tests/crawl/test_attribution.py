"""The attribution contract: unknown by default, one lookup per (host, ip) per crawl."""

from __future__ import annotations

import asyncio

import pytest

from keepdown.crawl.attribution import Attribution, CachingAttributor, UnknownAttributor


class Counting:
    def __init__(self, pause: float = 0.0) -> None:
        self.calls = 0
        self.pause = pause

    async def attribute(self, host: str, ip: str | None) -> Attribution:
        self.calls += 1
        await asyncio.sleep(self.pause)
        if host == "broken.example":
            raise RuntimeError("a bug in the attributor")
        return Attribution(f"P-{host}", 7, 64500, "192.0.2.0/24", "DE", "abuse@p.example", "rdap")


def test_unknown_attributor_names_nobody():
    answer = asyncio.run(UnknownAttributor().attribute("example.org", "192.0.2.1"))
    assert answer.source == "unknown"
    assert (answer.provider, answer.provider_id, answer.asn, answer.country) == (
        None,
        None,
        None,
        "",
    )
    assert not answer.known


def test_caching_attributor_asks_once_per_host_and_ip():
    async def go():
        inner = Counting()
        cached = CachingAttributor(inner)
        first = await cached.attribute("Img.Example", "192.0.2.1")
        assert await cached.attribute("img.example", "192.0.2.1") is first
        assert (await cached.attribute("img.example", "192.0.2.2")).provider == "P-img.example"
        assert (await cached.attribute("img.example", None)).known
        assert inner.calls == cached.lookups == 3

    asyncio.run(go())


def test_concurrent_asks_for_one_host_share_one_lookup():
    async def go():
        inner = Counting(pause=0.05)
        cached = CachingAttributor(inner)
        answers = await asyncio.gather(
            *(cached.attribute("a.example", "192.0.2.9") for _ in range(20))
        )
        assert inner.calls == 1
        assert len({id(a) for a in answers}) == 1
        with pytest.raises(RuntimeError, match="a bug"):
            await asyncio.gather(*(cached.attribute("broken.example", None) for _ in range(3)))
        assert inner.calls == 2  # the failure was shared too, and not cached
        with pytest.raises(RuntimeError):
            await cached.attribute("broken.example", None)
        assert inner.calls == 3

    asyncio.run(go())
