"""jobs know their owner and when they were claimed, for a fair claim order; uploads are
counted per owner for the unfinished-uploads quota

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(sa.Column("owner_id", sa.String(length=32), nullable=True))
        batch.add_column(sa.Column("claimed_at", sa.DateTime(), nullable=True))
        batch.create_foreign_key(
            "fk_jobs_owner_id_users", "users", ["owner_id"], ["id"], ondelete="CASCADE"
        )
        batch.create_index("ix_jobs_owner_claimed", ["owner_id", "claimed_at"], unique=False)
    op.execute(
        "UPDATE jobs SET owner_id = "
        "(SELECT messages.author_id FROM messages WHERE messages.id = jobs.message_id)"
    )
    with op.batch_alter_table("uploads") as batch:
        batch.create_index(batch.f("ix_uploads_owner_id"), ["owner_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("uploads") as batch:
        batch.drop_index(batch.f("ix_uploads_owner_id"))
    with op.batch_alter_table("jobs") as batch:
        batch.drop_index("ix_jobs_owner_claimed")
        batch.drop_constraint("fk_jobs_owner_id_users", type_="foreignkey")
        batch.drop_column("claimed_at")
        batch.drop_column("owner_id")
