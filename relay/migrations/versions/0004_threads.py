"""threads, members, link rights and passcodes, guests, listening state, reactions, events

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def _role_enum(name: str, *values: str) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=False, length=16)


def upgrade() -> None:
    op.create_table(
        "threads",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("owner_id", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("last_activity_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["owner_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_threads_last_activity_at", "threads", ["last_activity_at"])
    # Every existing thread: its owner is the author of its earliest message.
    op.execute(
        "INSERT INTO threads (id, owner_id, created_at, last_activity_at) "
        "SELECT m.thread_id, (SELECT f.author_id FROM messages f WHERE f.thread_id = m.thread_id "
        "ORDER BY f.created_at, f.id LIMIT 1), MIN(m.created_at), MAX(m.created_at) "
        "FROM messages m GROUP BY m.thread_id"
    )
    with op.batch_alter_table("messages") as batch_op:
        batch_op.add_column(sa.Column("at", sa.Float(), nullable=True))
    with op.batch_alter_table("share_links") as batch_op:
        batch_op.add_column(sa.Column("thread_id", sa.String(length=32), nullable=True))
        batch_op.add_column(
            sa.Column(
                "rights",
                _role_enum("linkrights", "view", "reply"),
                nullable=False,
                server_default="reply",
            )
        )
        batch_op.add_column(
            sa.Column("label", sa.String(length=200), nullable=False, server_default="")
        )
        batch_op.add_column(sa.Column("passcode_hash", sa.String(length=200), nullable=True))
    op.execute(
        "UPDATE share_links SET thread_id = "
        "(SELECT m.thread_id FROM messages m WHERE m.id = share_links.message_id)"
    )
    with op.batch_alter_table("share_links") as batch_op:
        batch_op.alter_column("thread_id", existing_type=sa.String(length=32), nullable=False)
        batch_op.alter_column("rights", server_default=None)
        batch_op.alter_column("label", server_default=None)
        batch_op.create_index("ix_share_links_thread_id", ["thread_id"])
        batch_op.create_foreign_key(
            "fk_share_links_thread_id", "threads", ["thread_id"], ["id"], ondelete="CASCADE"
        )
    op.create_table(
        "thread_members",
        sa.Column("thread_id", sa.String(length=32), nullable=False),
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.Column("role", _role_enum("memberrole", "owner", "member", "viewer"), nullable=False),
        sa.Column("via_link", sa.String(length=64), nullable=True),
        sa.Column("joined_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["thread_id"], ["threads.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["via_link"], ["share_links.token"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("thread_id", "user_id"),
    )
    op.create_index("ix_thread_members_user_id", "thread_members", ["user_id"])
    op.execute(
        "INSERT INTO thread_members (thread_id, user_id, role, joined_at) "
        "SELECT m.thread_id, m.author_id, "
        "CASE WHEN m.author_id = t.owner_id THEN 'owner' ELSE 'member' END, MIN(m.created_at) "
        "FROM messages m JOIN threads t ON t.id = m.thread_id "
        "GROUP BY m.thread_id, m.author_id, t.owner_id"
    )
    op.create_table(
        "guests",
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.Column("link_token", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["link_token"], ["share_links.token"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("user_id"),
    )
    op.create_index("ix_guests_link_token", "guests", ["link_token"])
    op.create_table(
        "listens",
        sa.Column("message_id", sa.String(length=32), nullable=False),
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.Column("position", sa.Float(), nullable=False),
        sa.Column("heard", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["message_id"], ["messages.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("message_id", "user_id"),
    )
    op.create_index("ix_listens_user_id", "listens", ["user_id"])
    op.create_table(
        "reactions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("message_id", sa.String(length=32), nullable=False),
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.Column("emoji", sa.String(length=32), nullable=False),
        sa.Column("at", sa.Float(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["message_id"], ["messages.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_reactions_message_id", "reactions", ["message_id"])
    op.create_table(
        "events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("thread_id", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("message_id", sa.String(length=32), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_events_thread_id", "events", ["thread_id"])


def downgrade() -> None:
    op.drop_table("events")
    op.drop_table("reactions")
    op.drop_table("listens")
    op.drop_table("guests")
    op.drop_table("thread_members")
    with op.batch_alter_table("share_links") as batch_op:
        batch_op.drop_constraint("fk_share_links_thread_id", type_="foreignkey")
        batch_op.drop_index("ix_share_links_thread_id")
        batch_op.drop_column("passcode_hash")
        batch_op.drop_column("label")
        batch_op.drop_column("rights")
        batch_op.drop_column("thread_id")
    with op.batch_alter_table("messages") as batch_op:
        batch_op.drop_column("at")
    op.drop_table("threads")
