"""The crawler (keepdown.crawl; docs/crawler.md).

Each attribute is one setting (:mod:`keepdown.settings.setting`); docs/settings.md lists them.
"""

from __future__ import annotations

from keepdown.settings.setting import MiB, flag, integer, names, number, text

__all__ = ["CrawlSettings"]


class CrawlSettings:
    """The crawler."""

    crawl_allowed_networks = names(
        (),
        "Networks (CIDR, comma-separated) the crawler may connect to although they are not "
        "public. Empty: private, loopback, link-local, CGNAT, multicast, reserved refused.",
    )
    crawl_user_agent = text(
        "keepdown-crawler/0.1 (+https://github.com/keepdown/keepdown)",
        "User-Agent sent by the crawler, and the agent name matched in robots.txt.",
    )
    crawl_respect_robots = flag(
        True,
        "Honour robots.txt. Turn off only where a legal mandate covers the crawl.",
    )
    crawl_http2 = flag(True, "Offer HTTP/2 (via TLS ALPN) as well as HTTP/1.1.")
    crawl_max_page_bytes = integer(
        5 * MiB,
        "Largest HTML page read; the rest of a larger page is ignored.",
        minimum=1,
    )
    crawl_max_media_bytes = integer(
        50 * MiB,
        "Largest media file or archive downloaded; larger responses are cut and not hashed.",
        minimum=1,
    )
    crawl_timeout_seconds = number(
        20.0,
        "Connect / read / write timeout of one network operation.",
        above=0,
    )
    crawl_max_fetch_seconds = number(
        120.0,
        "Longest one response may take in total (stops slow-drip servers).",
        above=0,
    )
    crawl_max_redirects = integer(
        5,
        "Most redirects followed from one URL; the SSRF guard checks every hop.",
        minimum=0,
    )
    crawl_max_retries = integer(
        2,
        "Retries of one request after a 429, a 5xx or a network error.",
        minimum=0,
    )
    crawl_retry_backoff_seconds = number(
        1.0,
        "First retry delay; doubles with each retry (a Retry-After header wins if longer).",
        minimum=0,
    )
    crawl_max_retry_after_seconds = number(
        120.0,
        "Longest Retry-After waited for in place; a longer one puts the URL back in the "
        "frontier for later.",
        minimum=0,
    )
    crawl_concurrency = integer(
        16,
        "Requests in flight at once across all hosts, per crawler process.",
        minimum=1,
    )
    crawl_per_host_concurrency = integer(2, "Requests in flight at once to one host.", minimum=1)
    crawl_per_host_delay_seconds = number(
        1.0,
        "Least time between the starts of two requests to one host.",
        minimum=0,
    )
    crawl_max_depth = integer(
        5,
        "Most links followed from a seed URL (the seed is depth 0).",
        minimum=0,
    )
    crawl_max_pages = integer(10_000, "Most pages fetched in one crawl.", minimum=1)
    crawl_max_bytes = integer(
        2048 * MiB,
        "Most bytes downloaded in one crawl (pages, media and archives).",
        minimum=1,
    )
    crawl_same_site = flag(
        True,
        "Follow links only within the seed's site (its host, www. twin and subdomains).",
    )
    crawl_lease_seconds = number(
        300.0,
        "How long a crawler holds a URL; a lease that expires (crashed worker) returns the "
        "URL to the frontier.",
        above=0,
    )
    crawl_max_attempts = integer(
        3,
        "Times a URL is tried (across restarts and Retry-After waits) before it is failed.",
        minimum=1,
    )
    crawl_max_zip_entries = integer(
        1000,
        "Most entries read from one ZIP archive; an archive with more is refused.",
        minimum=1,
    )
    crawl_max_zip_bytes = integer(
        200 * MiB,
        "Most uncompressed bytes read from one ZIP archive; a larger one is refused.",
        minimum=1,
    )
    crawl_max_zip_ratio = integer(
        200,
        "Largest compression ratio of a ZIP entry; a higher one is a zip bomb and refused.",
        minimum=1,
    )
    crawl_media_cache_entries = integer(
        10_000,
        "Media URLs whose hashes a crawl run remembers, so media shown on many pages is "
        "fetched once (0: fetch it for every page).",
        minimum=0,
    )
    crawl_politeness_backend = text(
        "memory",
        "Where per-host politeness is kept: 'memory' (one process) or 'redis' (shared by "
        "every crawler using redis_url; falls back to per process, logged, if Redis is down).",
        choices=("memory", "redis"),
    )
    redis_url = text(
        "",
        "Redis server shared by crawler processes and workers, e.g. redis://127.0.0.1:6379/0 "
        "(prefer KEEPDOWN_REDIS_URL in the environment if it carries a password).",
    )
    crawl_turn_pages = integer(
        500,
        "Pages a worker fetches from one crawl before another waiting crawl gets its turn "
        "(0: run each crawl to its end).",
        minimum=0,
    )
    crawl_cap_depth = integer(20, "Deepest crawl a report may ask for (max_depth).", minimum=0)
    crawl_cap_pages = integer(100_000, "Most pages a report may ask its crawl for.", minimum=1)
    crawl_cap_bytes = integer(
        16 * 1024 * MiB,
        "Most bytes a report may ask its crawl for.",
        minimum=1,
    )
    crawl_recrawl_after_hours = number(
        24.0,
        "A URL reported again is crawled again if its last crawl finished more than this "
        "many hours ago (0: never crawl a URL twice).",
        minimum=0,
    )
    public_report_rate_limit = text(
        "20/hour",
        "Reports (and status checks) one client address may make without a key, through the "
        "public endpoint and the public web form together, in `limits` notation "
        "('' = unlimited).",
    )
