"""Every keepdown setting, declared once.

Each :class:`Setting` has a name, a type, a default and a help text. Values come from, in
increasing priority: the defaults here, a TOML file (``KEEPDOWN_CONFIG`` or ``--config``),
``KEEPDOWN_<NAME>`` environment variables, and explicit overrides (CLI options, tests).

Secrets are never stored in a setting's value: a secret setting names an *environment
variable* that holds the secret (``secret=True``), so configuration files and logs never carry
one. ``docs/settings.md`` documents every setting; a test fails when one is missing there.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from keepdown.errors import ConfigurationError

__all__ = ["SETTINGS", "Setting", "Settings", "load_settings"]

ENV_PREFIX = "KEEPDOWN_"


@dataclass(frozen=True)
class Setting:
    """One setting: its name (snake_case), type, default and a one-line help text."""

    name: str
    type: type
    default: Any
    help: str
    secret: bool = False

    @property
    def env_var(self) -> str:
        return ENV_PREFIX + self.name.upper()

    def parse(self, raw: Any) -> Any:
        """Turn a raw value (string from the environment, or TOML value) into this type."""
        try:
            if self.type is bool:
                return _parse_bool(raw)
            if self.type is tuple:
                return _parse_list(raw)
            if self.type in (int, float) and isinstance(raw, str):
                return self.type(raw.replace("_", ""))
            return self.type(raw)
        except (TypeError, ValueError) as exc:
            raise ConfigurationError(
                f"setting {self.name} ({self.env_var}) expects {self.type.__name__}, got {raw!r}"
            ) from exc


def _parse_bool(raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower()
    if text in {"1", "true", "yes", "on"}:
        return True
    if text in {"0", "false", "no", "off", ""}:
        return False
    raise ValueError(raw)


def _parse_list(raw: Any) -> tuple[str, ...]:
    if isinstance(raw, list | tuple):
        return tuple(str(item) for item in raw)
    return tuple(part.strip() for part in str(raw).split(",") if part.strip())


MiB = 1024 * 1024

SETTINGS: tuple[Setting, ...] = (
    # --- where things live ---
    Setting(
        "data_dir",
        str,
        "~/.local/share/keepdown",
        "Folder for the embedded database, saved indexes and signing keys.",
    ),
    Setting(
        "database_url",
        str,
        "",
        "SQLAlchemy URL of the database; empty means SQLite at <data_dir>/keepdown.sqlite3. "
        "Use postgresql+psycopg://... for PostgreSQL.",
    ),
    # --- hashing ---
    Setting("max_image_bytes", int, 50 * MiB, "Largest image file keepdown will decode, in bytes."),
    Setting(
        "max_image_pixels",
        int,
        100_000_000,
        "Largest image, in pixels (width x height), keepdown will decode; larger is refused "
        "before any pixel is allocated (decompression bombs).",
    ),
    Setting(
        "max_gif_frames",
        int,
        500,
        "Most frames hashed from one animated image when every frame is asked for.",
    ),
    Setting(
        "pdq_quality_floor",
        int,
        50,
        "PDQ hashes with a quality below this are not matched (the reference recommends 50).",
    ),
    Setting(
        "hash_mode",
        str,
        "exact",
        "Default PDQ mode for scanning: 'exact' (bit-identical to the reference) or 'fast' "
        "(reduced-scale JPEG decode). Bank entries are always hashed in exact mode.",
    ),
    Setting(
        "apply_exif_orientation",
        bool,
        False,
        "Rotate images by their EXIF orientation before hashing. Off by default, as the "
        "reference does not, so hashes agree with existing hash lists.",
    ),
    # --- matching ---
    Setting(
        "pdq_match_threshold",
        int,
        31,
        "Default largest Hamming distance at which two PDQ hashes match (per bank overridable).",
    ),
    Setting(
        "match_dihedral",
        bool,
        True,
        "Also match the 8 rotations and mirrors of each image's PDQ hash.",
    ),
    Setting("index_dir", str, "", "Folder for saved match indexes; empty means <data_dir>/index."),
    Setting(
        "index_checkpoint_after",
        int,
        100_000,
        "Write a new match index checkpoint to index_dir once this many entry changes were "
        "applied since the last one (so the next start loads it instead of rebuilding); 0: only "
        "by `keepdown index save`.",
    ),
    Setting(
        "index_verify_checkpoints",
        bool,
        True,
        "Check every file of a match index checkpoint against its SHA-256 before using it "
        "(about a second per GB); off checks only sizes and headers.",
    ),
    # --- crawler ---
    Setting(
        "crawl_allowed_networks",
        tuple,
        (),
        "Networks (CIDR, comma-separated) the crawler may connect to although they are not "
        "public. Empty: private, loopback, link-local, CGNAT, multicast, reserved refused.",
    ),
    Setting(
        "crawl_user_agent",
        str,
        "keepdown-crawler/0.1 (+https://github.com/keepdown/keepdown)",
        "User-Agent sent by the crawler, and the agent name matched in robots.txt.",
    ),
    Setting(
        "crawl_respect_robots",
        bool,
        True,
        "Honour robots.txt. Turn off only where a legal mandate covers the crawl.",
    ),
    Setting("crawl_http2", bool, True, "Offer HTTP/2 (via TLS ALPN) as well as HTTP/1.1."),
    Setting(
        "crawl_max_page_bytes",
        int,
        5 * MiB,
        "Largest HTML page read; the rest of a larger page is ignored.",
    ),
    Setting(
        "crawl_max_media_bytes",
        int,
        50 * MiB,
        "Largest media file or archive downloaded; larger responses are cut and not hashed.",
    ),
    Setting(
        "crawl_timeout_seconds",
        float,
        20.0,
        "Connect / read / write timeout of one network operation.",
    ),
    Setting(
        "crawl_max_fetch_seconds",
        float,
        120.0,
        "Longest one response may take in total (stops slow-drip servers).",
    ),
    Setting(
        "crawl_max_redirects",
        int,
        5,
        "Most redirects followed from one URL; the SSRF guard checks every hop.",
    ),
    Setting(
        "crawl_max_retries", int, 2, "Retries of one request after a 429, a 5xx or a network error."
    ),
    Setting(
        "crawl_retry_backoff_seconds",
        float,
        1.0,
        "First retry delay; doubles with each retry (a Retry-After header wins if longer).",
    ),
    Setting(
        "crawl_max_retry_after_seconds",
        float,
        120.0,
        "Longest Retry-After waited for in place; a longer one puts the URL back in the "
        "frontier for later.",
    ),
    Setting(
        "crawl_concurrency",
        int,
        16,
        "Requests in flight at once across all hosts, per crawler process.",
    ),
    Setting("crawl_per_host_concurrency", int, 2, "Requests in flight at once to one host."),
    Setting(
        "crawl_per_host_delay_seconds",
        float,
        1.0,
        "Least time between the starts of two requests to one host.",
    ),
    Setting(
        "crawl_max_depth", int, 5, "Most links followed from a seed URL (the seed is depth 0)."
    ),
    Setting("crawl_max_pages", int, 10_000, "Most pages fetched in one crawl."),
    Setting(
        "crawl_max_bytes",
        int,
        2048 * MiB,
        "Most bytes downloaded in one crawl (pages, media and archives).",
    ),
    Setting(
        "crawl_same_site",
        bool,
        True,
        "Follow links only within the seed's site (its host, www. twin and subdomains).",
    ),
    Setting(
        "crawl_lease_seconds",
        float,
        300.0,
        "How long a crawler holds a URL; a lease that expires (crashed worker) returns the "
        "URL to the frontier.",
    ),
    Setting(
        "crawl_max_attempts",
        int,
        3,
        "Times a URL is tried (across restarts and Retry-After waits) before it is failed.",
    ),
    Setting(
        "crawl_max_zip_entries",
        int,
        1000,
        "Most entries read from one ZIP archive; an archive with more is refused.",
    ),
    Setting(
        "crawl_max_zip_bytes",
        int,
        200 * MiB,
        "Most uncompressed bytes read from one ZIP archive; a larger one is refused.",
    ),
    Setting(
        "crawl_max_zip_ratio",
        int,
        200,
        "Largest compression ratio of a ZIP entry; a higher one is a zip bomb and refused.",
    ),
    Setting(
        "crawl_media_cache_entries",
        int,
        10_000,
        "Media URLs whose hashes a crawl run remembers, so media shown on many pages is "
        "fetched once (0: fetch it for every page).",
    ),
    Setting(
        "crawl_politeness_backend",
        str,
        "memory",
        "Where per-host politeness is kept: 'memory' (one process) or 'redis' (shared by "
        "every crawler using redis_url; falls back to per process, logged, if Redis is down).",
    ),
    Setting(
        "redis_url",
        str,
        "",
        "Redis server shared by crawler processes and workers, e.g. redis://127.0.0.1:6379/0 "
        "(prefer KEEPDOWN_REDIS_URL in the environment if it carries a password).",
    ),
    Setting(
        "crawl_turn_pages",
        int,
        500,
        "Pages a worker fetches from one crawl before another waiting crawl gets its turn "
        "(0: run each crawl to its end).",
    ),
    Setting("crawl_cap_depth", int, 20, "Deepest crawl a report may ask for (max_depth)."),
    Setting("crawl_cap_pages", int, 100_000, "Most pages a report may ask its crawl for."),
    Setting("crawl_cap_bytes", int, 16 * 1024 * MiB, "Most bytes a report may ask its crawl for."),
    Setting(
        "crawl_recrawl_after_hours",
        float,
        24.0,
        "A URL reported again is crawled again if its last crawl finished more than this "
        "many hours ago (0: never crawl a URL twice).",
    ),
    Setting(
        "public_report_rate_limit",
        str,
        "20/hour",
        "Reports (and status checks) one client address may make without a key, through the "
        "public endpoint and the public web form together, in `limits` notation "
        "('' = unlimited).",
    ),
    # --- HTTP API (keepdown serve) ---
    Setting(
        "api_host",
        str,
        "127.0.0.1",
        "Address `keepdown serve` listens on (loopback by default; 0.0.0.0 for all).",
    ),
    Setting("api_port", int, 8000, "TCP port `keepdown serve` listens on."),
    Setting(
        "max_upload_bytes",
        int,
        50 * MiB,
        "Largest request body the API reads (uploads, imports); larger gets 413.",
    ),
    Setting("match_batch_max", int, 1000, "Most hashes one batch match request may carry."),
    Setting(
        "rate_limit_admin",
        str,
        "600/minute",
        "Requests an admin key may make (`limits` notation, e.g. '600/minute'; '' = none).",
    ),
    Setting("rate_limit_analyst", str, "1200/minute", "Requests an analyst key may make."),
    Setting(
        "rate_limit_platform",
        str,
        "600000/minute",
        "Requests a platform (hash and match) key may make.",
    ),
    Setting("rate_limit_provider", str, "120/minute", "Requests a provider key may make."),
    Setting("rate_limit_regulator", str, "120/minute", "Requests a regulator key may make."),
    Setting(
        "rate_limit_storage_url",
        str,
        "",
        "Where rate-limit counters live: '' keeps them in memory (one process); "
        "redis://host:6379/0 shares them between API replicas.",
    ),
    Setting(
        "trusted_proxies",
        tuple,
        (),
        "Networks (CIDR, comma-separated) of the reverse proxies in front of keepdown whose "
        "X-Forwarded-For and X-Forwarded-Proto are believed. Empty: none; the client address is "
        "the TCP peer.",
    ),
    Setting(
        "index_refresh_seconds",
        float,
        2.0,
        "How often the API checks the banks for changes and updates its match index.",
    ),
    Setting(
        "auth_cache_seconds",
        float,
        5.0,
        "How long the API caches a looked-up key; a revocation made in another process "
        "takes effect within this time.",
    ),
    Setting(
        "metrics_token_env",
        str,
        "",
        "Name of an environment variable holding a bearer token for /metrics; "
        "empty means /metrics is public (it carries only counts, never bank contents).",
        secret=True,
    ),
    Setting(
        "operator_organisation",
        str,
        "local",
        "The organisation running this keepdown: its admins manage every organisation's keys, "
        "banks and audit records, its analysts read every bank; other organisations see only "
        "their own (and banks shared with them).",
    ),
    Setting(
        "bank_import_max_bytes",
        int,
        2048 * MiB,
        "Largest bank file one API import may upload (streamed to a temporary file, never held "
        "in memory); larger gets 413.",
    ),
    Setting(
        "rate_limit_fail_open",
        bool,
        False,
        "When the rate-limit store (Redis) cannot be reached: false refuses requests with 503, "
        "true lets them through unlimited (and logs it).",
    ),
    Setting(
        "rate_limit_timeout_seconds",
        float,
        0.5,
        "Longest wait for the rate-limit store (Redis) on one request.",
    ),
    Setting(
        "audit_refusals_per_minute",
        int,
        600,
        "Refused requests (401/403) on privileged endpoints written to the audit log per "
        "minute per process; more are only counted in metrics (0: no cap).",
    ),
    Setting(
        "api_access_log",
        bool,
        False,
        "Log one line per API request (uvicorn's access log); metrics count requests anyway.",
    ),
    Setting(
        "api_workers",
        int,
        1,
        "API worker processes `keepdown serve` runs; each loads its own match index.",
    ),
    # --- notices and takedown (docs/notices.md) ---
    Setting(
        "notice_operator_name",
        str,
        "keepdown operator",
        "Who signs notices to providers (the hotline or organisation running keepdown).",
    ),
    Setting(
        "notice_from_address",
        str,
        "notices@localhost",
        "From address of notice e-mails (its domain also names the Message-IDs).",
    ),
    Setting("notice_reply_to", str, "", "Reply-To address of notice e-mails ('' = none)."),
    Setting(
        "notice_legal_basis_en",
        str,
        "This material is illegal to host or distribute in most jurisdictions. Please remove it "
        "without delay.",
        "Legal and policy basis cited in English notices (the operator's own wording).",
    ),
    Setting(
        "notice_legal_basis_fr",
        str,
        "Ce contenu est illégal à héberger ou à diffuser dans la plupart des pays. Merci de le "
        "retirer sans délai.",
        "Legal and policy basis cited in French notices.",
    ),
    Setting(
        "notice_public_base_url",
        str,
        "http://127.0.0.1:8000",
        "Base URL of the keepdown API as providers reach it; signed response links point here.",
    ),
    Setting(
        "notice_link_days",
        int,
        30,
        "Days a signed response link (acknowledge, report removal, dispute) stays valid.",
    ),
    Setting(
        "notice_link_secret_env",
        str,
        "",
        "Name of an environment variable holding the key that signs response links; empty "
        "means a random key kept in <data_dir>/notice-links.key.",
        secret=True,
    ),
    Setting(
        "provider_secret_key_env",
        str,
        "",
        "Name of an environment variable holding the key (Fernet) that encrypts providers' "
        "webhook secrets in the database; empty means a random key kept in "
        "<data_dir>/provider-secrets.key.",
        secret=True,
    ),
    Setting("smtp_host", str, "127.0.0.1", "SMTP server notice e-mails are sent through."),
    Setting("smtp_port", int, 25, "SMTP server port (587 for STARTTLS submission, 465 for TLS)."),
    Setting(
        "smtp_tls",
        str,
        "starttls",
        "SMTP transport security: 'starttls' (required, not opportunistic), 'tls' (implicit "
        "TLS) or 'none' (loopback relays and tests only).",
    ),
    Setting("smtp_username", str, "", "SMTP login name ('' = no authentication)."),
    Setting(
        "smtp_password_env",
        str,
        "",
        "Name of an environment variable holding the SMTP password.",
        secret=True,
    ),
    Setting("smtp_timeout_seconds", float, 30.0, "Timeout of one SMTP operation."),
    Setting(
        "smtp_ca_file",
        str,
        "",
        "PEM file of the certificates trusted for the SMTP server (an internal relay's own CA); "
        "empty means the system's trust store.",
    ),
    Setting("webhook_timeout_seconds", float, 10.0, "Timeout of one webhook request."),
    Setting(
        "webhook_retries",
        int,
        2,
        "Retries of a webhook within one delivery attempt after a 5xx, 429 or network error.",
    ),
    Setting(
        "webhook_backoff_seconds",
        float,
        1.0,
        "First delay between webhook retries; doubles with each retry.",
    ),
    Setting(
        "notice_delivery_max_attempts",
        int,
        8,
        "Delivery attempts of one notice before it is marked failed for an operator.",
    ),
    Setting(
        "notice_delivery_backoff_seconds",
        float,
        300.0,
        "Wait before a failed delivery is attempted again; doubles with each attempt.",
    ),
    Setting(
        "notice_delivery_lease_seconds",
        float,
        300.0,
        "How long a sender holds a delivery; one still held after that was interrupted.",
    ),
    Setting(
        "notice_recheck_error_hours",
        float,
        1.0,
        "Wait before re-checking a location whose last check failed (an error is not removal).",
    ),
    Setting(
        "notice_watch_days",
        int,
        42,
        "Days a removed location is still re-checked, so the same URL coming back is seen.",
    ),
    Setting(
        "notice_watch_every_hours",
        int,
        168,
        "How often a removed location is re-checked while it is watched.",
    ),
    Setting(
        "notice_worker_seconds",
        float,
        300.0,
        "How often `keepdown serve` drafts, sends and re-checks due notices (0 = never; "
        "run `keepdown notices send-due` / `recheck-due` from a scheduler instead).",
    ),
    Setting(
        "rdap_base_url",
        str,
        "",
        "RDAP service asked for the network and abuse contact of IPs the provider registry "
        "does not know (e.g. https://rdap.org); empty turns RDAP off.",
    ),
    Setting("rdap_timeout_seconds", float, 10.0, "Timeout of one RDAP lookup."),
    # --- web pages and review (keepdown/web, keepdown/review; docs/web.md) ---
    Setting(
        "web_cookie_secure",
        bool,
        True,
        "Mark the session cookie Secure (HTTPS only); turn off only for http://127.0.0.1 "
        "development, never behind a public address.",
    ),
    Setting("web_session_idle_minutes", int, 30, "A web session ends after this long unused."),
    Setting("web_session_max_hours", int, 12, "A web session ends this long after sign-in."),
    Setting(
        "web_login_max_failures",
        int,
        5,
        "Failed sign-ins in a row after which an account is locked for web_lockout_minutes.",
    ),
    Setting("web_lockout_minutes", int, 15, "How long a locked account stays locked."),
    Setting("web_password_min_length", int, 12, "Shortest password a person may choose."),
    Setting("web_totp_issuer", str, "keepdown", "Issuer name shown by authenticator apps."),
    Setting("web_default_language", str, "en", "Interface language when none is chosen (en, fr)."),
    Setting(
        "review_claim_minutes",
        int,
        10,
        "How long an analyst holds a review item; after that another analyst may take it.",
    ),
    Setting("review_skip_minutes", int, 60, "How long an item an analyst skipped stays out of it."),
    Setting(
        "review_media_max_bytes",
        int,
        20 * MiB,
        "Largest media the review page fetches (live, through the SSRF guard) to preview.",
    ),
    Setting("review_preview_max_side", int, 240, "Longest side, in pixels, of a blurred preview."),
    Setting("review_reveal_max_side", int, 480, "Longest side, in pixels, of a revealed image."),
    Setting("review_default_blur", int, 12, "Blur radius new analysts start with (2 to 40)."),
    Setting("review_break_after_reviews", int, 40, "New analysts: suggest a break after N items."),
    Setting(
        "review_break_after_minutes", int, 45, "New analysts: suggest a break after this long."
    ),
    Setting(
        "review_allowlist_pdq_distance",
        int,
        8,
        "A hash within this PDQ distance of an allow-listed candidate (and nearer to it than "
        "to the bank entry) no longer matches that entry.",
    ),
    # --- reports and financial indicators (keepdown/reports, keepdown/finance) ---
    Setting(
        "finance_tlp",
        str,
        "amber",
        "TLP 2.0 marking of financial-indicator exports and alerts: clear, green, amber, "
        "amber+strict or red (docs/finance.md).",
    ),
    Setting(
        "finance_payment_patterns_file",
        str,
        "",
        "TOML file of extra payment services ([[service]] name, pattern with a (?P<merchant>) "
        "group) added before the built-in list; empty: the built-in list only.",
    ),
    Setting(
        "finance_email_window_chars",
        int,
        80,
        "An e-mail address counts as a payment indicator when a payment word is this close.",
    ),
    Setting(
        "finance_max_page_chars",
        int,
        2_000_000,
        "Most characters of one page's text read for payment indicators.",
    ),
    Setting(
        "finance_alert_threshold",
        int,
        2,
        "Confirmed sightings an indicator needs before a new subscription is alerted about it.",
    ),
    Setting(
        "finance_alert_max_attempts",
        int,
        5,
        "Delivery attempts of one alert to a financial institution before it is marked failed.",
    ),
    # --- workers, scans and video (keepdown/tasks, keepdown/scan; docs/operations.md) ---
    Setting(
        "task_queue_url",
        str,
        "",
        "Task queue backend: '' is an embedded SQLite queue at <data_dir>/tasks.sqlite3 (one "
        "machine, no server); redis://host:6379/0 shares the queue between machines; "
        "memory:// keeps it in this process only.",
    ),
    Setting(
        "task_queue_name",
        str,
        "keepdown",
        "Name of the queue (the Redis key prefix): processes with the same URL and name share "
        "work.",
    ),
    Setting("worker_concurrency", int, 2, "Tasks one `keepdown worker` runs at once (threads)."),
    Setting(
        "serve_workers",
        int,
        1,
        "In-process workers `keepdown serve` runs next to the API (0: API only; run "
        "`keepdown worker` elsewhere).",
    ),
    Setting(
        "worker_periodic_seconds",
        float,
        30.0,
        "How often a worker looks in the database for due work (pending crawls, due notices "
        "and re-checks) and queues it.",
    ),
    Setting(
        "worker_crawl_slice_seconds",
        float,
        60.0,
        "Longest one crawl task runs before it hands the rest of the crawl to a new task.",
    ),
    Setting(
        "worker_crawl_slice_urls",
        int,
        200,
        "Most URLs one crawl task leases before it hands the rest of the crawl to a new task.",
    ),
    Setting(
        "worker_crawl_parallelism",
        int,
        2,
        "Crawl tasks queued at once for one crawl (they share its frontier through leases).",
    ),
    Setting(
        "scan_processes",
        int,
        0,
        "Processes `keepdown scan` hashes with (0: one per core).",
    ),
    Setting("scan_batch_size", int, 32, "Items hashed per batch (per task with --distributed)."),
    Setting(
        "scan_max_archive_members",
        int,
        1_000_000,
        "Most members read from one ZIP/TAR archive scanned; the rest are reported skipped.",
    ),
    Setting(
        "scan_max_archive_bytes",
        int,
        64 * 1024 * MiB,
        "Most uncompressed bytes read from one archive scanned; the rest are reported skipped.",
    ),
    Setting(
        "scan_max_member_ratio",
        int,
        200,
        "Largest compression ratio of an archive member; a higher one is a zip bomb, skipped.",
    ),
    Setting(
        "s3_endpoint_url",
        str,
        "",
        "Endpoint of an S3-compatible store for `keepdown scan s3://...` ('' = AWS).",
    ),
    Setting("s3_region", str, "", "Region of the S3 store ('' = boto3's default)."),
    Setting(
        "s3_access_key_env",
        str,
        "",
        "Name of an environment variable holding the S3 access key id ('' = boto3's own "
        "credential chain).",
        secret=True,
    ),
    Setting(
        "s3_secret_key_env",
        str,
        "",
        "Name of an environment variable holding the S3 secret access key.",
        secret=True,
    ),
    Setting(
        "video_seconds_per_hash",
        float,
        1.0,
        "vPDQ: seconds of video between two hashed frames (0: every frame).",
    ),
    Setting(
        "video_downsample",
        int,
        0,
        "vPDQ: scale each frame to N x N pixels before hashing (0: native size; 128 is "
        "faster and what some hash lists use).",
    ),
    Setting("video_max_bytes", int, 500 * MiB, "Largest video file keepdown hashes, in bytes."),
    Setting("video_max_seconds", float, 3600.0, "Longest video keepdown hashes, in seconds."),
    Setting("video_max_frames", int, 20_000, "Most frames hashed from one video."),
    Setting(
        "video_max_pixels",
        int,
        3840 * 2160,
        "Largest video frame (width x height) keepdown decodes.",
    ),
    Setting(
        "vpdq_match_threshold",
        int,
        31,
        "Largest PDQ distance at which two video frames match (vPDQ).",
    ),
    Setting(
        "vpdq_quality_floor",
        int,
        50,
        "Video frames with a PDQ quality below this are left out of vPDQ matching.",
    ),
    Setting(
        "vpdq_query_match_percent",
        float,
        80.0,
        "vPDQ: share of the query video's frames that must match a bank video's frames.",
    ),
    Setting(
        "vpdq_compared_match_percent",
        float,
        0.0,
        "vPDQ: share of the bank video's frames that must match the query's frames.",
    ),
)

_BY_NAME = {s.name: s for s in SETTINGS}


class Settings:
    """Resolved setting values. Read them as attributes: ``settings.max_image_pixels``."""

    def __init__(self, values: Mapping[str, Any]) -> None:
        self._values = dict(values)

    def __getattr__(self, name: str) -> Any:
        try:
            return self._values[name]
        except KeyError:
            raise AttributeError(f"no setting named {name!r}") from None

    def replace(self, **overrides: Any) -> Settings:
        """A copy with some values changed (validated like any other source)."""
        values = dict(self._values)
        for name, raw in overrides.items():
            values[name] = _declared(name).parse(raw)
        return Settings(values)

    def as_dict(self, *, redact: bool = True) -> dict[str, Any]:
        """All values; secret settings are shown as the variable they name, never resolved."""
        return (
            dict(self._values)
            if not redact
            else {
                k: (f"${{{v}}}" if _BY_NAME[k].secret and v else v) for k, v in self._values.items()
            }
        )

    def secret(self, name: str) -> str | None:
        """Resolve a secret setting: read the environment variable it names."""
        setting = _declared(name)
        if not setting.secret:
            raise ConfigurationError(f"setting {name} is not a secret reference")
        ref = self._values[name]
        return os.environ.get(ref) if ref else None

    @property
    def data_path(self) -> Path:
        return Path(self.data_dir).expanduser()

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return str(self.database_url)
        return f"sqlite:///{self.data_path / 'keepdown.sqlite3'}"

    @property
    def index_path(self) -> Path:
        return Path(self.index_dir).expanduser() if self.index_dir else self.data_path / "index"


def _declared(name: str) -> Setting:
    try:
        return _BY_NAME[name]
    except KeyError:
        raise ConfigurationError(f"unknown setting {name!r}") from None


def load_settings(
    *,
    config_file: str | os.PathLike[str] | None = None,
    environ: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> Settings:
    """Resolve every setting from defaults, a TOML file, the environment and overrides."""
    environ = os.environ if environ is None else environ
    values = {s.name: s.default for s in SETTINGS}
    config_file = config_file or environ.get(ENV_PREFIX + "CONFIG")
    if config_file:
        values.update(_read_file(Path(config_file)))
    for setting in SETTINGS:
        if setting.env_var in environ:
            values[setting.name] = setting.parse(environ[setting.env_var])
    for name, raw in (overrides or {}).items():
        values[name] = _declared(name).parse(raw)
    return Settings(values)


def _read_file(path: Path) -> dict[str, Any]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigurationError(f"config file not found: {path}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigurationError(f"config file {path} is not valid TOML: {exc}") from exc
    section = data.get("keepdown", data)
    return {name: _declared(name).parse(raw) for name, raw in section.items()}
