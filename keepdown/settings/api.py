"""The HTTP API of ``keepdown serve`` (keepdown.api; docs/api.md).

Each attribute is one setting (:mod:`keepdown.settings.setting`); docs/settings.md lists them.
"""

from __future__ import annotations

from keepdown.settings.setting import MiB, flag, integer, names, number, secret_ref, text

__all__ = ["ApiSettings"]


class ApiSettings:
    """The HTTP API (keepdown serve)."""

    api_host = text(
        "127.0.0.1",
        "Address `keepdown serve` listens on (loopback by default; 0.0.0.0 for all).",
    )
    api_port = integer(8000, "TCP port `keepdown serve` listens on.", minimum=0, maximum=65535)
    max_upload_bytes = integer(
        50 * MiB,
        "Largest request body the API reads (uploads, imports); larger gets 413.",
        minimum=1,
    )
    match_batch_max = integer(1000, "Most hashes one batch match request may carry.", minimum=1)
    rate_limit_admin = text(
        "600/minute",
        "Requests an admin key may make (`limits` notation, e.g. '600/minute'; '' = none).",
    )
    rate_limit_analyst = text("1200/minute", "Requests an analyst key may make.")
    rate_limit_platform = text(
        "600000/minute",
        "Requests a platform (hash and match) key may make.",
    )
    rate_limit_provider = text("120/minute", "Requests a provider key may make.")
    rate_limit_regulator = text("120/minute", "Requests a regulator key may make.")
    rate_limit_peer = text(
        "6000/minute", "Requests a peer hotline's key may make (bank pages, referrals)."
    )
    rate_limit_licensee = text(
        "120/minute", "Requests a block list licensee key may make (a full-hash lookup is one)."
    )
    rate_limit_storage_url = text(
        "",
        "Where rate-limit counters live: '' keeps them in memory (one process); "
        "redis://host:6379/0 shares them between API replicas.",
    )
    trusted_proxies = names(
        (),
        "Networks (CIDR, comma-separated) of the reverse proxies in front of keepdown whose "
        "X-Forwarded-For and X-Forwarded-Proto are believed. Empty: none; the client address is "
        "the TCP peer.",
    )
    index_refresh_seconds = number(
        2.0,
        "How often the API checks the banks for changes and updates its match index.",
        above=0,
    )
    auth_cache_seconds = number(
        5.0,
        "How long the API caches a looked-up key; a revocation made in another process "
        "takes effect within this time.",
        minimum=0,
    )
    metrics_token_env = secret_ref(
        "Name of an environment variable holding a bearer token for /metrics; "
        "empty means /metrics is public (it carries only counts, never bank contents).",
    )
    operator_organisation = text(
        "local",
        "The organisation running this keepdown: its admins manage every organisation's keys, "
        "banks and audit records, its analysts read every bank; other organisations see only "
        "their own (and banks shared with them).",
    )
    bank_import_max_bytes = integer(
        2048 * MiB,
        "Largest bank file one API import may upload (streamed to a temporary file, never held "
        "in memory); larger gets 413.",
        minimum=1,
    )
    rate_limit_fail_open = flag(
        False,
        "When the rate-limit store (Redis) cannot be reached: false refuses requests with 503, "
        "true lets them through unlimited (and logs it).",
    )
    rate_limit_timeout_seconds = number(
        0.5,
        "Longest wait for the rate-limit store (Redis) on one request.",
        above=0,
    )
    audit_refusals_per_minute = integer(
        600,
        "Refused requests (401/403) on privileged endpoints written to the audit log per "
        "minute per process; more are only counted in metrics (0: no cap).",
        minimum=0,
    )
    api_access_log = flag(
        False,
        "Log one line per API request (uvicorn's access log); metrics count requests anyway.",
    )
    hash_threads = integer(
        0,
        "Pictures one API worker process hashes at once (uploads, URL checks); 0: the machine's "
        "cores divided by api_workers, at least one. Hashing holds the GIL, so more only queues "
        "and, with several workers, oversubscribes the cores.",
        minimum=0,
    )
    api_workers = integer(
        1,
        "API worker processes `keepdown serve` runs; each loads its own match index.",
        minimum=1,
    )
