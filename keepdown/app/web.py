"""The web pages, mounted next to the API on the same runtime, and ``keepdown user``.

:func:`mount_web` is the one hook :func:`keepdown.app.server.build_app` calls: it mounts
:func:`keepdown.web.create_web_app` at ``/web`` (``/`` redirects there) with a
:class:`~keepdown.web.WebContext` of the runtime's parts: sign-in, the review service and its
store, banks, notices, reported URLs, accountability. The pages match nothing themselves:
the allow-list their analysts build is a stage of the runtime's one match chain, so a
candidate an analyst said is not a match stops matching at every door.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from fastapi import FastAPI
from fastapi.responses import RedirectResponse

from keepdown.api import ApiContext
from keepdown.app.runtime import Runtime
from keepdown.auth.signin import SignIn
from keepdown.settings import Settings
from keepdown.web.context import ClientLimit

__all__ = ["mount_web", "people"]


def mount_web(app: FastAPI, api: ApiContext, runtime: Runtime, public_limit: ClientLimit) -> None:
    """Mount the pages on ``app`` (the API built by ``build_app`` from ``api``, its context);
    ``public_limit`` is the per-client limit the public form shares with the API."""
    from keepdown.web import WEB_ROOT, WebContext, create_web_app

    ctx = WebContext(
        settings=runtime.settings,
        clock=runtime.clock,
        auth=runtime.auth,
        signin=runtime.signin,
        review=runtime.review,
        review_store=runtime.review_store,
        banks=runtime.banks,
        bank_store=runtime.storage.banks,
        fetch_media=api.fetch_url,
        public_limit=public_limit,
        notices=api.notices,
        providers=api.providers,
        url_reports=api.url_reports,
        events=runtime.storage.events,
        transparency=runtime.accountability,
        finance=runtime.accountability,
        blocklist=api.blocklist,
        self_submission=runtime.submissions.desk,
    )
    app.mount(WEB_ROOT, create_web_app(ctx), name="web")

    @app.get("/", include_in_schema=False)
    async def root() -> RedirectResponse:
        return RedirectResponse(f"{WEB_ROOT}/", status_code=307)


@contextlib.contextmanager
def people(settings: Settings) -> Iterator[SignIn]:
    """The sign-in service on the configured database (for ``keepdown user``)."""
    with Runtime.open(settings) as runtime:
        yield runtime.signin
