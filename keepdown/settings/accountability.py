"""Reports and financial indicators (keepdown.reports, keepdown.finance).

Each attribute is one setting (:mod:`keepdown.settings.setting`); docs/settings.md lists them.
"""

from __future__ import annotations

from keepdown.settings.setting import integer, text

__all__ = ["AccountabilitySettings"]


class AccountabilitySettings:
    """Reports and financial indicators."""

    finance_tlp = text(
        "amber",
        "TLP 2.0 marking of financial-indicator exports and alerts: clear, green, amber, "
        "amber+strict or red (docs/finance.md).",
        choices=("clear", "green", "amber", "amber+strict", "red"),
    )
    finance_payment_patterns_file = text(
        "",
        "TOML file of extra payment services ([[service]] name, pattern with a (?P<merchant>) "
        "group) added before the built-in list; empty: the built-in list only.",
    )
    finance_email_window_chars = integer(
        80,
        "An e-mail address counts as a payment indicator when a payment word is this close.",
        minimum=0,
    )
    finance_max_page_chars = integer(
        2_000_000,
        "Most characters of one page's text read for payment indicators.",
        minimum=1,
    )
    finance_alert_threshold = integer(
        2,
        "Confirmed sightings an indicator needs before a new subscription is alerted about it.",
        minimum=1,
    )
    finance_alert_max_attempts = integer(
        5,
        "Delivery attempts of one alert to a financial institution before it is marked failed.",
        minimum=1,
    )
