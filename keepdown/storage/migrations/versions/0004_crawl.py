"""Crawl: reports, the persistent frontier, sightings (owner: crawler).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

# Frozen copies of the column types as they were at this revision.
TIME = sa.DateTime(timezone=True)
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON_DOC = sa.JSON().with_variant(JSONB(), "postgresql")


def _crawls() -> None:
    op.create_table(
        "crawls",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("seeds", JSON_DOC, nullable=False),
        sa.Column("same_site", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("max_depth", sa.Integer, nullable=False),
        sa.Column("max_pages", sa.Integer, nullable=False),
        sa.Column("max_bytes", sa.BigInteger, nullable=False),
        sa.Column("include", JSON_DOC, nullable=False),
        sa.Column("exclude", JSON_DOC, nullable=False),
        sa.Column("state", sa.String(16), nullable=False, server_default="pending"),
        sa.Column("reason", sa.String(200), nullable=True),
        sa.Column("resume_at", TIME, nullable=True),
        sa.Column("last_turn_at", TIME, nullable=True),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("started_at", TIME, nullable=True),
        sa.Column("finished_at", TIME, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_crawls"),
        sa.CheckConstraint(
            "state IN ('pending', 'running', 'paused', 'done', 'stopped')",
            name="ck_crawls_state",
        ),
    )
    op.create_index("ix_crawls_state", "crawls", ["state"])
    op.create_table(
        "crawl_urls",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("crawl_id", sa.Integer, nullable=False),
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("url", sa.Text, nullable=False),
        sa.Column("via", sa.Text, nullable=False, server_default=""),
        sa.Column("hint", sa.String(200), nullable=False, server_default=""),
        sa.Column("depth", sa.Integer, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("not_before", TIME, nullable=True),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("last_error", sa.Text, nullable=True),
        sa.Column("lease_token", sa.String(32), nullable=True),
        sa.Column("lease_expires", TIME, nullable=True),
        sa.Column("bytes_fetched", sa.BigInteger, nullable=False, server_default="0"),
        sa.PrimaryKeyConstraint("id", name="pk_crawl_urls"),
        sa.UniqueConstraint("crawl_id", "key", name="uq_crawl_urls_crawl_id_key"),
        sa.ForeignKeyConstraint(
            ["crawl_id"], ["crawls.id"], name="fk_crawl_urls_crawl_id_crawls", ondelete="CASCADE"
        ),
        sa.CheckConstraint("kind IN ('page', 'media')", name="ck_crawl_urls_kind"),
        sa.CheckConstraint(
            "state IN ('pending', 'in_progress', 'done', 'failed')", name="ck_crawl_urls_state"
        ),
    )
    op.create_index(
        "ix_crawl_urls_crawl_id_state_kind_depth_id",
        "crawl_urls",
        ["crawl_id", "state", "kind", "depth", "id"],
    )
    op.create_table(
        "crawl_unknown_hosts",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("crawl_id", sa.Integer, nullable=False),
        sa.Column("host", sa.String(255), nullable=False),
        sa.Column("ip", sa.String(45), nullable=False, server_default=""),
        sa.Column("first_seen_at", TIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_crawl_unknown_hosts"),
        sa.UniqueConstraint(
            "crawl_id", "host", "ip", name="uq_crawl_unknown_hosts_crawl_id_host_ip"
        ),
        sa.ForeignKeyConstraint(
            ["crawl_id"],
            ["crawls.id"],
            name="fk_crawl_unknown_hosts_crawl_id_crawls",
            ondelete="CASCADE",
        ),
    )


def _reports() -> None:
    op.create_table(
        "url_reports",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("reference", sa.String(32), nullable=False),
        sa.Column("url", sa.Text, nullable=False),
        sa.Column("url_key", sa.String(64), nullable=False),
        sa.Column("reporter_type", sa.String(20), nullable=False),
        sa.Column("reporter", sa.String(200), nullable=False, server_default=""),
        sa.Column("note", sa.Text, nullable=False, server_default=""),
        sa.Column("times_reported", sa.Integer, nullable=False, server_default="1"),
        sa.Column("first_reported_at", TIME, nullable=False),
        sa.Column("last_reported_at", TIME, nullable=False),
        sa.Column("crawl_id", sa.Integer, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_url_reports"),
        sa.UniqueConstraint("reference", name="uq_url_reports_reference"),
        sa.UniqueConstraint("url_key", name="uq_url_reports_url_key"),
        sa.ForeignKeyConstraint(
            ["crawl_id"], ["crawls.id"], name="fk_url_reports_crawl_id_crawls", ondelete="SET NULL"
        ),
        sa.CheckConstraint(
            "reporter_type IN ('public', 'trusted_flagger', 'hotline', 'own_initiative')",
            name="ck_url_reports_reporter_type",
        ),
    )


def _submissions() -> None:
    op.create_table(
        "report_submissions",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("report_id", sa.Integer, nullable=False),
        sa.Column("reporter_type", sa.String(20), nullable=False),
        sa.Column("reporter", sa.String(200), nullable=False, server_default=""),
        sa.Column("note", sa.Text, nullable=False, server_default=""),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("receipt_sha256", sa.String(64), nullable=True),
        sa.Column("submitted_at", TIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_report_submissions"),
        sa.UniqueConstraint("receipt_sha256", name="uq_report_submissions_receipt_sha256"),
        sa.ForeignKeyConstraint(
            ["report_id"],
            ["url_reports.id"],
            name="fk_report_submissions_report_id_url_reports",
            ondelete="CASCADE",
        ),
        sa.CheckConstraint(
            "outcome IN ('new', 'repeat', 'recrawl')", name="ck_report_submissions_outcome"
        ),
    )
    op.create_index("ix_report_submissions_report_id", "report_submissions", ["report_id"])


def _sightings() -> None:
    op.create_table(
        "sightings",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("crawl_id", sa.Integer, nullable=True),
        sa.Column("sighting_key", sa.String(64), nullable=False),
        sa.Column("page_url", sa.Text, nullable=False),
        sa.Column("media_url", sa.Text, nullable=False),
        sa.Column("final_url", sa.Text, nullable=False),
        sa.Column("archive_member", sa.Text, nullable=False, server_default=""),
        sa.Column("found_by", sa.String(100), nullable=False, server_default=""),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("md5", sa.String(32), nullable=False),
        sa.Column("sha1", sa.String(40), nullable=False),
        sa.Column("pdq", sa.String(64), nullable=True),
        sa.Column("quality", sa.Integer, nullable=True),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("content_type", sa.String(100), nullable=False, server_default=""),
        sa.Column("http_status", sa.Integer, nullable=False),
        sa.Column("server_ip", sa.String(45), nullable=True),
        sa.Column("seen_at", TIME, nullable=False),
        sa.Column("bank", sa.String(200), nullable=True),
        sa.Column("entry_id", BIG_ID, nullable=True),
        sa.Column("signal_type", sa.String(16), nullable=True),
        sa.Column("distance", sa.Integer, nullable=True),
        sa.Column("variant", sa.String(16), nullable=True),
        sa.Column("match_type", sa.String(8), nullable=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("reviewed_at", TIME, nullable=True),
        sa.Column("reviewed_by", sa.String(200), nullable=True),
        sa.Column("provider_id", sa.Integer, nullable=True),
        sa.Column("provider", sa.String(200), nullable=True),
        sa.Column("asn", sa.BigInteger, nullable=True),
        sa.Column("network", sa.String(64), nullable=True),
        sa.Column("country", sa.String(2), nullable=False, server_default=""),
        sa.Column("abuse_email", sa.String(320), nullable=True),
        sa.Column("attribution_source", sa.String(16), nullable=False, server_default="unknown"),
        sa.PrimaryKeyConstraint("id", name="pk_sightings"),
        sa.UniqueConstraint("sighting_key", name="uq_sightings_sighting_key"),
        sa.ForeignKeyConstraint(
            ["crawl_id"], ["crawls.id"], name="fk_sightings_crawl_id_crawls", ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["entry_id"],
            ["bank_entries.id"],
            name="fk_sightings_entry_id_bank_entries",
            ondelete="SET NULL",
        ),
        sa.CheckConstraint(
            "state IN ('unmatched', 'confirmed', 'pending_review', 'rejected')",
            name="ck_sightings_state",
        ),
        sa.CheckConstraint(
            "match_type IS NULL OR match_type IN ('exact', 'near')", name="ck_sightings_match_type"
        ),
    )
    op.create_index("ix_sightings_state_seen_at", "sightings", ["state", "seen_at"])
    op.create_index("ix_sightings_crawl_id", "sightings", ["crawl_id"])
    op.create_index("ix_sightings_sha256", "sightings", ["sha256"])
    op.create_index("ix_sightings_provider_id", "sightings", ["provider_id"])


def upgrade() -> None:
    _crawls()
    _reports()
    _submissions()
    _sightings()


def downgrade() -> None:
    op.drop_table("sightings")
    op.drop_table("report_submissions")
    op.drop_table("url_reports")
    op.drop_table("crawl_unknown_hosts")
    op.drop_table("crawl_urls")
    op.drop_table("crawls")
