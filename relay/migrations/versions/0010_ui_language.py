"""the language of a person's pages, kept on their account

The page language lives in a cookie of each browser; the account keeps the one last chosen
(at sign-in or on the profile page), so a job can use it: transcription falls back on it when
detecting a message's language is unsure.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("ui_language", sa.String(length=8), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_column("ui_language")
