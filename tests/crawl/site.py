"""The loopback test site: a generated website served by a real HTTP server on 127.0.0.1.

Everything is deterministic from a seed and benign: pictures come from
``keepdown.testing.synthetic_jpeg``. A few of them are "known" stand-ins (a test puts their
hashes in a set acting as the bank); some pages show them as they are, re-encoded, resized or
mirrored, through every kind of page element. :attr:`TestSite.planted` lists exactly where a
crawler must find them. Around them: hundreds of ordinary pages, broken links, redirect chains
and loops, redirects to refused addresses, a slow page, an endless "image", an image that
declares 10 GB, a PNG decompression bomb, HTML served as image/jpeg, an image served as
text/html, a robots.txt forbidding /private/, a ZIP of images and a zip bomb.

Every request is logged (:attr:`TestSite.requests`) so tests can prove what was never fetched.
"""

from __future__ import annotations

import gzip
import io
import random
import struct
import threading
import time
import zipfile
import zlib
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
from PIL import Image, ImageOps

from keepdown.testing import synthetic_image_array, synthetic_jpeg

SIZE = (192, 144)  # benign pictures: small keeps the site and its hashing fast
KNOWN_SIZE = (640, 480)  # known stand-ins: big enough that edited copies stay within PDQ 31
KNOWN_SEEDS = (9021, 9038, 9013, 9026)  # every variant: PDQ quality >= 62, distance <= 14


@dataclass(frozen=True)
class Planted:
    """A known stand-in the crawler must find: on ``page`` (path), at ``media`` (path)."""

    page: str
    media: str
    known: int
    variant: str
    member: str = ""


@dataclass
class Route:
    body: bytes
    content_type: str
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)


def _jpeg_of(array, quality: int = 90) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(array).save(buf, "JPEG", quality=quality)
    return buf.getvalue()


