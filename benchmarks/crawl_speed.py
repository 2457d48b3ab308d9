"""Crawl speed: keepdown's crawler vs Scrapy + an images pipeline hashing with pdqhash.

A loopback site (its own process, so it costs neither crawler CPU): ``--pages`` HTML pages,
each linking to the next pages and showing ``--images / --pages`` 1280x720 JPEGs. The site
renders a pool of ``--pool`` distinct benign pictures (gradients and shapes) and serves image
``i`` as picture ``i % pool`` with ``i`` written into a JPEG comment segment: every image has
bytes (and exact hashes) of its own, decoding costs what a real photo of that size costs, and
the full size (50,000 images) needs a few MB of memory, not 4 GB. Both crawlers fetch every
page and every image once and compute a PDQ hash of each image, in the same run:

- **keepdown**: :class:`keepdown.crawl.Crawler` (SSRF guard, robots.txt, politeness, sniffing,
  MD5/SHA-1/SHA-256 + PDQ in ``--hash-mode``, dihedral variants off unless ``--dihedral``),
  on an in-memory frontier, or on the SQLite frontier with ``--frontier sqlite``;
- **scrapy**: a spider following every link, with an ``ImagesPipeline`` whose
  ``file_downloaded`` decodes with Pillow and hashes with ``pdqhash`` (nothing stored).

Printed: pages/s, media/s and CPU seconds per media (the crawler's process CPU, threads
included; the site server excluded).

    python benchmarks/crawl_speed.py                       # 2,000 pages / 10,000 images
    python benchmarks/crawl_speed.py --pages 400 --images 2000
    python benchmarks/crawl_speed.py --pages 10000 --images 50000   # the issue's full size

Where the CPU goes (``pip install py-spy``; it samples the crawler process, not the site's)::

    py-spy record -r 200 -f raw -o crawl.txt -- python benchmarks/crawl_speed.py \
        --pages 100 --images 500 --only keepdown
"""

from __future__ import annotations

import argparse
import asyncio
import io
import multiprocessing as mp
import os
import resource
import subprocess
import sys
import tempfile
import textwrap
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO)]

LINKS_PER_PAGE = 3


_BASES: list = []


