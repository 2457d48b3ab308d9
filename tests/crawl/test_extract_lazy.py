"""Lazy-loaded and otherwise tucked-away media: each convention found, placeholders not."""

from __future__ import annotations

import pytest

from keepdown.crawl.extract import extract
from keepdown.crawl.lazy import background_urls

BASE = "http://example.org/p/page.html"
PLACEHOLDER = 'src="data:image/gif;base64,R0lGODlhAQABAAAAACw="'


def _media(html: str) -> set[tuple[str, str, str]]:
    return {
        (m.url.removeprefix("http://example.org"), m.kind, m.via) for m in extract(html, BASE).media
    }


def test_the_issue_example_data_src_behind_a_data_placeholder():
    html = f'<img data-src="/img/a.jpg" {PLACEHOLDER}>'
    assert _media(html) == {("/img/a.jpg", "image", "img[data-src]")}


@pytest.mark.parametrize(
    "attribute",
    [
        "data-src",
        "data-lazy-src",
        "data-original",
        "data-lazy",
        "data-lazyload",
        "data-echo",
        "data-image",
        "data-flickity-lazyload",
        "data-orig-file",
        "data-large-file",
        "data-large_image",
        "data-zoom-image",
    ],
)
def test_each_lazy_src_attribute_of_an_img(attribute):
    html = f'<img {PLACEHOLDER} {attribute}="/lazy/a">'  # no extension: an <img> is an image
    assert _media(html) == {("/lazy/a", "image", f"img[{attribute}]")}


@pytest.mark.parametrize(
    "attribute",
    ["data-srcset", "data-lazy-srcset", "data-original-set", "data-flickity-lazyload-srcset"],
)
def test_each_lazy_srcset_attribute(attribute):
    html = f'<img {PLACEHOLDER} {attribute}="/s-1x.jpg 1x, /s-2x.jpg 2x">'
    assert _media(html) == {
        ("/s-1x.jpg", "image", f"img[{attribute}]"),
        ("/s-2x.jpg", "image", f"img[{attribute}]"),
    }


def test_picture_sources_and_video_lazily_loaded():
    html = """<picture><source data-srcset="/p.webp 1x, /p2.webp 2x"><img data-src="/p.jpg">
    </picture><video data-src="/v.mp4" data-poster="/poster.png"><source data-src="/v2.webm">
    </video>"""
    assert _media(html) == {
        ("/p.webp", "image", "picture source[data-srcset]"),
        ("/p2.webp", "image", "picture source[data-srcset]"),
        ("/p.jpg", "image", "img[data-src]"),
        ("/v.mp4", "video", "video[data-src]"),
        ("/poster.png", "image", "video[data-poster]"),
        ("/v2.webm", "video", "video source[data-src]"),
    }


@pytest.mark.parametrize(
    ("attribute", "value", "urls"),
    [
        ("data-bg", "/bg.jpg", ["/bg.jpg"]),
        ("data-bg-hidpi", "/bg@2x.jpg", ["/bg@2x.jpg"]),
        ("data-bg-multi", "url(/a.jpg), url('/b.png')", ["/a.jpg", "/b.png"]),
        ("data-bg-multi-hidpi", 'url("/a@2x.jpg")', ["/a@2x.jpg"]),
        ("data-background", "/theme.jpg", ["/theme.jpg"]),
        ("data-background-image", "/l1.jpg,/l2.jpg", ["/l1.jpg", "/l2.jpg"]),
        (
            "data-bgset",
            "/w200.jpg 200w, /w400.jpg 400w [(max-width: 600px)] | /wide.jpg",
            ["/w200.jpg", "/w400.jpg", "/wide.jpg"],
        ),
        ("background", "/old-school.gif", ["/old-school.gif"]),
    ],
)
def test_each_background_convention(attribute, value, urls):
    quote = "'" if '"' in value else '"'
    html = f'<div class="lazyload" {attribute}={quote}{value}{quote}></div>'
    assert _media(html) == {(u, "image", f"[{attribute}]") for u in urls}


def test_lazy_src_on_another_element_counts_only_when_its_address_is_media():
    html = """<div data-src="/gallery/big.jpg"></div><div data-src="/widget/config.json"></div>
    <script data-src="/tracker.js"></script><a data-zoom-image="/zoom.png" href="/item">i</a>"""
    assert _media(html) == {
        ("/gallery/big.jpg", "image", "[data-src]"),
        ("/zoom.png", "image", "[data-zoom-image]"),
    }


def test_noscript_fallbacks_in_body_and_head():
    html = f"""<html><head><noscript><img src="/head-fallback.jpg"></noscript></head><body>
    <img {PLACEHOLDER} class="lazy"><noscript><img src="/fallback.jpg"></noscript></body></html>"""
    assert _media(html) == {
        ("/head-fallback.jpg", "image", "img[src]"),
        ("/fallback.jpg", "image", "img[src]"),
    }


def test_noscript_kept_as_text_is_parsed_too():
    # A parser with scripting on keeps <noscript> as text; ours does not, but a page may
    # escape it: both are read.
    html = "<body><p>x</p><noscript>&lt;img src=&quot;/escaped.jpg&quot;&gt;</noscript>"
    assert _media(html) == {("/escaped.jpg", "image", "img[src]")}


def test_other_places_pictures_hide():
    html = """<head><link rel="image_src" href="/share.jpg">
    <link rel="preload" as="image" href="/hero.jpg" imagesrcset="/hero-2x.jpg 2x">
    <link rel="preload" as="font" href="/font.woff2"><meta itemprop="image" content="/item.jpg">
    <style>.hero { background: url(/css-bg.jpg) } @font-face { src: url(/f.woff2) }</style>
    </head><body><svg><image href="/svg.png"/><image xlink:href="/svg2.png"/></svg>
    <input type="image" src="/button.png"><input type="text" src="/not.png">
    <object data="/movie.mp4"></object><object data="/plugin.swf"></object>
    <embed src="/embedded.gif"><iframe data-src="/frame.html"></iframe></body>"""
    found = extract(html, BASE)
    assert {(m.url.removeprefix("http://example.org"), m.kind, m.via) for m in found.media} == {
        ("/share.jpg", "image", "link[rel=image_src]"),
        ("/hero.jpg", "image", "link[rel=preload]"),
        ("/hero-2x.jpg", "image", "link[rel=preload]"),
        ("/item.jpg", "image", "meta[itemprop=image]"),
        ("/css-bg.jpg", "image", "style element"),
        ("/svg.png", "image", "svg image[href]"),
        ("/svg2.png", "image", "svg image[xlink:href]"),
        ("/button.png", "image", "input[type=image]"),
        ("/movie.mp4", "video", "object[data]"),
        ("/embedded.gif", "image", "embed[src]"),
    }
    assert found.links == ("http://example.org/frame.html",)


def test_placeholders_and_duplicates_are_not_media():
    html = f"""<img {PLACEHOLDER} data-src="/a.jpg" data-srcset="/a.jpg 1x">
    <img src="/a.jpg"><div data-bg="data:image/png;base64,AAAA"></div>"""
    found = extract(html, BASE)
    assert [m.url for m in found.media] == ["http://example.org/a.jpg"]


def test_background_urls_shapes():
    assert background_urls("  ") == []
    assert background_urls("url( 'a b.jpg' )") == ["a b.jpg"]
    assert background_urls("a.jpg [--small] | b.jpg") == ["a.jpg", "b.jpg"]
