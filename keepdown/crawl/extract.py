"""Find the links to follow and the media to hash in an HTML page (selectolax / lexbor).

Media comes from every place a browser would show it: ``<img src/srcset>``, ``<picture>
<source srcset>``, ``<video src/poster>`` and its ``<source>``, ``<a href>`` pointing at an
image, video or ZIP file, ``og:image`` / ``twitter:image`` / ``itemprop=image`` meta tags,
``<link rel=image_src|preload as=image>``, SVG ``<image href>``, ``<input type=image>``,
``<object data>`` / ``<embed src>`` of a media file, and CSS ``url(...)`` in style attributes
and ``<style>`` blocks. ``<noscript>`` fallbacks are parsed as markup (no script runs here).

**Lazy loading** (:mod:`keepdown.crawl.lazy`): pages that load their pictures from script
keep the real address in ``data-*`` attributes and put a placeholder (a ``data:`` URL, a
spinner) in ``src``. A crawler reads what the script would have read.

Links are ``<a>``, ``<area>``, ``<frame>`` and ``<iframe>`` targets (``data-src`` too).
Every URL is resolved against ``<base href>`` (or the page URL), normalised, and listed once,
in document order. ``data:`` and ``javascript:`` URLs are dropped.

:func:`decode_page` turns the page's bytes into the text that is parsed (and that page
observers read): the charset the server declared if Python knows it, else UTF-8, bad bytes
replaced either way.
"""

from __future__ import annotations

import codecs
import contextlib
import re
from collections.abc import Mapping
from dataclasses import dataclass

from selectolax.lexbor import LexborHTMLParser

from keepdown.crawl.lazy import (
    BACKGROUND,
    LAZY_SRC,
    LAZY_SRCSET,
    background_urls,
    css_urls,
    srcset_urls,
)
from keepdown.crawl.urls import normalize_url
from keepdown.errors import InvalidInput

__all__ = ["Extracted", "MediaRef", "decode_page", "extract"]

IMAGE_EXTENSIONS = (
    ".jpg",
    ".jpeg",
    ".jpe",
    ".png",
    ".gif",
    ".webp",
    ".bmp",
    ".tif",
    ".tiff",
    ".avif",
    ".heic",
)
VIDEO_EXTENSIONS = (".mp4", ".m4v", ".webm", ".mov", ".mkv", ".avi")
ARCHIVE_EXTENSIONS = (".zip",)
_CHARSET = re.compile(r"""charset\s*=\s*["']?([A-Za-z0-9._:-]{1,40})""", re.IGNORECASE)
_OWN_MEDIA_TAGS = frozenset({"img", "source", "video", "audio", "iframe", "script"})
_BACKGROUND_SELECTOR = ", ".join(f"[{name}]" for name in BACKGROUND)
_LAZY_SELECTOR = ", ".join(f"[{name}]" for name in LAZY_SRC)
_META_IMAGE = (
    "og:image",
    "og:image:url",
    "og:image:secure_url",
    "twitter:image",
    "twitter:image:src",
)


@dataclass(frozen=True)
class MediaRef:
    """A media URL found on a page: ``kind`` is image, video or archive; ``via`` the source."""

    url: str
    kind: str
    via: str


@dataclass(frozen=True)
class Extracted:
    links: tuple[str, ...]
    media: tuple[MediaRef, ...]


def _kind_by_extension(url: str) -> str | None:
    path = url.split("?", 1)[0].split("#", 1)[0].lower()
    if path.endswith(IMAGE_EXTENSIONS):
        return "image"
    if path.endswith(VIDEO_EXTENSIONS):
        return "video"
    if path.endswith(ARCHIVE_EXTENSIONS):
        return "archive"
    return None


class _Collector:
    def __init__(self, base: str) -> None:
        self.base = base
        self.links: dict[str, None] = {}
        self.media: dict[str, MediaRef] = {}

    def _resolve(self, raw: str | None) -> str | None:
        if not raw:
            return None
        raw = raw.strip()
        if raw.lower().startswith(("data:", "javascript:", "mailto:", "tel:", "#")):
            return None
        try:
            return normalize_url(raw, base=self.base)
        except InvalidInput:
            return None

    def add_media(self, raw: str | None, kind: str, via: str) -> None:
        url = self._resolve(raw)
        if url is not None and url not in self.media:
            self.media[url] = MediaRef(url, kind, via)

    def add_if_media(self, raw: str | None, via: str) -> None:
        """Media only if its address says so (an ``<object data>``, a ``<style>`` url)."""
        url = self._resolve(raw)
        kind = _kind_by_extension(url) if url is not None else None
        if kind is not None:
            self.add_media(url, kind, via)

    def add_link(self, raw: str | None) -> None:
        url = self._resolve(raw)
        if url is None:
            return
        kind = _kind_by_extension(url)
        if kind is not None:
            self.add_media(url, kind, "a[href]")
        else:
            self.links.setdefault(url, None)


def _base_url(tree: LexborHTMLParser, page_url: str) -> str:
    base = tree.css_first("base[href]")
    href = base.attributes.get("href") if base is not None else None
    if href:
        try:
            return normalize_url(href, base=page_url)
        except InvalidInput:
            pass
    return page_url


