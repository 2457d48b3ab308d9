"""The crawler: from reported URLs to hashed sightings, safely and politely.

Parts, each small and replaceable:

- :mod:`~keepdown.crawl.urls` normalises URLs and holds the crawl :class:`CrawlScope`;
- :mod:`~keepdown.crawl.ssrf` and :mod:`~keepdown.crawl.transport` refuse every non-public
  address after DNS resolution, at every connection and redirect;
- :mod:`~keepdown.crawl.fetcher` fetches with size, time, redirect and retry limits and sniffs
  what the bytes really are;
- :mod:`~keepdown.crawl.robots` and :mod:`~keepdown.crawl.politeness` keep the crawler a good
  guest (per process, or shared through Redis by :mod:`~keepdown.crawl.politeness_redis`);
- :mod:`~keepdown.crawl.extract` and :mod:`~keepdown.crawl.archives` find the media, and
  :mod:`~keepdown.crawl.hasher` hashes it in memory;
- :mod:`~keepdown.crawl.frontier` remembers every URL's state so a crawl survives a restart;
- :mod:`~keepdown.crawl.crawler` runs the loop and hands each :class:`Sighting` to a
  :class:`MediaSink` injected by the application (crawl never imports matching), and each
  fetched page to the ``page_observers`` (:mod:`~keepdown.crawl.observers`);
- :mod:`~keepdown.crawl.scope_request` bounds what a report may ask of its crawl.

Media is hashed in memory and dropped; nothing is written to disk.
"""

from keepdown.crawl.archive_limits import ArchiveLimits
from keepdown.crawl.archives import ArchiveReport, iter_archive_images
from keepdown.crawl.crawler import Crawler, CrawlStats, RunEnd
from keepdown.crawl.extract import Extracted, MediaRef, extract
from keepdown.crawl.fetcher import Fetcher, FetchResult
from keepdown.crawl.frontier import Frontier, FrontierItem, UrlKind, UrlState
from keepdown.crawl.memory_frontier import InMemoryFrontier
from keepdown.crawl.observers import PageObserver, PageSeen
from keepdown.crawl.politeness import InMemoryPoliteness, Politeness, politeness_from_settings
from keepdown.crawl.robots import RobotsPolicy, RobotsTxtFetcher
from keepdown.crawl.scope_request import ScopeRequest
from keepdown.crawl.sightings import MediaSink, Sighting
from keepdown.crawl.sniff import effective_type, sniff
from keepdown.crawl.ssrf import AddressGuard
from keepdown.crawl.transport import GuardedTransport, Resolver, StaticResolver, SystemResolver
from keepdown.crawl.urls import CrawlScope, normalize_url

__all__ = [
    "AddressGuard",
    "ArchiveLimits",
    "ArchiveReport",
    "CrawlScope",
    "CrawlStats",
    "Crawler",
    "Extracted",
    "FetchResult",
    "Fetcher",
    "Frontier",
    "FrontierItem",
    "GuardedTransport",
    "InMemoryFrontier",
    "InMemoryPoliteness",
    "MediaRef",
    "MediaSink",
    "PageObserver",
    "PageSeen",
    "Politeness",
    "Resolver",
    "RobotsPolicy",
    "RobotsTxtFetcher",
    "RunEnd",
    "ScopeRequest",
    "Sighting",
    "StaticResolver",
    "SystemResolver",
    "UrlKind",
    "UrlState",
    "effective_type",
    "extract",
    "iter_archive_images",
    "normalize_url",
    "politeness_from_settings",
    "sniff",
]
