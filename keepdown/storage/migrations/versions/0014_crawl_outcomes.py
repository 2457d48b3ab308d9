"""Crawl outcomes a person can read: a lease's owner and a failure's class (owner: walkthrough).

1. ``crawl_urls.lease_owner``: the worker holding the lease (``keepdown.crawl.workers``), so a
   restarted worker can take back at once the leases of a worker it knows is dead;
2. ``crawl_urls.failure``: the class of ``last_error`` (``dns``, ``refused``, ``timeout``,
   ``blocked``, ``robots``, ``http``...), what a reported URL's outcome and the crawl summary
   count. Rows failed before this migration are classed from their ``last_error`` text.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

# The error codes the crawler wrote before (``f"{code}: {message}"``), by class.
_BACKFILL = (
    ("blocked", "last_error LIKE 'blocked_address:%'"),
    ("robots", "last_error LIKE 'robots_disallowed:%'"),
    ("dns", "last_error LIKE 'fetch_error: cannot resolve host%'"),
    ("dns", "last_error LIKE 'fetch_error: host % resolved to no address%'"),
    ("timeout", "last_error LIKE 'fetch_error: fetching % timed out%'"),
    ("http", "last_error LIKE 'HTTP %'"),
    ("too_large", "last_error LIKE 'too_large:%'"),
    ("not_media", "last_error LIKE 'not_media:%'"),
    ("worker_died", "last_error = 'lease expired on every attempt'"),
    ("refused", "last_error LIKE 'fetch_error:%refused%'"),
    ("network", "last_error LIKE 'fetch_error:%'"),
    ("invalid", "last_error LIKE 'invalid_input:%'"),
)


def upgrade() -> None:
    op.add_column("crawl_urls", sa.Column("lease_owner", sa.String(200), nullable=True))
    op.add_column(
        "crawl_urls", sa.Column("failure", sa.String(16), nullable=False, server_default="")
    )
    for failure, condition in _BACKFILL:
        op.execute(
            f"UPDATE crawl_urls SET failure = '{failure}' "  # the constants above
            f"WHERE failure = '' AND last_error IS NOT NULL AND {condition}"
        )


def downgrade() -> None:
    with op.batch_alter_table("crawl_urls") as batch:
        batch.drop_column("failure")
        batch.drop_column("lease_owner")