def make_jpeg(i: int, size: tuple[int, int] = (1280, 720)) -> bytes:
    """A distinct benign 1280x720 picture: one of 8 gradients plus shapes seeded by ``i``."""
    import numpy as np
    from PIL import Image, ImageDraw

    w, h = size
    if not _BASES:
        x = np.linspace(0, 1, w, dtype=np.float32)[None, :]
        y = np.linspace(0, 1, h, dtype=np.float32)[:, None]
        for k in range(8):
            a, b, c = np.random.default_rng(k).uniform(0.5, 4.0, 3)
            rgb = np.stack(
                [
                    127 + 120 * np.sin(a * 6.28 * x + b * y * 3),
                    127 + 120 * np.cos(b * 6.28 * y + c * x * 2),
                    127 + 120 * np.sin(c * 6.28 * (x + y)),
                ],
                axis=-1,
            ).astype(np.uint8)
            _BASES.append(Image.fromarray(rgb))
    rng = np.random.default_rng(i)
    image = _BASES[i % len(_BASES)].copy()
    draw = ImageDraw.Draw(image)
    for _ in range(8):
        x0, y0 = int(rng.integers(0, w - 200)), int(rng.integers(0, h - 200))
        side = int(rng.integers(40, 200))
        colour = tuple(int(v) for v in rng.integers(0, 255, 3))
        draw.rectangle([x0, y0, x0 + side, y0 + side // 2], fill=colour)
    out = io.BytesIO()
    image.save(out, "JPEG", quality=85)
    return out.getvalue()


def page_html(i: int, pages: int, per_page: int) -> bytes:
    links = "".join(
        f'<a href="/p/{j}.html">page {j}</a> '
        for j in range(i * LINKS_PER_PAGE + 1, min(pages, i * LINKS_PER_PAGE + 1 + LINKS_PER_PAGE))
    )
    images = "".join(f'<img src="/img/{i * per_page + k}.jpg">' for k in range(per_page))
    return f"<!doctype html><html><body><h1>{i}</h1>{links}{images}</body></html>".encode()


def with_comment(jpeg: bytes, text: str) -> bytes:
    """The JPEG with a COM segment after SOI: other bytes, the same pixels."""
    payload = text.encode()
    return jpeg[:2] + b"\xff\xfe" + (len(payload) + 2).to_bytes(2, "big") + payload + jpeg[2:]


def serve(pages: int, images: int, pool_size: int, port_queue: mp.Queue) -> None:
    """The site process: renders the picture pool, then serves until killed."""
    per_page = images // pages
    pool = [make_jpeg(i) for i in range(min(pool_size, per_page * pages))]

    def image(i: int) -> bytes:
        return with_comment(pool[i % len(pool)], f"keepdown benchmark image {i}")

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            path = self.path
            if path == "/robots.txt":
                body, ctype = b"User-agent: *\nAllow: /\n", "text/plain"
            elif path.startswith("/p/") and path.endswith(".html"):
                body, ctype = page_html(int(path[3:-5]), pages, per_page), "text/html"
            elif path.startswith("/img/") and path.endswith(".jpg"):
                body, ctype = image(int(path[5:-4])), "image/jpeg"
            else:
                body, ctype = b"not found", "text/plain"
                self.send_response(404)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                return
            self.send_response(200)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    port_queue.put(server.server_address[1])
    server.serve_forever()


# --- keepdown ------------------------------------------------------------------------------


class CountingSink:
    def __init__(self) -> None:
        self.sightings = 0
        self.pdq = 0

    def accept(self, sighting, hashes) -> None:
        self.sightings += 1
        self.pdq += hashes.pdq is not None


def run_keepdown(base: str, args: argparse.Namespace) -> dict[str, float]:
    from keepdown.clock import SystemClock
    from keepdown.crawl import Crawler, CrawlScope, InMemoryFrontier
    from keepdown.settings import load_settings

    tmp = tempfile.mkdtemp(prefix="kd-bench-")
    settings = load_settings(
        environ={},
        overrides={
            "data_dir": tmp,
            "crawl_allowed_networks": "127.0.0.1/32",
            "crawl_concurrency": args.concurrency,
            "crawl_per_host_concurrency": args.concurrency,
            "crawl_per_host_delay_seconds": 0,
            "crawl_max_depth": 100,
            "crawl_max_pages": args.pages + 10,
            "crawl_timeout_seconds": 30,
            "crawl_max_fetch_seconds": 60,
            "hash_mode": args.hash_mode,
            "match_dihedral": args.dihedral,
        },
    )
    if args.frontier == "sqlite":
        from keepdown.storage import open_storage_url
        from keepdown.storage.crawl_store import CrawlStore

        storage = open_storage_url(f"sqlite:///{tmp}/bench.sqlite3")
        crawl = CrawlStore(storage.engine, settings).create(
            [f"{base}/p/0.html"], now=SystemClock().now()
        )
        frontier = CrawlStore(storage.engine, settings).frontier(crawl.id)
    else:
        frontier = InMemoryFrontier()
    sink = CountingSink()
    crawler = Crawler(
        settings,
        scope=CrawlScope(seeds=(f"{base}/p/0.html",), max_depth=100),
        frontier=frontier,
        sink=sink,
    )

    async def go():
        try:
            return await crawler.run()
        finally:
            await crawler.aclose()

    # One-time costs out of the measurement: loading the PDQ kernels (numba) and the decoder.
    from keepdown.hashing import hash_bytes

    hash_bytes(make_jpeg(0), settings=settings, mode=args.hash_mode)
    cpu0, t0 = time.process_time(), time.perf_counter()
    stats = asyncio.run(go())
    wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    return {
        "pages": stats["page/fetched"],
        "media": sink.pdq,
        "wall": wall,
        "cpu": cpu,
    }


# --- scrapy --------------------------------------------------------------------------------

SCRAPY_SCRIPT = textwrap.dedent(
    """
    import io, json, sys, time
    import numpy as np, pdqhash, scrapy
    from PIL import Image
    from scrapy.crawler import CrawlerProcess
    from scrapy.linkextractors import LinkExtractor
    from scrapy.pipelines.images import ImagesPipeline

    base, concurrency, store = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    COUNT = {"pages": 0, "media": 0}

    class PdqPipeline(ImagesPipeline):
        # Download through Scrapy's media pipeline, hash with pdqhash, store nothing.
        def file_downloaded(self, response, request, info, *, item=None):
            image = Image.open(io.BytesIO(response.body)).convert("RGB")
            vector, quality = pdqhash.compute(np.asarray(image))
            COUNT["media"] += 1
            return "%x" % int("".join(str(int(b)) for b in vector), 2)

        def file_path(self, request, response=None, info=None, *, item=None):
            return "unused"

    class Site(scrapy.Spider):
        name = "site"
        start_urls = [base + "/p/0.html"]
        links = LinkExtractor()

        def parse(self, response):
            COUNT["pages"] += 1
            srcs = response.css("img::attr(src)").getall()
            yield {"image_urls": [response.urljoin(s) for s in srcs]}
            for link in self.links.extract_links(response):
                yield response.follow(link.url, self.parse)

    process = CrawlerProcess({
        "LOG_LEVEL": "ERROR",
        "ROBOTSTXT_OBEY": True,
        "CONCURRENT_REQUESTS": concurrency,
        "CONCURRENT_REQUESTS_PER_DOMAIN": concurrency,
        "DOWNLOAD_DELAY": 0,
        "ITEM_PIPELINES": {"__main__.PdqPipeline": 1},
        "IMAGES_STORE": store,
        "TELNETCONSOLE_ENABLED": False,
        "REQUEST_FINGERPRINTER_IMPLEMENTATION": "2.7",
    })
    process.crawl(Site)
    t0 = time.perf_counter()
    process.start()
    print(json.dumps({**COUNT, "wall": time.perf_counter() - t0}))
    """
)


def run_scrapy(base: str, args: argparse.Namespace) -> dict[str, float]:
    import json

    store = tempfile.mkdtemp(prefix="scrapy-bench-")
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    script = Path(store) / "scrapy_site.py"  # Scrapy inspects the spider's source file
    script.write_text(SCRAPY_SCRIPT)
    done = subprocess.run(
        [sys.executable, str(script), base, str(args.concurrency), store],
        capture_output=True,
        text=True,
        check=True,
    )
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    result = json.loads(done.stdout.strip().splitlines()[-1])
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {**result, "cpu": cpu}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=2000)
    parser.add_argument("--images", type=int, default=10000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--hash-mode", choices=["exact", "fast"], default="exact")
    parser.add_argument("--dihedral", action="store_true", help="also hash 8 dihedral variants")
    parser.add_argument("--frontier", choices=["memory", "sqlite"], default="memory")
    parser.add_argument("--only", choices=["keepdown", "scrapy"])
    parser.add_argument("--pool", type=int, default=64, help="distinct pictures rendered")
    args = parser.parse_args()

    queue: mp.Queue = mp.Queue()
    server = mp.Process(target=serve, args=(args.pages, args.images, args.pool, queue), daemon=True)
    started = time.perf_counter()
    server.start()
    port = queue.get(timeout=3600)
    print(
        f"site: {args.pages} pages, {args.images} images 1280x720 JPEG ({args.pool} pictures"
        f" rendered in {time.perf_counter() - started:.0f}s); {os.cpu_count()} CPUs"
    )
    base = f"http://127.0.0.1:{port}"
    rows = []
    try:
        for name, run in (("keepdown", run_keepdown), ("scrapy+pdqhash", run_scrapy)):
            if args.only and not name.startswith(args.only):
                continue
            r = run(base, args)
            rows.append((name, r))
    finally:
        server.terminate()
    print(
        f"{'crawler':<16}{'pages':>7}{'media':>8}{'wall s':>9}{'pages/s':>9}{'media/s':>9}"
        f"{'CPU ms/media':>14}"
    )
    for name, r in rows:
        print(
            f"{name:<16}{r['pages']:>7}{r['media']:>8}{r['wall']:>9.1f}"
            f"{r['pages'] / r['wall']:>9.1f}{r['media'] / r['wall']:>9.1f}"
            f"{1000 * r['cpu'] / max(r['media'], 1):>14.1f}"
        )
    label = f"hash mode {args.hash_mode}, dihedral {'on' if args.dihedral else 'off'}"
    print(f"keepdown: {label}, frontier {args.frontier}, concurrency {args.concurrency}")


if __name__ == "__main__":
    main()
