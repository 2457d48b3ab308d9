"""The keyed prefix feed, and the dictionary attack that reversed Germany's MD5 list.

In 2014 the German list of blocked URLs (MD5 of each URL, shipped to router and filter
vendors) was read back for more than 99% of its entries by hashing candidate domains and
URLs from public lists. Here the same attack runs against a plain MD5 list of the listed URLs
and against keepdown's feed of the same URLs: it reads the first back and gets nothing from
the second without the licensee's key.
"""

from __future__ import annotations

import hashlib
import random

from keepdown.blocklist.canonical import canonicalise, expressions, parse_canonical
from keepdown.blocklist.keyed import (
    PREFIX_BYTES,
    FeedClient,
    PrefixFeed,
    keyed_hash,
    licensee_key,
    plain_md5,
)

MASTER = b"master secret of this hotline, 32+ bytes long......"
WORDS = ["img", "cdn", "files", "pics", "share", "host", "up", "media", "box", "drop"]
TLDS = ["test", "example", "invalid"]
PATHS = ["/", "/index.html", "/a/1.jpg", "/gallery/", "/gallery/2.jpg", "/upload/x.png"]


def _candidates() -> list[str]:
    """The attacker's dictionary: plausible domains times common paths (a public list of
    domains and a crawl of their paths, in the 2014 attack)."""
    hosts = [f"{a}{b}.{t}" for a in WORDS for b in WORDS for t in TLDS]
    return [f"http://{h}{p}" for h in hosts for p in PATHS]


def _listed() -> list[str]:
    """Listed files (locations are media URLs). A listed expression ending in ``/`` covers
    what is under it, as in safe browsing, so directories would also catch their files."""
    rng = random.Random(20)
    return rng.sample([u for u in _candidates() if not u.endswith("/")], 60)


def _attack(list_hashes: set[str], hash_of) -> set[str]:
    """Hash every candidate (as written, canonical, and as its expressions) and keep the
    ones whose hash is on the list."""
    found = set()
    for url in _candidates():
        for form in {url, canonicalise(url), *expressions(url)}:
            if hash_of(form) in list_hashes:
                found.add(url)
    return found


def test_the_attack_reverses_a_plain_md5_list() -> None:
    listed = _listed()
    md5_list = {plain_md5(url) for url in listed}
    assert _attack(md5_list, plain_md5) == set(listed)


def test_the_attack_finds_nothing_in_the_keyed_feed_without_the_key() -> None:
    listed = _listed()
    key = licensee_key(MASTER, "isp-one")
    feed = PrefixFeed.build(key, 1, [parse_canonical(u).expression for u in listed])
    shipped = feed.to_dict()
    client = FeedClient(key, shipped, feed.full_hashes)
    prefixes = {p.hex() for p in client.prefixes}
    assert len(prefixes) == len(listed)

    def unkeyed(algorithm: str):
        return lambda text: hashlib.new(algorithm, text.encode()).hexdigest()[: 2 * PREFIX_BYTES]

    for algorithm in ("md5", "sha1", "sha256"):
        assert _attack(prefixes, unkeyed(algorithm)) == set()
    # another licensee's key (or a guessed one) does not help either
    other = licensee_key(MASTER, "isp-two")
    assert _attack(prefixes, lambda t: keyed_hash(other, t)[:PREFIX_BYTES].hex()) == set()
    # with its own key the licensee's client finds every listed URL and nothing else
    assert {u for u in _candidates() if client.is_listed(u)} == set(listed)


def test_keys_differ_per_licensee_and_prefixes_need_full_hashes() -> None:
    a, b = licensee_key(MASTER, "isp-one"), licensee_key(MASTER, "isp-two")
    assert a != b
    assert len(a) == 32
    feed = PrefixFeed.build(a, 7, ["h.test/x.jpg", "dedicated.test/"])
    assert feed.to_dict()["serial"] == 7
    assert feed.to_dict()["count"] == 2
    digest = keyed_hash(a, "dedicated.test/")
    assert feed.full_hashes(digest[:PREFIX_BYTES]) == [digest]
    assert feed.full_hashes(b"\x00\x00\x00\x00") == [] or digest[:4] == b"\x00" * 4
    client = FeedClient(a, feed.to_dict(), feed.full_hashes)
    # a whole-domain entry blocks every URL under the domain and its subdomains
    assert client.is_listed("http://www.dedicated.test/any/page.html?q=1")
    assert client.is_listed("http://h.test/x.jpg?utm=1")
    assert not client.is_listed("http://h.test/y.jpg")
