"""Rendering pages: one Jinja2 environment per language, and what every page is given.

Templates autoescape everything. Each page gets ``viewer`` (the signed-in person or None),
``csrf_token`` (the session's, or the double-submit cookie's before sign-in), ``lang``,
``nav`` (the header links for the viewer's role), ``path`` and ``message`` (a notice from a
redirect, ``?done=<code>``, looked up in :data:`DONE` so no text comes from the URL).
"""

from __future__ import annotations

import functools
from typing import Any

import jinja2
from fastapi import Request
from fastapi.responses import HTMLResponse

from keepdown.reports.durations import duration_text
from keepdown.web.context import web_context
from keepdown.web.i18n import (
    LANGUAGE_COOKIE,
    LANGUAGES,
    N_,
    choose_language,
    format_number,
    format_time,
    translations,
)
from keepdown.web.nav import nav_for
from keepdown.web.security import csrf_cookie_name, new_csrf_token

__all__ = ["DONE", "language_of", "render"]

#: Messages a redirect may ask a page to show (``?done=saved``).
DONE: dict[str, str] = {
    "saved": N_("Saved."),
    "signed_out": N_("You are signed out."),
    "password": N_("Your password is changed. Sign in again with it."),
    "totp_on": N_("Second factor turned on."),
    "totp_off": N_("Second factor turned off."),
    "break": N_("Welcome back. The break timer starts again."),
    "decided": N_("Decision recorded."),
    "revoked": N_("Key revoked."),
    "resent": N_("The notice will be sent again."),
    "disputed": N_("The location is marked disputed."),
    "reviewed": N_("Dispute reviewed."),
    "reopened": N_("The location is open again: it is checked now and re-noticed on schedule."),
    "confirmed": N_("Delivery confirmed."),
    "reported": N_("Report stored."),
    "removed": N_("Removed."),
    "imported": N_("Import finished."),
}


@functools.cache
def environment(language: str) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("keepdown.web", "templates"),
        autoescape=True,
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.install_gettext_translations(translations(language), newstyle=True)  # type: ignore[attr-defined]
    env.filters["when"] = lambda value: format_time(value, language)
    env.filters["num"] = lambda value: format_number(value, language)
    env.filters["duration"] = duration_text  # minutes under an hour (keepdown.reports)
    env.globals["languages"] = LANGUAGES
    return env


def language_of(request: Request) -> str:
    ctx = web_context(request)
    viewer = getattr(request.state, "viewer", None)
    return choose_language(
        user=viewer.user.language if viewer else "",
        cookie=request.cookies.get(LANGUAGE_COOKIE),
        accept=request.headers.get("accept-language", ""),
        default=ctx.settings.web_default_language,
    )


def render(
    request: Request,
    template: str,
    *,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
    **values: Any,
) -> HTMLResponse:
    """The page ``template`` with the common values of the module docstring."""
    ctx = web_context(request)
    lang = language_of(request)
    viewer = getattr(request.state, "viewer", None)
    secure = ctx.settings.web_cookie_secure
    fresh_cookie = None
    if viewer is not None:
        csrf = viewer.session.csrf_token
    else:
        csrf = request.cookies.get(csrf_cookie_name(secure)) or ""
        if not csrf:
            csrf = fresh_cookie = new_csrf_token()
    gettext = translations(lang).gettext
    done = request.query_params.get("done", "")
    body = (
        environment(lang)
        .get_template(template)
        .render(
            request=request,
            viewer=viewer,
            csrf_token=csrf,
            lang=lang,
            nav=[
                (item.path, gettext(item.label))
                for item in nav_for(
                    viewer.user.role if viewer else None,
                    viewer.user.organisation if viewer else "",
                    str(web_context(request).settings.operator_organisation),
                )
            ],
            path=request.url.path,
            message=gettext(DONE[done]) if done in DONE else "",
            **values,
        )
    )
    response = HTMLResponse(body, status_code=status_code, headers=headers)
    if fresh_cookie is not None:
        response.set_cookie(
            csrf_cookie_name(secure),
            fresh_cookie,
            httponly=True,
            secure=secure,
            samesite="strict",
            path="/",
        )
    return response
