"""Reports, financial indicators and evidence (keepdown.reports, keepdown.finance,
keepdown.evidence).

Each attribute is one setting (:mod:`keepdown.settings.setting`); docs/settings.md lists them.
"""

from __future__ import annotations

from keepdown.settings.setting import integer, number, text

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
    # --- evidence: the event chain, checkpoints, signed reports (docs/transparency.md) ---
    evidence_signing_key = text(
        "",
        "Ed25519 private key file (PEM, as `keepdown bank keygen` writes) that signs event-log "
        "checkpoints, transparency reports and providers' evidence; empty means "
        "<data_dir>/evidence-signing.pem, made on first use. Several machines: the same file.",
    )
    evidence_checkpoint_minutes = number(
        60.0,
        "How often the workers sign a checkpoint of the event chain's head (when it moved; "
        "0 = never: run `keepdown evidence checkpoint` from a scheduler instead).",
        minimum=0,
    )
    evidence_public_rate_limit = text(
        "600/hour",
        "Requests one client address may make to the public evidence endpoints (key, "
        "checkpoints, leaves), in `limits` notation ('' = unlimited).",
    )
