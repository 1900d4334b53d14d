"""share-link tokens stored hashed; guest sessions bound to their link

The primary key of share_links becomes the SHA-256 of the token (`key`), and links get a
`seed` from which the server re-derives new tokens with its secret key. Links made before
keep working but cannot be shown again. Sessions get `link_key`: a guest's session belongs
to one link and ends with it. Passcode guesses move to the throttles table.

Downgrading keeps the hashes: links stop opening under the older code.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01
"""

from __future__ import annotations

import hashlib

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

# Columns that hold a link's token (after this migration: its key).
_LINK_COLUMNS = (("share_links", "key"), ("thread_members", "via_link"), ("guests", "link_key"))


def _is_postgresql() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def _relink(fks: bool) -> None:
    """Drop (False) or create (True) the foreign keys onto share_links on PostgreSQL; SQLite
    defers its checks to the commit instead, and rewrites them on rename by itself."""
    if not _is_postgresql():
        if not fks:
            op.execute("PRAGMA defer_foreign_keys = ON")
        return
    for table, column in _LINK_COLUMNS[1:]:
        name = f"{table}_{column}_fkey"
        if fks:
            op.create_foreign_key(name, table, "share_links", [column], ["key"], ondelete="CASCADE")
        else:
            op.drop_constraint(name, table, type_="foreignkey")


def upgrade() -> None:
    bind = op.get_bind()
    if _is_postgresql():
        op.drop_constraint("thread_members_via_link_fkey", "thread_members", type_="foreignkey")
        op.drop_constraint("guests_link_token_fkey", "guests", type_="foreignkey")
    else:
        op.execute("PRAGMA defer_foreign_keys = ON")
    op.execute('ALTER TABLE share_links RENAME COLUMN token TO "key"')
    op.execute("ALTER TABLE guests RENAME COLUMN link_token TO link_key")
    op.drop_index("ix_guests_link_token", table_name="guests")
    op.create_index("ix_guests_link_key", "guests", ["link_key"])
    op.execute("ALTER TABLE share_links ADD COLUMN seed VARCHAR(32)")
    op.execute("ALTER TABLE share_links DROP COLUMN guesses")
    op.execute("ALTER TABLE share_links DROP COLUMN guesses_since")
    tokens = [row[0] for row in bind.execute(sa.text('SELECT "key" FROM share_links'))]
    for token in tokens:
        key = hashlib.sha256(token.encode()).hexdigest()
        for table, column in _LINK_COLUMNS:
            bind.execute(
                sa.text(f'UPDATE {table} SET "{column}" = :key WHERE "{column}" = :token'),
                {"key": key, "token": token},
            )
    _relink(True)
    with op.batch_alter_table("sessions") as batch:  # SQLite: sessions has no dependants
        batch.add_column(sa.Column("link_key", sa.String(length=64), nullable=True))
        batch.create_foreign_key(
            "fk_sessions_link_key", "share_links", ["link_key"], ["key"], ondelete="CASCADE"
        )
    op.create_index("ix_sessions_link_key", "sessions", ["link_key"])
    # Sessions of guests made before: bound to their link from now on.
    op.execute(
        "UPDATE sessions SET link_key = "
        "(SELECT g.link_key FROM guests g WHERE g.user_id = sessions.user_id) "
        "WHERE user_id IN (SELECT user_id FROM guests)"
    )


def downgrade() -> None:
    op.drop_index("ix_sessions_link_key", table_name="sessions")
    with op.batch_alter_table("sessions") as batch:
        batch.drop_column("link_key")
    _relink(False)
    op.execute('ALTER TABLE share_links RENAME COLUMN "key" TO token')
    op.execute("ALTER TABLE guests RENAME COLUMN link_key TO link_token")
    op.drop_index("ix_guests_link_key", table_name="guests")
    op.create_index("ix_guests_link_token", "guests", ["link_token"])
    op.execute("ALTER TABLE share_links DROP COLUMN seed")
    op.execute("ALTER TABLE share_links ADD COLUMN guesses INTEGER DEFAULT 0 NOT NULL")
    op.execute("ALTER TABLE share_links ADD COLUMN guesses_since TIMESTAMP")
    if _is_postgresql():
        for table, column in (("thread_members", "via_link"), ("guests", "link_token")):
            op.create_foreign_key(
                f"{table}_{column}_fkey",
                table,
                "share_links",
                [column],
                ["token"],
                ondelete="CASCADE",
            )
