"""Add what the channel bot needs: the outbox, its posts and the signing key.

Meetings also learn the thread they were started in and whether they end once
everyone has left.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

from parley.storage.models import UtcDateTime

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("meetings") as table:
        table.add_column(
            sa.Column("root_id", sa.String(64), nullable=False, server_default="")
        )
        table.add_column(
            sa.Column(
                "ends_when_empty",
                sa.Boolean(),
                nullable=False,
                server_default=sa.false(),
            )
        )

    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("post_key", sa.String(96), nullable=False, index=True),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("channel_id", sa.String(64), nullable=False),
        sa.Column("root_id", sa.String(64), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("fallback", sa.Text(), nullable=True),
        sa.Column("state", sa.String(16), nullable=False, index=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("next_attempt_at", UtcDateTime(), nullable=False),
        sa.Column("claimed_until", UtcDateTime(), nullable=True),
        sa.Column("finished_at", UtcDateTime(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
    )
    op.create_table(
        "bot_posts",
        sa.Column("post_key", sa.String(96), primary_key=True),
        sa.Column("post_id", sa.String(64), nullable=False),
        sa.Column("channel_id", sa.String(64), nullable=False),
    )
    op.create_table(
        "parley_keys",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("value", sa.String(256), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("parley_keys")
    op.drop_table("bot_posts")
    op.drop_table("outbox")
    with op.batch_alter_table("meetings") as table:
        table.drop_column("ends_when_empty")
        table.drop_column("root_id")
