"""Interface languages: English and French, with Babel catalogues.

Texts are written in English in the templates (``{{ _("...") }}``, ``{% trans %}``) and in
Python (marked with :func:`N_`, translated when rendered). ``pybabel extract`` collects them
into ``locale/messages.pot``; ``locale/fr/LC_MESSAGES/messages.po`` holds the French and is
compiled to ``messages.mo``, which ships in the package (docs/web.md: adding a translation).

The language of a page is the signed-in person's choice, else the ``kd_lang`` cookie (set
by the language switch), else the browser's ``Accept-Language``, else
``web_default_language``.
"""

from __future__ import annotations

import functools
from datetime import UTC, datetime
from pathlib import Path

from babel import Locale
from babel.dates import format_datetime
from babel.numbers import format_decimal
from babel.support import NullTranslations, Translations

__all__ = [
    "LANGUAGES",
    "LOCALE_DIR",
    "N_",
    "choose_language",
    "format_number",
    "format_time",
    "translations",
]

LANGUAGES: dict[str, str] = {"en": "English", "fr": "Français"}
LOCALE_DIR = Path(__file__).parent / "locale"
LANGUAGE_COOKIE = "kd_lang"


def N_(text: str) -> str:  # noqa: N802 (the gettext convention for "translate later")
    """Mark ``text`` for extraction; it is translated when a page renders it."""
    return text


@functools.cache
def translations(language: str) -> NullTranslations:
    if language == "en":
        return NullTranslations()
    return Translations.load(str(LOCALE_DIR), [language], domain="messages")


def _accepted(header: str) -> list[str]:
    found: list[tuple[float, str]] = []
    for part in header.split(",")[:20]:
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        found.append((quality, tag.strip().lower()[:2]))
    return [tag for _, tag in sorted(found, key=lambda f: -f[0])]


def choose_language(
    *, user: str = "", cookie: str | None = None, accept: str = "", default: str = "en"
) -> str:
    for candidate in (user, cookie or "", *_accepted(accept), default):
        if candidate in LANGUAGES:
            return candidate
    return "en"


def format_time(value: datetime | None, language: str) -> str:
    """A date and time in the page's language, in UTC (and saying so)."""
    if value is None:
        return "—"
    return (
        format_datetime(value.astimezone(UTC), "yyyy-MM-dd HH:mm", locale=Locale(language)) + " UTC"
    )


def format_number(value: float | int | None, language: str) -> str:
    if value is None:
        return "—"
    return format_decimal(value, locale=Locale(language), format="#,##0.##")
