"""A public report of its own: each anonymous submission's reference and the crawl that checks it.

``report_submissions.public_reference`` is the reference an anonymous reporter gets (never the
staff report's, which would tell them the URL was known), and ``report_submissions.crawl_id``
the crawl that checks the URL after their report: what their status follows (issue 16).

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("report_submissions") as batch:
        batch.add_column(sa.Column("public_reference", sa.String(32), nullable=True))
        batch.add_column(sa.Column("crawl_id", sa.Integer, nullable=True))
        batch.create_unique_constraint(
            "uq_report_submissions_public_reference", ["public_reference"]
        )
        batch.create_foreign_key(
            "fk_report_submissions_crawl_id_crawls",
            "crawls",
            ["crawl_id"],
            ["id"],
            ondelete="SET NULL",
        )


def downgrade() -> None:
    with op.batch_alter_table("report_submissions") as batch:
        batch.drop_constraint("fk_report_submissions_crawl_id_crawls", type_="foreignkey")
        batch.drop_constraint("uq_report_submissions_public_reference", type_="unique")
        batch.drop_column("crawl_id")
        batch.drop_column("public_reference")