def _own_media(attrs: Mapping[str, str | None], kind: str, tag: str, out: _Collector) -> None:
    """An element's own media: ``src``, ``srcset`` and their lazy-loading twins."""
    for name in ("src", *LAZY_SRC):
        out.add_media(attrs.get(name), kind, f"{tag}[{name}]")
    for name in ("srcset", *LAZY_SRCSET):
        for url in srcset_urls(attrs.get(name) or ""):
            out.add_media(url, kind, f"{tag}[{name}]")


def _collect_elements(tree: LexborHTMLParser, out: _Collector) -> None:
    for node in tree.css("img"):
        _own_media(node.attributes, "image", "img", out)
    for node in tree.css("picture source"):
        _own_media(node.attributes, "image", "picture source", out)
    for node in tree.css("video, audio"):
        out.add_media(node.attributes.get("src"), "video", f"{node.tag}[src]")
        out.add_media(node.attributes.get("data-src"), "video", f"{node.tag}[data-src]")
        for name in ("poster", "data-poster"):
            out.add_media(node.attributes.get(name), "image", f"{node.tag}[{name}]")
    for node in tree.css("video source, audio source"):
        for name in ("src", "data-src"):
            out.add_media(node.attributes.get(name), "video", f"video source[{name}]")
    for node in tree.css("input"):
        if (node.attributes.get("type") or "").lower() == "image":
            out.add_media(node.attributes.get("src"), "image", "input[type=image]")
    for node in tree.css("image"):  # SVG
        for name in ("href", "xlink:href"):
            out.add_media(node.attributes.get(name), "image", f"svg image[{name}]")
    for node in tree.css("object[data], embed[src]"):
        name = "data" if node.tag == "object" else "src"
        out.add_if_media(node.attributes.get(name), f"{node.tag}[{name}]")


def _collect_metadata(tree: LexborHTMLParser, out: _Collector) -> None:
    for node in tree.css("meta"):
        attrs = node.attributes
        key = (attrs.get("property") or attrs.get("name") or "").lower()
        if key in _META_IMAGE:
            out.add_media(attrs.get("content"), "image", f"meta[{key}]")
        elif (attrs.get("itemprop") or "").lower() == "image":
            out.add_media(attrs.get("content"), "image", "meta[itemprop=image]")
    for node in tree.css("link[href]"):
        attrs = node.attributes
        rel = (attrs.get("rel") or "").lower().split()
        if "image_src" in rel:
            out.add_media(attrs.get("href"), "image", "link[rel=image_src]")
        elif "preload" in rel and (attrs.get("as") or "").lower() == "image":
            out.add_media(attrs.get("href"), "image", "link[rel=preload]")
            for url in srcset_urls(attrs.get("imagesrcset") or ""):
                out.add_media(url, "image", "link[rel=preload]")


def _collect_backgrounds(tree: LexborHTMLParser, out: _Collector) -> None:
    for node in tree.css("[style]"):
        for url in css_urls(node.attributes.get("style") or ""):
            out.add_media(url, "image", "style background-image")
    for node in tree.css("style"):
        for url in css_urls(node.text(deep=True)):
            out.add_if_media(url, "style element")
    for node in tree.css(_BACKGROUND_SELECTOR):
        for name in BACKGROUND:
            for url in background_urls(node.attributes.get(name) or ""):
                out.add_media(url, "image", f"[{name}]")
    for node in tree.css(_LAZY_SELECTOR):
        if node.tag not in _OWN_MEDIA_TAGS:  # a <div data-src="a.jpg">: by its address
            for name in LAZY_SRC:
                out.add_if_media(node.attributes.get(name), f"[{name}]")


def _collect_noscript(tree: LexborHTMLParser, out: _Collector) -> None:
    """A ``<noscript>`` kept as text by the parser (it is markup here: no script runs)."""
    for node in tree.css("noscript"):
        text = node.text(deep=False)
        if "<" in text:
            inner = LexborHTMLParser(text)
            for collect in (_collect_elements, _collect_backgrounds):
                collect(inner, out)


def _collect_media(tree: LexborHTMLParser, out: _Collector) -> None:
    _collect_elements(tree, out)
    _collect_metadata(tree, out)
    _collect_backgrounds(tree, out)
    _collect_noscript(tree, out)


def decode_page(body: bytes, declared_type: str = "") -> str:
    """The text of a page: its declared charset if known, else UTF-8 (module docstring)."""
    found = _CHARSET.search(declared_type or "")
    encoding = "utf-8"
    if found:
        with contextlib.suppress(LookupError):
            encoding = codecs.lookup(found.group(1)).name
    try:
        return body.decode(encoding, "replace")
    except LookupError:  # a codec that is not a text encoding (base64, rot13...)
        return body.decode("utf-8", "replace")


def extract(html: bytes | str, page_url: str) -> Extracted:
    """Links and media of a page (see the module docstring)."""
    tree = LexborHTMLParser(html if isinstance(html, str) else html.decode("utf-8", "replace"))
    out = _Collector(_base_url(tree, page_url))
    _collect_media(tree, out)
    for selector, attribute in (
        ("a", "href"),
        ("area", "href"),
        ("frame", "src"),
        ("iframe", "src"),
        ("iframe", "data-src"),  # lazy-loaded frames
    ):
        for node in tree.css(selector):
            out.add_link(node.attributes.get(attribute))
    return Extracted(links=tuple(out.links), media=tuple(out.media.values()))
