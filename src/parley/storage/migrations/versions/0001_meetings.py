"""Create meetings and participants.

Revision ID: 0001
Revises:
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

from parley.storage.models import UtcDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "meetings",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("slug", sa.String(96), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("janus_room_id", sa.BigInteger(), nullable=False, unique=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("team_id", sa.String(64), nullable=False),
        sa.Column("team_domain", sa.String(128), nullable=False),
        sa.Column("channel_id", sa.String(64), nullable=False),
        sa.Column("channel_name", sa.String(128), nullable=False),
        sa.Column("user_id", sa.String(64), nullable=False),
        sa.Column("user_name", sa.String(128), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("ended_at", UtcDateTime(), nullable=True),
    )
    op.create_index("ix_meetings_slug", "meetings", ["slug"], unique=True)
    op.create_index("ix_meetings_state", "meetings", ["state"])
    op.create_index("ix_meetings_channel_id", "meetings", ["channel_id"])
    op.create_table(
        "participants",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column(
            "meeting_id",
            sa.String(32),
            sa.ForeignKey("meetings.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("joined_at", UtcDateTime(), nullable=False),
        sa.Column("left_at", UtcDateTime(), nullable=True),
    )
    op.create_index("ix_participants_meeting_id", "participants", ["meeting_id"])


def downgrade() -> None:
    op.drop_table("participants")
    op.drop_table("meetings")
