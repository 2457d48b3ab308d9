"""Crawl: reports, the persistent frontier, sightings

Tables live on :data:`keepdown.storage.schema.metadata`; ``schema.py`` imports this module so
the migration check sees them.

- ``crawls``: one crawl (seeds + scope rules + budgets) and its state: ``pending`` ->
  ``running`` -> ``done`` (with a ``reason``), ``paused`` until ``resume_at`` (only far-off
  retries left), ``stopped`` (a racing report won); ``last_turn_at`` orders turns fairly;
- ``crawl_urls``: the frontier of every crawl (what to fetch, depth, not-before, attempts
  (requests sent), lease and its owner, the last error and its class ``failure``); ``key`` is
  the sha256 of ``kind|url|via`` so long URLs never hit index limits;
- ``crawl_unknown_hosts``: hosts a crawl could not attribute to a provider (for analysts);
- ``url_reports``: reported URLs, one row per normalised URL (``url_key``), with a reference;
  ``crawl_id`` is its latest crawl (a re-crawl points it at the new one);
- ``report_submissions``: every time a URL was reported (who, note, outcome); a public
  submission keeps the sha256 of its receipt, the secret that lets it read its status;
- ``sightings``: one media seen at one place at one time (one row per crawl, page, media and
  ZIP member), with hashes, host, attribution and its best bank match. ``state``:
  ``unmatched`` (no bank entry), ``confirmed`` (exact match on a trusted bank),
  ``pending_review`` (near match, or a bank whose trust is ``review``), and ``rejected`` (an
  analyst said it is not the material). Media bytes are never stored.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
)

from keepdown.storage.schema import BigId, Json, UtcDateTime, metadata

__all__ = [
    "crawl_unknown_hosts",
    "crawl_urls",
    "crawls",
    "report_submissions",
    "sightings",
    "url_reports",
]

crawls = Table(
    "crawls",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("seeds", Json, nullable=False),
    Column("same_site", Boolean, nullable=False, server_default=false()),
    Column("max_depth", Integer, nullable=False),
    Column("max_pages", Integer, nullable=False),
    Column("max_bytes", BigInteger, nullable=False),
    Column("include", Json, nullable=False),
    Column("exclude", Json, nullable=False),
    Column("state", String(16), nullable=False, server_default="pending"),
    Column("reason", String(200), nullable=True),
    Column("resume_at", UtcDateTime, nullable=True),
    Column("last_turn_at", UtcDateTime, nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("started_at", UtcDateTime, nullable=True),
    Column("finished_at", UtcDateTime, nullable=True),
    CheckConstraint("state IN ('pending', 'running', 'paused', 'done', 'stopped')", name="state"),
    Index(None, "state"),
)

crawl_urls = Table(
    "crawl_urls",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("crawl_id", Integer, ForeignKey("crawls.id", ondelete="CASCADE"), nullable=False),
    Column("key", String(64), nullable=False),
    Column("kind", String(8), nullable=False),
    Column("url", Text, nullable=False),
    Column("via", Text, nullable=False, server_default=""),
    Column("hint", String(200), nullable=False, server_default=""),
    Column("depth", Integer, nullable=False),
    Column("state", String(16), nullable=False),
    Column("not_before", UtcDateTime, nullable=True),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("last_error", Text, nullable=True),
    Column("lease_token", String(32), nullable=True),
    Column("lease_expires", UtcDateTime, nullable=True),
    Column("bytes_fetched", BigInteger, nullable=False, server_default="0"),
    Column("lease_owner", String(200), nullable=True),
    Column("failure", String(16), nullable=False, server_default=""),
    UniqueConstraint("crawl_id", "key"),
    CheckConstraint("kind IN ('page', 'media')", name="kind"),
    CheckConstraint("state IN ('pending', 'in_progress', 'done', 'failed')", name="state"),
    # The lease's walk: a crawl's pending (or leased) rows of one kind, shallow and old first.
    Index(None, "crawl_id", "state", "kind", "depth", "id"),
)

crawl_unknown_hosts = Table(
    "crawl_unknown_hosts",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("crawl_id", Integer, ForeignKey("crawls.id", ondelete="CASCADE"), nullable=False),
    Column("host", String(255), nullable=False),
    Column("ip", String(45), nullable=False, server_default=""),
    Column("first_seen_at", UtcDateTime, nullable=False),
    UniqueConstraint("crawl_id", "host", "ip"),
)

url_reports = Table(
    "url_reports",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("reference", String(32), nullable=False, unique=True),
    Column("url", Text, nullable=False),
    Column("url_key", String(64), nullable=False, unique=True),
    Column("reporter_type", String(20), nullable=False),
    Column("reporter", String(200), nullable=False, server_default=""),
    Column("note", Text, nullable=False, server_default=""),
    Column("times_reported", Integer, nullable=False, server_default="1"),
    Column("first_reported_at", UtcDateTime, nullable=False),
    Column("last_reported_at", UtcDateTime, nullable=False),
    Column("crawl_id", Integer, ForeignKey("crawls.id", ondelete="SET NULL"), nullable=True),
    CheckConstraint(
        "reporter_type IN ('public', 'trusted_flagger', 'hotline', 'own_initiative')",
        name="reporter_type",
    ),
)

report_submissions = Table(
    "report_submissions",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("report_id", Integer, ForeignKey("url_reports.id", ondelete="CASCADE"), nullable=False),
    Column("reporter_type", String(20), nullable=False),
    Column("reporter", String(200), nullable=False, server_default=""),
    Column("note", Text, nullable=False, server_default=""),
    Column("outcome", String(16), nullable=False),
    Column("receipt_sha256", String(64), nullable=True, unique=True),
    Column("submitted_at", UtcDateTime, nullable=False),
    # an anonymous submission's own reference, and the crawl checking the URL after it
    Column("public_reference", String(32), nullable=True, unique=True),
    Column("crawl_id", Integer, ForeignKey("crawls.id", ondelete="SET NULL"), nullable=True),
    CheckConstraint("outcome IN ('new', 'repeat', 'recrawl')", name="outcome"),
    Index(None, "report_id"),
)

sightings = Table(
    "sightings",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("crawl_id", Integer, ForeignKey("crawls.id", ondelete="SET NULL"), nullable=True),
    # sha256 of crawl|page|media|member: a media re-fetched after a crash is not seen twice.
    Column("sighting_key", String(64), nullable=False, unique=True),
    Column("page_url", Text, nullable=False),
    Column("media_url", Text, nullable=False),
    Column("final_url", Text, nullable=False),
    Column("archive_member", Text, nullable=False, server_default=""),
    Column("found_by", String(100), nullable=False, server_default=""),
    Column("sha256", String(64), nullable=False),
    Column("md5", String(32), nullable=False),
    Column("sha1", String(40), nullable=False),
    Column("pdq", String(64), nullable=True),
    Column("quality", Integer, nullable=True),
    Column("size", BigInteger, nullable=False),
    Column("content_type", String(100), nullable=False, server_default=""),
    Column("http_status", Integer, nullable=False),
    Column("server_ip", String(45), nullable=True),
    Column("seen_at", UtcDateTime, nullable=False),
    # The best bank match (NULL when unmatched).
    Column("bank", String(200), nullable=True),
    Column("entry_id", BigId, ForeignKey("bank_entries.id", ondelete="SET NULL"), nullable=True),
    Column("signal_type", String(16), nullable=True),
    Column("distance", Integer, nullable=True),
    Column("variant", String(40), nullable=True),
    Column("match_type", String(16), nullable=True),
    Column("state", String(16), nullable=False),
    Column("reviewed_at", UtcDateTime, nullable=True),
    Column("reviewed_by", String(200), nullable=True),
    # Attribution (keepdown.crawl.attribution.Attribution). provider_id refers to
    # providers.id; a plain integer until the providers table exists in migration 0003.
    Column("provider_id", Integer, nullable=True),
    Column("provider", String(200), nullable=True),
    Column("asn", BigInteger, nullable=True),
    Column("network", String(64), nullable=True),
    Column("country", String(2), nullable=False, server_default=""),
    Column("abuse_email", String(320), nullable=True),
    Column("attribution_source", String(16), nullable=False, server_default="unknown"),
    CheckConstraint(
        "state IN ('unmatched', 'confirmed', 'pending_review', 'rejected')", name="state"
    ),
    CheckConstraint(
        "match_type IS NULL OR match_type IN ('exact', 'near', 'near (robust)')", name="match_type"
    ),
    Index(None, "state", "seen_at"),
    Index(None, "crawl_id"),
    Index(None, "sha256"),
    Index(None, "provider_id"),
)
