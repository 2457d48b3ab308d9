"""Where pages keep a picture's real address until a script swaps it in (lazy loading).

A page that lazy-loads its pictures puts a placeholder in ``src`` (a ``data:`` URL, a
spinner, a one-pixel GIF) and the real address in a ``data-*`` attribute that a script reads
when the picture scrolls into view. No script runs in the crawler, so it reads those
attributes itself. The tables below name the libraries and platforms each attribute comes
from; an attribute is only read where its library reads it (an element's own media, or a
background), so a ``data-src`` on a ``<script>`` is not taken for a picture.

Background attributes take three shapes: one URL (``data-bg="a.jpg"``), CSS
(``data-bg-multi="url(a.jpg), url(b.jpg)"``) and lazysizes' bgset
(``data-bgset="a-200.jpg 200w, a-400.jpg 400w [(max-width: 600px)] | b.jpg"``).
"""

from __future__ import annotations

import re

__all__ = ["BACKGROUND", "LAZY_SRC", "LAZY_SRCSET", "background_urls", "srcset_urls"]

#: One URL of the element's own media (``<img>``, ``<source>``, ``<video>``...).
LAZY_SRC = (
    "data-src",  # lazysizes, lozad, vanilla-lazyload, a3 Lazy Load, Squarespace, most themes
    "data-lazy-src",  # WP Rocket, Autoptimize, Jetpack (older)
    "data-original",  # jQuery Lazy Load (tuupola)
    "data-lazy",  # slick carousel
    "data-lazyload",  # Slider Revolution, several Bootstrap themes
    "data-echo",  # echo.js
    "data-image",  # Squarespace
    "data-flickity-lazyload",  # Flickity
    "data-orig-file",  # Jetpack / WordPress.com galleries: the full-size file
    "data-large-file",  # Jetpack / WordPress.com galleries
    "data-large_image",  # WooCommerce product galleries
    "data-zoom-image",  # elevateZoom and other zoom plugins
)

#: A srcset of the element's own media.
LAZY_SRCSET = (
    "data-srcset",  # lazysizes, lozad, vanilla-lazyload
    "data-lazy-srcset",  # WP Rocket, Autoptimize
    "data-original-set",  # jQuery Lazy Load (tuupola)
    "data-flickity-lazyload-srcset",  # Flickity
)

#: A background picture of any element.
BACKGROUND = (
    "data-bg",  # vanilla-lazyload, lazysizes unveilhooks
    "data-bg-hidpi",  # vanilla-lazyload
    "data-bg-multi",  # vanilla-lazyload (CSS)
    "data-bg-multi-hidpi",  # vanilla-lazyload (CSS)
    "data-background",  # many themes
    "data-background-image",  # lozad
    "data-bgset",  # lazysizes bgset plugin
    "background",  # the old HTML attribute of <body>, <table>, <td>
)

_CSS_URL = re.compile(r"""url\(\s*(['"]?)(.*?)\1\s*\)""", re.IGNORECASE)
_MEDIA_QUERY = re.compile(r"\[[^\]]*\]")


def srcset_urls(srcset: str) -> list[str]:
    """URLs of a srcset: comma-separated candidates, each "URL [descriptor]"."""
    urls = []
    for candidate in re.split(r",\s+|,(?=\S+\s+\d)", srcset.strip()):
        first = candidate.strip().split()
        if first:
            urls.append(first[0].rstrip(","))
    return urls


def css_urls(css: str) -> list[str]:
    """Every ``url(...)`` of a piece of CSS, quotes removed."""
    return [m.group(2) for m in _CSS_URL.finditer(css)]


def background_urls(value: str) -> list[str]:
    """The URLs of a background attribute in any of its three shapes (module docstring)."""
    if value.strip().lower().startswith("data:"):
        return []  # an inline placeholder, not an address (and its commas are not lists)
    if "url(" in value.lower():
        return css_urls(value)
    urls: list[str] = []
    for part in value.split("|"):
        plain = _MEDIA_QUERY.sub(" ", part)
        for candidate in re.split(r",\s*", plain.strip()):
            first = candidate.split()
            if first:
                urls.append(first[0])
    return urls
