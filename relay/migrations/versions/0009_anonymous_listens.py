"""listening through a link without a name: counted per browser, never named

A visitor of a share link who plays a message without giving a name is one row per message,
keyed by the link and the SHA-256 of a signed random id kept in a cookie below the link's
path. Revoking a link keeps its rows, so past counts stay.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "anonymous_listens",
        sa.Column("message_id", sa.String(length=32), nullable=False),
        sa.Column("link_key", sa.String(length=64), nullable=False),
        sa.Column("listener", sa.String(length=64), nullable=False),
        sa.Column("position", sa.Float(), nullable=False),
        sa.Column("heard", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["message_id"], ["messages.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["link_key"], ["share_links.key"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("message_id", "link_key", "listener"),
    )
    op.create_index("ix_anonymous_listens_link_key", "anonymous_listens", ["link_key"])


def downgrade() -> None:
    op.drop_index("ix_anonymous_listens_link_key", table_name="anonymous_listens")
    op.drop_table("anonymous_listens")
