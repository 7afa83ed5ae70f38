"""Add what the REST API sets: room passwords, durations, start and end times.

Room names chosen by API callers can be used again once their meeting has ended, so
the slug is unique only among open meetings.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-05
"""

import sqlalchemy as sa
from alembic import op

from parley.storage.models import UtcDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

OPEN_ONLY = sa.text("state = 'open'")


def upgrade() -> None:
    with op.batch_alter_table("meetings") as table:
        table.add_column(sa.Column("password_hash", sa.String(256), nullable=True))
        table.add_column(sa.Column("duration_seconds", sa.Integer(), nullable=True))
        table.add_column(sa.Column("started_at", UtcDateTime(), nullable=True))
        table.add_column(sa.Column("ends_at", UtcDateTime(), nullable=True))
    op.drop_index("ix_meetings_slug", table_name="meetings")
    op.create_index("ix_meetings_slug", "meetings", ["slug"])
    op.create_index(
        "uq_meetings_open_slug",
        "meetings",
        ["slug"],
        unique=True,
        sqlite_where=OPEN_ONLY,
        postgresql_where=OPEN_ONLY,
    )


def downgrade() -> None:
    # Fails if a slug was used again after its meeting ended, as 0001 allows no such
    # repeat; delete the older meetings first.
    op.drop_index("uq_meetings_open_slug", table_name="meetings")
    op.drop_index("ix_meetings_slug", table_name="meetings")
    op.create_index("ix_meetings_slug", "meetings", ["slug"], unique=True)
    with op.batch_alter_table("meetings") as table:
        table.drop_column("ends_at")
        table.drop_column("started_at")
        table.drop_column("duration_seconds")
        table.drop_column("password_hash")
