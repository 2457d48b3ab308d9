"""Find the links to follow and the media to hash in an HTML page (selectolax / lexbor).

Media comes from every place a browser would show it: ``<img src/srcset>``, ``<picture>
<source srcset>``, ``<video src/poster>`` and its ``<source>``, ``<a href>`` pointing at an
image, video or ZIP file, ``og:image`` / ``twitter:image`` meta tags and CSS
``background-image`` in style attributes. Links are ``<a>``, ``<area>``, ``<frame>`` and
``<iframe>`` targets. Every URL is resolved against ``<base href>`` (or the page URL),
normalised, and listed once, in document order. ``data:`` and ``javascript:`` URLs are dropped.

:func:`decode_page` turns the page's bytes into the text that is parsed (and that page
observers read): the charset the server declared if Python knows it, else UTF-8, bad bytes
replaced either way.
"""

from __future__ import annotations

import codecs
import contextlib
import re
from dataclasses import dataclass

from selectolax.lexbor import LexborHTMLParser

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
_CSS_URL = re.compile(r"""url\(\s*(['"]?)(.*?)\1\s*\)""", re.IGNORECASE)
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


def _srcset_urls(srcset: str) -> list[str]:
    """URLs of a srcset: comma-separated candidates, each "URL [descriptor]"."""
    urls = []
    for candidate in re.split(r",\s+|,(?=\S+\s+\d)", srcset.strip()):
        first = candidate.strip().split()
        if first:
            urls.append(first[0].rstrip(","))
    return urls


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


def _collect_media(tree: LexborHTMLParser, out: _Collector) -> None:
    for node in tree.css("img"):
        out.add_media(node.attributes.get("src"), "image", "img[src]")
        for url in _srcset_urls(node.attributes.get("srcset") or ""):
            out.add_media(url, "image", "img[srcset]")
    for node in tree.css("picture source"):
        for url in _srcset_urls(node.attributes.get("srcset") or ""):
            out.add_media(url, "image", "picture source[srcset]")
    for node in tree.css("video"):
        out.add_media(node.attributes.get("src"), "video", "video[src]")
        out.add_media(node.attributes.get("poster"), "image", "video[poster]")
    for node in tree.css("video source"):
        out.add_media(node.attributes.get("src"), "video", "video source[src]")
    for node in tree.css("meta"):
        key = (node.attributes.get("property") or node.attributes.get("name") or "").lower()
        if key in _META_IMAGE:
            out.add_media(node.attributes.get("content"), "image", f"meta[{key}]")
    for node in tree.css("[style]"):
        for match in _CSS_URL.finditer(node.attributes.get("style") or ""):
            out.add_media(match.group(2), "image", "style background-image")


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
    ):
        for node in tree.css(selector):
            out.add_link(node.attributes.get(attribute))
    return Extracted(links=tuple(out.links), media=tuple(out.media.values()))
