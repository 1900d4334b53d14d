"""focus hours (notifications wait until they end, in the person's own time zone), and
whether a person hears of reactions to their messages

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMN (see 0011): SQLite's batch mode would copy and drop `users`.
    op.add_column("users", sa.Column("time_zone", sa.String(length=64), nullable=True))
    op.add_column("users", sa.Column("focus_from", sa.String(length=5), nullable=True))
    op.add_column("users", sa.Column("focus_until", sa.String(length=5), nullable=True))
    op.add_column(
        "users",
        sa.Column("notify_reactions", sa.Boolean(), nullable=False, server_default=sa.false()),
    )


def downgrade() -> None:
    for column in ("notify_reactions", "focus_until", "focus_from", "time_zone"):
        op.drop_column("users", column)
