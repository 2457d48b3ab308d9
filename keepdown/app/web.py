"""The web pages' parts: people, the review queue, the allow-list, mounted next to the API.

:func:`mount_web` is the one hook :func:`keepdown.app.server.build_app` calls: it builds the
sign-in service (users and sessions on SQL), the review service and its store, and mounts
:func:`keepdown.web.create_web_app` at ``/web`` (``/`` redirects there). It also puts the
allow-list in front of the API's matcher, so a candidate an analyst said is not a match is
not reported as one by the API either. :func:`allow_listed` does the same for the crawler's
sighting recorder (:mod:`keepdown.app.crawling`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from fastapi import FastAPI
from fastapi.responses import RedirectResponse

from keepdown.auth import AuthService
from keepdown.auth.signin import Policy, SignIn
from keepdown.clock import Clock
from keepdown.review import AllowListedMatcher, AllowListFilter, QueueConfig, ReviewService
from keepdown.settings import Settings
from keepdown.storage import Storage, open_storage
from keepdown.storage.auth_store import SqlAuthStore
from keepdown.storage.review_store import SqlReviewStore
from keepdown.storage.user_store import SqlUserStore

__all__ = ["allow_listed", "mount_web", "people", "signin_service"]


def signin_service(storage: Storage, auth: AuthService, settings: Settings) -> SignIn:
    return SignIn(SqlUserStore(storage.engine), auth, policy=Policy.from_settings(settings))


def allow_filter(
    storage: Storage, settings: Settings, clock: Clock | None = None
) -> AllowListFilter:
    return AllowListFilter(
        SqlReviewStore(storage.engine).allow_entries,
        pdq_distance=settings.review_allowlist_pdq_distance,
        clock=clock,
    )


def allow_listed(
    storage: Storage, settings: Settings, match: Callable[[Any], Sequence[Any]]
) -> Callable[[Any], list[Any]]:
    """``match`` (``BankIndex.match_result``) with allow-listed matches dropped."""
    return allow_filter(storage, settings).wrap(match)


def mount_web(app: FastAPI, api: Any, services: Any, public_limit: Any) -> Any:
    """Mount the pages on ``app`` (the API built by ``build_app``) from its context ``api``;
    ``public_limit`` is the per-client limit the public form shares with the API. Returns the
    :class:`keepdown.web.WebContext`."""
    # Imported here: the crawl and notice commands use allow_listed() without the web stack.
    from keepdown.web import WEB_ROOT, WebContext, create_web_app

    storage: Storage = services.storage
    settings: Settings = api.settings
    allow = allow_filter(storage, settings, api.clock)
    api.matcher = AllowListedMatcher(api.matcher, allow)
    review_store = SqlReviewStore(storage.engine)
    ctx = WebContext(
        settings=settings,
        clock=api.clock,
        auth=api.auth,
        signin=signin_service(storage, api.auth, settings),
        review=ReviewService(
            review_store, storage.events, api.clock, QueueConfig.from_settings(settings)
        ),
        review_store=review_store,
        banks=api.banks,
        bank_store=storage.banks,
        fetch_media=api.fetch_url,
        public_limit=public_limit,
        notices=getattr(api, "notices", None),
        providers=getattr(api, "providers", None),
        url_reports=getattr(api, "url_reports", None),
        events=storage.events,
        accountability=getattr(api, "accountability", None),
    )
    app.mount(WEB_ROOT, create_web_app(ctx), name="web")

    @app.get("/", include_in_schema=False)
    async def root() -> RedirectResponse:
        return RedirectResponse(f"{WEB_ROOT}/", status_code=307)

    return ctx


@contextlib.contextmanager
def people(settings: Settings) -> Iterator[SignIn]:
    """The sign-in service on the configured database (for ``keepdown user``)."""
    storage = open_storage(settings)
    try:
        store = SqlAuthStore(storage.engine)
        yield signin_service(storage, AuthService(store, store), settings)
    finally:
        storage.close()
