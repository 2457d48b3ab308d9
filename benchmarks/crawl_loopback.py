"""Crawl the generated loopback test site with the media cache on and off, in the same run.

The site (``tests/crawl/site.py``): N pages, benign pictures shown on many pages, known
stand-ins, every hard case. Prints pages, requests, media fetches and wall time per setting.

    python benchmarks/crawl_loopback.py --pages 300 --runs 2
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "tests")]

from crawl.conftest import CRAWL_OVERRIDES  # noqa: E402
from crawl.site import TestSite  # noqa: E402

from keepdown.crawl import Crawler, CrawlScope, InMemoryFrontier, StaticResolver  # noqa: E402
from keepdown.settings import load_settings  # noqa: E402


class CountingSink:
    def __init__(self) -> None:
        self.sightings = 0

    def accept(self, sighting, hashes) -> None:
        self.sightings += 1


def crawl_once(site: TestSite, cache_entries: int, tmp: str) -> dict[str, float]:
    settings = load_settings(
        environ={},
        overrides={**CRAWL_OVERRIDES, "data_dir": tmp, "crawl_media_cache_entries": cache_entries},
    )
    scope = CrawlScope(
        seeds=(site.url("/index.html", "site.test"),), max_depth=20, exclude=(r"/slow\.html$",)
    )
    sink = CountingSink()
    crawler = Crawler(
        settings,
        scope=scope,
        frontier=InMemoryFrontier(),
        sink=sink,
        resolver=StaticResolver({"site.test": ["127.0.0.1"]}),
    )
    site.reset_log()

    async def go():
        try:
            return await crawler.run()
        finally:
            await crawler.aclose()

    start = time.perf_counter()
    stats = asyncio.run(go())
    seconds = time.perf_counter() - start
    return {
        "seconds": seconds,
        "requests": len(site.requests),
        "pages": stats["page/fetched"],
        "media_fetched": stats["media/fetched"],
        "hashed": stats["media/hashed"],
        "sightings": sink.sightings,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=300)
    parser.add_argument("--runs", type=int, default=2)
    args = parser.parse_args()
    import tempfile

    site = TestSite(n_pages=args.pages).start()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            print("| media cache | pages | requests | media fetched | hashed | sightings | s |")
            print("| --- | --- | --- | --- | --- | --- | --- |")
            for _ in range(args.runs):
                for entries, label in ((0, "off"), (10_000, "on")):
                    r = crawl_once(site, entries, tmp)
                    print(
                        f"| {label} | {r['pages']} | {r['requests']} | {r['media_fetched']} | "
                        f"{r['hashed']} | {r['sightings']} | {r['seconds']:.2f} |"
                    )
    finally:
        site.stop()


if __name__ == "__main__":
    main()
