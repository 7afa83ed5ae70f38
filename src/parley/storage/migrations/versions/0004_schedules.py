"""Add scheduled meetings.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

from parley.storage.models import UtcDateTime

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "schedules",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("short_id", sa.String(16), nullable=False, unique=True),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("zone", sa.String(64), nullable=False),
        sa.Column("first_start", UtcDateTime(), nullable=False),
        sa.Column("next_start", UtcDateTime(), nullable=False),
        sa.Column("next_due_at", UtcDateTime(), nullable=False),
        sa.Column("remind_seconds", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False, index=True),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("channel_id", sa.String(64), nullable=False, index=True),
        sa.Column("channel_name", sa.String(128), nullable=False),
        sa.Column("team_id", sa.String(64), nullable=False),
        sa.Column("root_id", sa.String(64), nullable=False),
        sa.Column("organiser_id", sa.String(64), nullable=False),
        sa.Column("organiser_name", sa.String(128), nullable=False),
        sa.Column("invitees", sa.Text(), nullable=False),
        sa.Column("days", sa.String(16), nullable=True),
        sa.Column("local_time", sa.String(8), nullable=True),
        sa.Column("reminded_start", UtcDateTime(), nullable=True),
        sa.Column("opened_start", UtcDateTime(), nullable=True),
        sa.Column("cancelled_at", UtcDateTime(), nullable=True),
        sa.Column("sequence", sa.Integer(), nullable=False),
    )
    op.create_index("ix_schedules_state_due", "schedules", ["state", "next_due_at"])


def downgrade() -> None:
    op.drop_table("schedules")
