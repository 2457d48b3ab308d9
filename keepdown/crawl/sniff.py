"""Content-type sniffing: what a response really is, from its first bytes.

Servers lie, by accident or on purpose: a ``.jpg`` that is an HTML error page, an image served
as ``text/html`` to dodge filters. The crawler trusts magic bytes over the declared type
(:func:`effective_type`), and falls back to the declared type only when the bytes say nothing.
The HTML rule follows the WHATWG MIME sniffing pattern list (a tag opener after whitespace).
"""

from __future__ import annotations

__all__ = ["effective_type", "is_html", "is_image", "is_video", "is_zip", "sniff"]

_MAGIC: tuple[tuple[bytes, int, str], ...] = (
    (b"\xff\xd8\xff", 0, "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", 0, "image/png"),
    (b"GIF87a", 0, "image/gif"),
    (b"GIF89a", 0, "image/gif"),
    (b"BM", 0, "image/bmp"),
    (b"II*\x00", 0, "image/tiff"),
    (b"MM\x00*", 0, "image/tiff"),
    (b"\x1aE\xdf\xa3", 0, "video/webm"),
    (b"PK\x03\x04", 0, "application/zip"),
    (b"PK\x05\x06", 0, "application/zip"),
    (b"%PDF-", 0, "application/pdf"),
)
_HTML_OPENERS = (
    b"<!doctype html",
    b"<html",
    b"<head",
    b"<script",
    b"<iframe",
    b"<h1",
    b"<div",
    b"<font",
    b"<table",
    b"<a",
    b"<style",
    b"<title",
    b"<b",
    b"<body",
    b"<br",
    b"<p",
    b"<!--",
)


def sniff(prefix: bytes) -> str | None:
    """The MIME type the bytes announce, or None if they announce nothing we know."""
    for magic, offset, mime in _MAGIC:
        if prefix[offset : offset + len(magic)] == magic:
            return mime
    if prefix[:4] == b"RIFF" and prefix[8:12] == b"WEBP":
        return "image/webp"
    if prefix[4:8] == b"ftyp":
        brand = prefix[8:12]
        if brand in (b"avif", b"avis"):
            return "image/avif"
        if brand in (b"heic", b"heix", b"mif1", b"msf1"):
            return "image/heic"
        return "video/mp4"
    head = prefix[:512].lstrip(b"\xef\xbb\xbf \t\r\n\x0c").lower()
    for opener in _HTML_OPENERS:
        if head.startswith(opener) and head[len(opener) : len(opener) + 1] in (
            b" ",
            b">",
            b"\t",
            b"\n",
            b"\r",
            b"",
        ):
            return "text/html"
    return None


def _base(content_type: str) -> str:
    return content_type.split(";", 1)[0].strip().lower()


def effective_type(declared: str, prefix: bytes) -> str:
    """Sniffed type when the bytes are recognised, else the declared type's base."""
    return sniff(prefix) or _base(declared) or "application/octet-stream"


def is_html(mime: str) -> bool:
    return mime in ("text/html", "application/xhtml+xml")


def is_image(mime: str) -> bool:
    return mime.startswith("image/")


def is_video(mime: str) -> bool:
    return mime.startswith("video/")


def is_zip(mime: str) -> bool:
    return mime in ("application/zip", "application/x-zip-compressed")
