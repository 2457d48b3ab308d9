"""Web pages and review (keepdown.web, keepdown.review; docs/web.md).

Each attribute is one setting (:mod:`keepdown.settings.setting`); docs/settings.md lists them.
"""

from __future__ import annotations

from keepdown.settings.setting import MiB, flag, integer, text

__all__ = ["WebSettings"]


class WebSettings:
    """Web pages and review."""

    web_cookie_secure = flag(
        True,
        "Mark the session cookie Secure (HTTPS only); turn off only for http://127.0.0.1 "
        "development, never behind a public address.",
    )
    web_session_idle_minutes = integer(30, "A web session ends after this long unused.", minimum=1)
    web_session_max_hours = integer(12, "A web session ends this long after sign-in.", minimum=1)
    web_login_max_failures = integer(
        5,
        "Failed sign-ins in a row after which an account is locked for web_lockout_minutes.",
        minimum=1,
    )
    web_lockout_minutes = integer(15, "How long a locked account stays locked.", minimum=0)
    web_password_min_length = integer(12, "Shortest password a person may choose.", minimum=8)
    web_totp_issuer = text("keepdown", "Issuer name shown by authenticator apps.")
    web_default_language = text(
        "en",
        "Interface language when none is chosen (en, fr).",
        choices=("en", "fr"),
    )
    review_claim_minutes = integer(
        10,
        "How long an analyst holds a review item; after that another analyst may take it.",
        minimum=1,
    )
    review_skip_minutes = integer(
        60,
        "How long an item an analyst skipped stays out of it.",
        minimum=0,
    )
    review_media_max_bytes = integer(
        20 * MiB,
        "Largest media the review page fetches (live, through the SSRF guard) to preview.",
        minimum=1,
    )
    review_preview_max_side = integer(
        240,
        "Longest side, in pixels, of a blurred preview.",
        minimum=16,
    )
    review_reveal_max_side = integer(
        480,
        "Longest side, in pixels, of a revealed image.",
        minimum=16,
    )
    review_default_blur = integer(12, "Blur radius new analysts start with (2 to 40).", minimum=0)
    review_break_after_reviews = integer(
        40,
        "New analysts: suggest a break after N items.",
        minimum=0,
    )
    review_break_after_minutes = integer(
        45,
        "New analysts: suggest a break after this long.",
        minimum=0,
    )
    review_allowlist_pdq_distance = integer(
        8,
        "A hash within this PDQ distance of an allow-listed candidate (and nearer to it than "
        "to the bank entry) no longer matches that entry.",
        minimum=0,
        maximum=256,
    )
