"""The composition root: settings -> one runtime -> every entry point's parts.

:class:`~keepdown.app.runtime.Runtime` builds storage and every service once per process
(the one match chain included); each other module takes its parts from it for one entry
point:

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

import importlib
from typing import Any

#: Where each public name lives: loaded on first use, so a CLI verb that needs the runtime
#: alone (``keepdown bank``, ``keepdown match``) never imports the web stack of the server.
_WHERE = {
    "DEMO_BANK": "demo",
    "DEMO_ORG": "demo",
    "DEMO_USER": "demo",
    "DemoInfo": "demo",
    "seed_demo": "demo",
    "CrawlServices": "crawling",
    "open_crawl_services": "crawling",
    "registry_attributor": "crawling",
    "NoticeServices": "noticing",
    "open_notice_services": "noticing",
    "provider_registry": "noticing",
    "Runtime": "runtime",
    "open_services": "runtime",
    "build_app": "server",
    "serve": "server",
}

__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module 'keepdown.app' has no attribute {name!r}")
    return getattr(importlib.import_module(f"keepdown.app.{_WHERE[name]}"), name)
