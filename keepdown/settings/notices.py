"""Notices and takedown (keepdown.notices; docs/notices.md).

Each attribute is one setting (:mod:`keepdown.settings.setting`); docs/settings.md lists them.
"""

from __future__ import annotations

from keepdown.settings.setting import flag, integer, number, secret_ref, text

__all__ = ["NoticeSettings"]


class NoticeSettings:
    """Notices and takedown."""

    notice_operator_name = text(
        "keepdown operator",
        "Who signs notices to providers (the hotline or organisation running keepdown).",
    )
    notice_from_address = text(
        "notices@localhost",
        "From address of notice e-mails (its domain also names the Message-IDs).",
    )
    notice_reply_to = text("", "Reply-To address of notice e-mails ('' = none).")
    notice_legal_basis_en = text(
        "This material is illegal to host or distribute in most jurisdictions. Please remove it "
        "without delay.",
        "Legal and policy basis cited in English notices (the operator's own wording).",
    )
    notice_legal_basis_fr = text(
        "Ce contenu est illégal à héberger ou à diffuser dans la plupart des pays. Merci de le "
        "retirer sans délai.",
        "Legal and policy basis cited in French notices.",
    )
    notice_public_base_url = text(
        "http://127.0.0.1:8000",
        "Base URL of the keepdown API as providers reach it; signed response links point here.",
    )
    notice_links_on_loopback = flag(
        False,
        "Send notices whose response links point at a loopback notice_public_base_url (the "
        "demo and tests only: a provider cannot open http://127.0.0.1 links). Otherwise no "
        "notice is delivered until notice_public_base_url is set to an address providers "
        "reach.",
    )
    notice_link_days = integer(
        30,
        "Days a signed response link (acknowledge, report removal, dispute) stays valid.",
        minimum=1,
    )
    notice_link_secret_env = secret_ref(
        "Name of an environment variable holding the key that signs response links; empty "
        "means a random key kept in <data_dir>/notice-links.key.",
    )
    provider_secret_key_env = secret_ref(
        "Name of an environment variable holding the key (Fernet) that encrypts providers' "
        "webhook secrets in the database; empty means a random key kept in "
        "<data_dir>/provider-secrets.key.",
    )
    smtp_host = text("127.0.0.1", "SMTP server notice e-mails are sent through.")
    smtp_port = integer(
        25,
        "SMTP server port (587 for STARTTLS submission, 465 for TLS).",
        minimum=1,
        maximum=65535,
    )
    smtp_tls = text(
        "starttls",
        "SMTP transport security: 'starttls' (required, not opportunistic), 'tls' (implicit "
        "TLS) or 'none' (loopback relays and tests only).",
        choices=("starttls", "tls", "none"),
    )
    smtp_username = text("", "SMTP login name ('' = no authentication).")
    smtp_password_env = secret_ref("Name of an environment variable holding the SMTP password.")
    smtp_timeout_seconds = number(30.0, "Timeout of one SMTP operation.", above=0)
    smtp_ca_file = text(
        "",
        "PEM file of the certificates trusted for the SMTP server (an internal relay's own CA); "
        "empty means the system's trust store.",
    )
    webhook_timeout_seconds = number(10.0, "Timeout of one webhook request.", above=0)
    webhook_retries = integer(
        2,
        "Retries of a webhook within one delivery attempt after a 5xx, 429 or network error.",
        minimum=0,
    )
    webhook_backoff_seconds = number(
        1.0,
        "First delay between webhook retries; doubles with each retry.",
        minimum=0,
    )
    notice_delivery_max_attempts = integer(
        8,
        "Delivery attempts of one notice before it is marked failed for an operator.",
        minimum=1,
    )
    notice_delivery_backoff_seconds = number(
        300.0,
        "Wait before a failed delivery is attempted again; doubles with each attempt.",
        minimum=0,
    )
    notice_delivery_lease_seconds = number(
        300.0,
        "How long a sender holds a delivery; one still held after that was interrupted.",
        above=0,
    )
    notice_recheck_error_hours = number(
        1.0,
        "Wait before re-checking a location whose last check failed (an error is not removal).",
        above=0,
    )
    notice_watch_days = integer(
        42,
        "Days a removed location is still re-checked, so the same URL coming back is seen.",
        minimum=0,
    )
    notice_watch_every_hours = number(
        168.0,
        "How often a removed location is re-checked while it is watched (0.5 = every 30 "
        "minutes; never more often than notice_recheck_floor_minutes).",
        above=0,
        maximum=24 * 366,
    )
    notice_recheck_floor_minutes = integer(
        5,
        "The shortest time between two checks of one location, and between two reminders to "
        "one provider, whatever a provider's cadence (recheck_minutes, renotice_minutes) or "
        "the watch asks: it protects providers. Also the wait before the second check that "
        "confirms a 401/403 or a 'content removed' page.",
        minimum=1,
        maximum=24 * 60,
    )
    notice_worker_seconds = number(
        300.0,
        "How often `keepdown serve` drafts, sends and re-checks due notices (0 = never; "
        "run `keepdown notices send-due` / `recheck-due` from a scheduler instead).",
        minimum=0,
    )
    rdap_base_url = text(
        "",
        "RDAP service asked for the network and abuse contact of IPs the provider registry "
        "does not know (e.g. https://rdap.org); empty turns RDAP off.",
    )
    rdap_timeout_seconds = number(10.0, "Timeout of one RDAP lookup.", above=0)
