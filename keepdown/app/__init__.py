"""The composition root: settings -> stores -> services -> the ASGI app and the workers.

One module per entry point, all built on :mod:`keepdown.app.core`:

- :mod:`~keepdown.app.server`: ``keepdown serve`` (:func:`build_app`, :func:`serve`);
- :mod:`~keepdown.app.web`: the web pages mounted under ``/web``, ``keepdown user``;
- :mod:`~keepdown.app.crawling`: ``keepdown crawl`` and ``keepdown report``, and the one crawl
  turn both the foreground worker and the crawl tasks run;
- :mod:`~keepdown.app.noticing`: ``keepdown notices``, ``keepdown provider``, the notice and
  re-check services;
- :mod:`~keepdown.app.accountability`: transparency reports, payment indicators, finance alerts;
- :mod:`~keepdown.app.workers`: ``keepdown worker`` and the in-process workers of serve;
- :mod:`~keepdown.app.scanning`: ``keepdown scan``;
- :mod:`~keepdown.app.demo`: the demo seed of ``keepdown serve --demo``.

This is the only layer that knows every package; nothing below imports it.
"""

from __future__ import annotations

from keepdown.app.core import Services, auth_service, open_services
from keepdown.app.crawling import CrawlServices, open_crawl_services, registry_attributor
from keepdown.app.demo import DEMO_BANK, DEMO_ORG, DEMO_USER, DemoInfo, seed_demo
from keepdown.app.noticing import NoticeServices, open_notice_services, provider_registry
from keepdown.app.server import build_app, serve

__all__ = [
    "DEMO_BANK",
    "DEMO_ORG",
    "DEMO_USER",
    "CrawlServices",
    "DemoInfo",
    "NoticeServices",
    "Services",
    "auth_service",
    "build_app",
    "open_crawl_services",
    "open_notice_services",
    "open_services",
    "provider_registry",
    "registry_attributor",
    "seed_demo",
    "serve",
]
