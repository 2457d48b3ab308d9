"""URL normalisation and scope, content sniffing, link and media extraction."""

from __future__ import annotations

import pytest

from keepdown.crawl.extract import extract
from keepdown.crawl.sniff import effective_type, sniff
from keepdown.crawl.urls import CrawlScope, host_of, normalize_url, origin_of
from keepdown.errors import InvalidInput


@pytest.mark.parametrize(
    ("raw", "normal"),
    [
        ("HTTP://Example.ORG:80/a/./b/../c?x=1#frag", "http://example.org/a/c?x=1"),
        ("https://example.org:443", "https://example.org/"),
        (
            "https://example.org:8443/%7euser/%e2%82%ac",
            "https://example.org:8443/%7Euser/%E2%82%AC",
        ),
        ("http://bücher.example/", "http://xn--bcher-kva.example/"),
        ("http://user:pw@example.org/x", "http://example.org/x"),
        ("http://[::1]:8080/x", "http://[::1]:8080/x"),
        ("http://example.org/a b", "http://example.org/a%20b"),
        ("http://example.org/../../x", "http://example.org/x"),
    ],
)
def test_normalize_url(raw, normal):
    assert normalize_url(raw) == normal


def test_relative_urls_resolve_against_a_base():
    assert (
        normalize_url("../img/a.jpg", base="http://x.org/p/q/r.html") == "http://x.org/p/img/a.jpg"
    )
    assert normalize_url("//cdn.x.org/a.jpg", base="https://x.org/") == "https://cdn.x.org/a.jpg"


@pytest.mark.parametrize(
    "bad",
    [
        "ftp://x.org/",
        "javascript:alert(1)",
        "http://",
        "http://x:99999/",
        "file:///etc/passwd",
        "mailto:a@b.c",
    ],
)
def test_unusable_urls_are_invalid_input(bad):
    with pytest.raises(InvalidInput):
        normalize_url(bad)


def test_host_and_origin():
    assert host_of("http://[::1]:8080/x") == "[::1]"
    assert host_of("https://Example.org:8443/x") == "example.org"
    assert origin_of("https://example.org:8443/x?y") == "https://example.org:8443"


def test_scope_same_site_depth_and_patterns():
    scope = CrawlScope(
        seeds=("http://www.example.org/start",),
        max_depth=2,
        exclude=(r"/logout",),
        include=(r"example\.org",),
    )
    assert scope.follows("http://example.org/a", 1)
    assert scope.follows("http://img.example.org/a", 2)
    assert not scope.follows("http://example.org/a", 3)
    assert not scope.follows("http://example.com/a", 1)
    assert not scope.follows("http://notexample.org/a", 1)
    assert not scope.follows("http://example.org/logout", 1)
    assert CrawlScope(seeds=("http://x.org/",), same_site=False).follows("http://y.org/", 1)


def test_a_bad_pattern_is_invalid_input():
    with pytest.raises(InvalidInput, match="exclude pattern"):
        CrawlScope(seeds=("http://x.org/",), exclude=("(",))


@pytest.mark.parametrize(
    ("prefix", "mime"),
    [
        (b"\xff\xd8\xff\xe0rest", "image/jpeg"),
        (b"\x89PNG\r\n\x1a\nrest", "image/png"),
        (b"GIF89a...", "image/gif"),
        (b"RIFF\x00\x00\x00\x00WEBPVP8 ", "image/webp"),
        (b"\x00\x00\x00\x18ftypmp42", "video/mp4"),
        (b"\x00\x00\x00\x18ftypavif", "image/avif"),
        (b"PK\x03\x04", "application/zip"),
        (b"\xef\xbb\xbf  <!DOCTYPE html><html>", "text/html"),
        (b"\n<HTML>", "text/html"),
        (b"<p>hello", "text/html"),
        (b"<pre>", None),
        (b"plain text", None),
    ],
)
def test_sniff(prefix, mime):
    assert sniff(prefix) == mime


def test_effective_type_prefers_magic_bytes():
    assert effective_type("image/jpeg", b"<!doctype html><p>") == "text/html"
    assert effective_type("text/html; charset=utf-8", b"\xff\xd8\xff") == "image/jpeg"
    assert effective_type("Text/Plain; charset=x", b"hello") == "text/plain"
    assert effective_type("", b"hello") == "application/octet-stream"


PAGE = """<html><head><base href="/sub/">
<meta property="og:image" content="og.jpg"><meta name="twitter:image" content="/tw.png">
</head><body>
<img src="a.jpg" srcset="a-1x.jpg 1x, a-2x.jpg 2x"><img src="a.jpg">
<picture><source srcset="p.webp 100w,p2.webp 200w"><img src="p.jpg"></picture>
<video src="v.mp4" poster="post.png"><source src="v2.webm"></video>
<a href="x.html#f">x</a><a href="x.html">again</a><a href="big.JPG?s=1">i</a>
<div style="color: red; background-image: url('bg.png')"></div>
<span style='background: url(bg2.gif) no-repeat'></span>
<a href="pack.zip">z</a><a href="javascript:alert(1)">j</a><a href="mailto:x@y">m</a>
<img src="data:image/png;base64,xx"><iframe src="https://other.org/frame"></iframe>
<a href="http://[bad">bad</a>
</body></html>"""


def test_extract_finds_every_kind_of_media_and_link_once():
    found = extract(PAGE.encode(), "http://Example.org/a/b.html")
    base = "http://example.org/sub/"
    assert found.links == (base + "x.html", "https://other.org/frame")
    media = {(m.url.removeprefix(base), m.kind, m.via) for m in found.media}
    assert media == {
        ("og.jpg", "image", "meta[og:image]"),
        ("http://example.org/tw.png", "image", "meta[twitter:image]"),
        ("a.jpg", "image", "img[src]"),
        ("a-1x.jpg", "image", "img[srcset]"),
        ("a-2x.jpg", "image", "img[srcset]"),
        ("p.webp", "image", "picture source[srcset]"),
        ("p2.webp", "image", "picture source[srcset]"),
        ("p.jpg", "image", "img[src]"),
        ("v.mp4", "video", "video[src]"),
        ("post.png", "image", "video[poster]"),
        ("v2.webm", "video", "video source[src]"),
        ("big.JPG?s=1", "image", "a[href]"),
        ("bg.png", "image", "style background-image"),
        ("bg2.gif", "image", "style background-image"),
        ("pack.zip", "archive", "a[href]"),
    }
    assert len(found.media) == len(media)  # listed once each


def test_extract_survives_garbage():
    found = extract(b"\x00\xff<<<a href=>><img src", "http://x.org/")
    assert found.links == ()
    assert found.media == ()