def known_variants(known: int) -> dict[str, bytes]:
    """The original and edited copies of known stand-in number ``known``."""
    array = synthetic_image_array(KNOWN_SEEDS[known], *KNOWN_SIZE)
    image = Image.fromarray(array)
    half = image.resize((KNOWN_SIZE[0] // 2, KNOWN_SIZE[1] // 2), Image.Resampling.LANCZOS)
    return {
        "original": _jpeg_of(array),
        "reencoded": _jpeg_of(array, quality=60),
        "resized": _jpeg_of(np.asarray(half)),
        "mirrored": _jpeg_of(np.asarray(ImageOps.mirror(image))),
    }


def png_bomb(width: int = 100_000, height: int = 100_000) -> bytes:
    """A tiny PNG whose header declares ``width`` x ``height`` pixels."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 1024))
        + chunk(b"IEND", b"")
    )


def _zip(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buf.getvalue()


def _page(title: str, body: str) -> Route:
    html = f"<!doctype html><html><head><title>{title}</title></head><body>{body}</body></html>"
    return Route(html.encode(), "text/html; charset=utf-8")


class TestSite:
    """The generated site; :meth:`start` serves it on 127.0.0.1 (a free port) in a thread."""

    __test__ = False  # not a pytest test class

    def __init__(self, seed: int = 7, n_pages: int = 300, n_benign: int = 12) -> None:
        self.rng = random.Random(seed)
        self.n_pages = n_pages
        self.routes: dict[str, Route] = {}
        self.planted: list[Planted] = []
        self.refused_plants: list[Planted] = []  # known media the crawler must NOT reach
        self.requests: list[tuple[str, str]] = []
        self.counts: Counter[str] = Counter()
        self.user_agents: set[str] = set()
        self._lock = threading.Lock()
        self.benign = {f"/img/b{i}.jpg": synthetic_jpeg(100 + i, *SIZE) for i in range(n_benign)}
        self.known = [known_variants(k) for k in range(len(KNOWN_SEEDS))]
        self.host = "127.0.0.1"
        self.port = 0
        self._server: ThreadingHTTPServer | None = None
        self._build()

    # --- content ------------------------------------------------------------------------

    def page_path(self, i: int) -> str:
        return "/index.html" if i == 0 else f"/p/{i}.html"

    def _build(self) -> None:
        bodies = {i: self._ordinary_body(i) for i in range(self.n_pages)}
        for path, data in self.benign.items():
            self.routes[path] = Route(data, "image/jpeg")
        for k, variants in enumerate(self.known):
            for variant, data in variants.items():
                self.routes[f"/img/k{k}-{variant}.jpg"] = Route(data, "image/jpeg")
        self._plant(bodies)
        bodies[0] += self._specials_html()
        for i, body in bodies.items():
            self.routes[self.page_path(i)] = _page(f"page {i}", body)
        self.routes["/robots.txt"] = Route(b"User-agent: *\nDisallow: /private/\n", "text/plain")
        self._build_specials()

    def _ordinary_body(self, i: int) -> str:
        parts = [f"<h1>Page {i}</h1>"]
        for child in (2 * i + 1, 2 * i + 2):  # a tree: every page reachable, depth ~ log2(n)
            if child < self.n_pages:
                parts.append(f'<a href="{self.page_path(child)}">child {child}</a>')
        parts.append(f'<a href="{self.page_path(self.rng.randrange(self.n_pages))}#top">more</a>')
        if self.rng.random() < 0.1:
            parts.append(f'<a href="/missing/{i}.html">broken</a>')
        if self.rng.random() < 0.3:
            parts.append(f'<img src="{self.rng.choice(sorted(self.benign))}" alt="">')
        return "\n".join(parts)

    def _plant(self, bodies: dict[int, str]) -> None:
        """Put known stand-ins on pages chosen from the seed, each through a different element."""
        slots = self.rng.sample(range(1, self.n_pages), 9)
        placements = [
            (0, "original", '<img src="{m}">'),
            (0, "reencoded", '<img src="/img/b0.jpg" srcset="/img/b1.jpg 1x, {m} 2x">'),
            (1, "resized", '<picture><source srcset="{m} 100w"><img src="/img/b2.jpg"></picture>'),
            (1, "mirrored", '<video src="/media/clip.mp4" poster="{m}"></video>'),
            (2, "original", '<meta property="og:image" content="{m}">'),
            (2, "mirrored", "<div style=\"background-image: url('{m}')\">x</div>"),
            (3, "original", '<a href="{m}">download</a>'),
        ]
        for slot, (known, variant, template) in zip(slots, placements, strict=False):
            media = f"/img/k{known}-{variant}.jpg"
            bodies[slot] += template.format(m=media)
            self.planted.append(Planted(self.page_path(slot), media, known, variant))
        # An image served as text/html, linked as if it were a page.
        bodies[slots[7]] += '<a href="/view/k3.html">view</a>'
        self.routes["/view/k3.html"] = Route(self.known[3]["reencoded"], "text/html")
        self.planted.append(Planted(self.page_path(slots[7]), "/view/k3.html", 3, "reencoded"))
        # A ZIP of pictures with a known one inside.
        bodies[slots[8]] += '<a href="/files/pack.zip">pack</a> <a href="/files/bomb.zip">b</a>'
        self.planted.append(
            Planted(
                self.page_path(slots[8]),
                "/files/pack.zip",
                0,
                "resized",
                member="photos/k0-small.jpg",
            )
        )
        # Behind robots.txt: must never be fetched.
        bodies[slots[0]] += '<a href="/private/secret.html">private</a>'
        self.routes["/private/secret.html"] = _page("private", '<img src="/img/k1-original.jpg">')
        self.refused_plants.append(
            Planted("/private/secret.html", "/img/k1-original.jpg", 1, "original")
        )

    def _specials_html(self) -> str:
        links = [
            "/redirect/page/1",
            "/loop/1",
            "/go/private",
            "/go/loopback2",
            "/go/ipv6",
            "/slow.html",
            "/flaky.html",
            "/missing/root.html",
        ]
        media = [
            "/img/endless.jpg",
            "/img/huge.jpg",
            "/img/bomb.png",
            "/img/fake.jpg",
            "/redirect/img/1",
        ]
        out = [f'<a href="{u}">{u}</a>' for u in links]
        out += [f'<img src="{u}">' for u in media]
        out.append('<a href="http://other.test:{port}/elsewhere.html">elsewhere</a>')
        return "\n".join(out)

    def _build_specials(self) -> None:
        r = self.routes
        r["/redirect/page/1"] = Route(b"", "text/plain", 301, {"Location": "/redirect/page/2"})
        r["/redirect/page/2"] = Route(b"", "text/plain", 302, {"Location": "/landing.html"})
        r["/landing.html"] = _page("landing", '<img src="/img/k2-reencoded.jpg">')
        self.planted.append(Planted("/landing.html", "/img/k2-reencoded.jpg", 2, "reencoded"))
        r["/redirect/img/1"] = Route(b"", "text/plain", 307, {"Location": "/redirect/img/2"})
        r["/redirect/img/2"] = Route(b"", "text/plain", 308, {"Location": "/img/k3-mirrored.jpg"})
        self.planted.append(Planted("/index.html", "/redirect/img/1", 3, "mirrored"))
        for i in range(1, 30):
            r[f"/loop/{i}"] = Route(b"", "text/plain", 302, {"Location": f"/loop/{i + 1}"})
        r["/go/private"] = Route(b"", "text/plain", 302, {"Location": "http://10.0.0.1/x.jpg"})
        r["/go/ipv6"] = Route(b"", "text/plain", 302, {"Location": "http://[::1]:{port}/p/1.html"})
        r["/go/loopback2"] = Route(
            b"", "text/plain", 302, {"Location": "http://127.0.0.2:{port}/p/1.html"}
        )
        r["/gzip-bomb.html"] = Route(
            gzip.compress(b"<!doctype html>" + bytes(20_000_000), compresslevel=1),
            "text/html",
            headers={"Content-Encoding": "gzip"},
        )
        r["/busy.html"] = Route(b"later", "text/plain", 429, {"Retry-After": "3600"})
        r["/down.html"] = Route(b"down", "text/plain", 503)
        r["/img/bomb.png"] = Route(png_bomb(), "image/png")
        r["/img/fake.jpg"] = Route(
            b"<!DOCTYPE html><html><body>not a picture</body></html>", "image/jpeg"
        )
        r["/files/pack.zip"] = Route(
            _zip(
                {
                    "photos/b3.jpg": self.benign["/img/b3.jpg"],
                    "photos/k0-small.jpg": self.known[0]["resized"],
                    "notes.txt": b"just text",
                }
            ),
            "application/zip",
        )
        r["/files/bomb.zip"] = Route(
            _zip({"zeros.jpg": b"\xff\xd8\xff" + bytes(20_000_000)}), "application/zip"
        )
        r["/media/clip.mp4"] = Route(b"\x00\x00\x00\x18ftypmp42" + bytes(64), "video/mp4")

    # --- serving ------------------------------------------------------------------------

    @property
    def base(self) -> str:
        return f"http://{self.host}:{self.port}"

    def url(self, path: str, host: str | None = None) -> str:
        return f"http://{host or self.host}:{self.port}{path}"

    def reset_log(self) -> None:
        with self._lock:
            self.requests.clear()
            self.counts.clear()

    def log(self, host: str, path: str) -> None:
        with self._lock:
            self.requests.append((host, path))
            self.counts[path] += 1

    def start(self) -> TestSite:
        self._server = _QuietServer((self.host, 0), _handler_for(self))
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: object, client_address: object) -> None:
        pass  # clients hanging up on the endless responses is the point, not an error


class _Handler(BaseHTTPRequestHandler):
    """Serves ``site`` (set by :func:`_handler_for`); special paths have a ``route_`` method."""

    protocol_version = "HTTP/1.1"
    site: TestSite

    def log_message(self, format: str, *args: object) -> None:  # quiet
        pass

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        self.site.log(self.headers.get("Host", ""), path)
        self.site.user_agents.add(self.headers.get("User-Agent", ""))
        special = getattr(
            self, "route_" + path.strip("/").replace("/", "_").replace(".", "_"), None
        )
        if special is not None:
            special()
            return
        route = self.site.routes.get(path)
        if route is None:
            route = Route(b"<html><body>not found</body></html>", "text/html", 404)
        self._send(route)

    def _send(self, route: Route) -> None:
        self.send_response(route.status)
        self.send_header("Content-Type", route.content_type)
        body = route.body
        if route.content_type.startswith("text/html") and "Content-Encoding" not in route.headers:
            body = body.replace(b"{port}", str(self.site.port).encode())
        self.send_header("Content-Length", str(len(body)))
        for name, value in route.headers.items():
            self.send_header(name, value.replace("{port}", str(self.site.port)))
        self.end_headers()
        self.wfile.write(body)

    def route_slow_html(self) -> None:
        time.sleep(3.0)
        self._send(_page("slow", "finally"))

    def route_flaky_html(self) -> None:
        if self.site.counts["/flaky.html"] == 1:
            self._send(Route(b"busy", "text/plain", 503, {"Retry-After": "0"}))
        else:
            self._send(_page("flaky", '<img src="/img/b5.jpg">'))

    def route_img_endless_jpg(self) -> None:
        self._stream_forever(declared=None)

    def route_img_huge_jpg(self) -> None:
        self._stream_forever(declared=10 * 1024**3)

    def _stream_forever(self, declared: int | None) -> None:
        """A JPEG header then zeros until the client hangs up ("10 GB" never ends)."""
        self.send_response(200)
        self.send_header("Content-Type", "image/jpeg")
        if declared is not None:
            self.send_header("Content-Length", str(declared))
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True
        chunk = bytes(64 * 1024)
        try:
            self.wfile.write(b"\xff\xd8\xff\xe0")
            while True:
                self.wfile.write(chunk)
        except (BrokenPipeError, ConnectionResetError):
            return


def _handler_for(site: TestSite) -> type[BaseHTTPRequestHandler]:
    return type("Handler", (_Handler,), {"site": site})
