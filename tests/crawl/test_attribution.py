"""The attribution contract: unknown by default, one lookup per (host, ip) per crawl."""

from __future__ import annotations

from keepdown.crawl.attribution import Attribution, CachingAttributor, UnknownAttributor


class Counting:
    def __init__(self) -> None:
        self.calls = 0

    def attribute(self, host: str, ip: str | None) -> Attribution:
        self.calls += 1
        return Attribution(f"P-{host}", 7, 64500, "192.0.2.0/24", "DE", "abuse@p.example", "rdap")


def test_unknown_attributor_names_nobody():
    answer = UnknownAttributor().attribute("example.org", "192.0.2.1")
    assert answer.source == "unknown"
    assert (answer.provider, answer.provider_id, answer.asn, answer.country) == (
        None,
        None,
        None,
        "",
    )
    assert not answer.known


def test_caching_attributor_asks_once_per_host_and_ip():
    inner = Counting()
    cached = CachingAttributor(inner)
    first = cached.attribute("Img.Example", "192.0.2.1")
    assert cached.attribute("img.example", "192.0.2.1") is first
    assert cached.attribute("img.example", "192.0.2.2").provider == "P-img.example"
    assert cached.attribute("img.example", None).known
    assert inner.calls == cached.lookups == 3
