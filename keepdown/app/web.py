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
import secrets
from collections.abc import Iterator
from dataclasses import dataclass

from fastapi import FastAPI
from fastapi.responses import RedirectResponse

from keepdown.api import ApiContext
from keepdown.app.runtime import Runtime
from keepdown.auth import Role
from keepdown.auth.signin import SignIn
from keepdown.settings import Settings
from keepdown.web.context import ClientLimit

__all__ = ["FirstRun", "first_admins", "first_run", "mount_web", "people"]


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


# --- the first run --------------------------------------------------------------------------


@dataclass(frozen=True)
class FirstRun:
    """What ``keepdown init`` did: the operator organisation, its first admin (None when it
    had one already) and that admin's temporary password (shown once; None if given)."""

    organisation: str
    admin: str | None
    temporary_password: str | None
    existing_admins: tuple[str, ...] = ()


def first_admins(runtime: Runtime) -> tuple[str, ...]:
    """The operator organisation's admins who may sign in (empty: nobody can run keepdown)."""
    operator = runtime.settings.operator_organisation
    return tuple(
        u.username
        for u in runtime.signin.store.list_users(operator)
        if u.role is Role.ADMIN and not u.disabled
    )


def first_run(runtime: Runtime, username: str, password: str | None) -> FirstRun:
    """Make the operator organisation (``operator_organisation``) and its first admin, who
    sees every page: case work belongs to the operator. Nothing changes when it has an admin
    already. Without ``password`` a temporary one is made, to be changed at first sign-in."""
    operator = runtime.settings.operator_organisation
    runtime.auth.ensure_organisation(operator)
    existing = first_admins(runtime)
    if existing:
        return FirstRun(operator, None, None, existing)
    signin = runtime.signin
    temporary = None
    if password is None:
        temporary = secrets.token_urlsafe(15)
    user = signin.add_user(
        username,
        password or temporary or "",
        organisation=operator,
        role=Role.ADMIN,
        senior=True,
    )
    if temporary is not None:  # to be changed at the first sign-in
        user = signin.set_password(user.username, temporary, must_change=True)
    runtime.auth.audit("user.add", target=user.username, role="admin", organisation=operator)
    return FirstRun(operator, user.username, temporary)
