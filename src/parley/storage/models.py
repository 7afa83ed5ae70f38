"""SQLAlchemy tables: meetings and the participants who took part in them."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator


class UtcDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every backend.

    SQLite stores no offset, so values are normalised to UTC on the way in and marked
    as UTC on the way out. Naive datetimes are rejected rather than guessed.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(
        self, value: datetime | None, dialect: object
    ) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}; Parley stores aware UTC times")
        return value.astimezone(UTC)

    def process_result_value(
        self, value: datetime | None, dialect: object
    ) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    pass


class MeetingRow(Base):
    __tablename__ = "meetings"
    # A room name can be used again once its meeting has ended.
    __table_args__ = (
        Index(
            "uq_meetings_open_slug",
            "slug",
            unique=True,
            sqlite_where=text("state = 'open'"),
            postgresql_where=text("state = 'open'"),
        ),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    slug: Mapped[str] = mapped_column(String(96), index=True)
    title: Mapped[str] = mapped_column(Text)
    janus_room_id: Mapped[int] = mapped_column(BigInteger, unique=True)
    state: Mapped[str] = mapped_column(String(16), index=True)
    team_id: Mapped[str] = mapped_column(String(64), default="")
    team_domain: Mapped[str] = mapped_column(String(128), default="")
    channel_id: Mapped[str] = mapped_column(String(64), default="", index=True)
    channel_name: Mapped[str] = mapped_column(String(128), default="")
    user_id: Mapped[str] = mapped_column(String(64), default="")
    user_name: Mapped[str] = mapped_column(String(128), default="")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    password_hash: Mapped[str | None] = mapped_column(String(256), nullable=True)
    duration_seconds: Mapped[int | None] = mapped_column(Integer, nullable=True)
    started_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    ends_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    root_id: Mapped[str] = mapped_column(String(64), default="")
    ends_when_empty: Mapped[bool] = mapped_column(Boolean, default=False)


class ParticipantRow(Base):
    __tablename__ = "participants"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    meeting_id: Mapped[str] = mapped_column(
        ForeignKey("meetings.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(128))
    joined_at: Mapped[datetime] = mapped_column(UtcDateTime())
    left_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)


class OutboxRow(Base):
    """A call to Mattermost's API waiting to be made, or made already.

    Rows of one post (`post_key`) are delivered in `id` order; see
    parley.mattermost.outbox.
    """

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    post_key: Mapped[str] = mapped_column(String(96), index=True)
    action: Mapped[str] = mapped_column(String(16))  # "create" or "patch"
    channel_id: Mapped[str] = mapped_column(String(64), default="")
    root_id: Mapped[str] = mapped_column(String(64), default="")
    body: Mapped[str] = mapped_column(Text)  # JSON: message and props
    # A slash command's response_url and the reply to post there if the bot
    # cannot post in the channel (JSON), or None.
    fallback: Mapped[str | None] = mapped_column(Text, nullable=True)
    state: Mapped[str] = mapped_column(String(16), index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    next_attempt_at: Mapped[datetime] = mapped_column(UtcDateTime())
    claimed_until: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)


class BotPostRow(Base):
    """The Mattermost post that a `post_key` became."""

    __tablename__ = "bot_posts"

    post_key: Mapped[str] = mapped_column(String(96), primary_key=True)
    post_id: Mapped[str] = mapped_column(String(64))
    channel_id: Mapped[str] = mapped_column(String(64))


class KeyRow(Base):
    """A secret Parley generates once and keeps, such as the button signing key."""

    __tablename__ = "parley_keys"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(String(256))


class ScheduleRow(Base):
    """A meeting scheduled from a channel; see parley.scheduling.model."""

    __tablename__ = "schedules"
    # The scheduler's two queries filter on the state and order by the due time.
    __table_args__ = (Index("ix_schedules_state_due", "state", "next_due_at"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    short_id: Mapped[str] = mapped_column(String(16), unique=True)
    title: Mapped[str] = mapped_column(Text)
    zone: Mapped[str] = mapped_column(String(64))
    first_start: Mapped[datetime] = mapped_column(UtcDateTime())
    next_start: Mapped[datetime] = mapped_column(UtcDateTime())
    # next_start, or the reminder before it while that is still to be posted. It is
    # a column so that finding the due meetings is one indexed query.
    next_due_at: Mapped[datetime] = mapped_column(UtcDateTime())
    remind_seconds: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(16), index=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    channel_id: Mapped[str] = mapped_column(String(64), index=True)
    channel_name: Mapped[str] = mapped_column(String(128))
    team_id: Mapped[str] = mapped_column(String(64))
    root_id: Mapped[str] = mapped_column(String(64))
    organiser_id: Mapped[str] = mapped_column(String(64))
    organiser_name: Mapped[str] = mapped_column(String(128))
    invitees: Mapped[str] = mapped_column(Text)  # space-separated usernames
    days: Mapped[str | None] = mapped_column(String(16), nullable=True)  # "0,1,2"
    local_time: Mapped[str | None] = mapped_column(String(8), nullable=True)  # "09:30"
    reminded_start: Mapped[datetime | None] = mapped_column(
        UtcDateTime(), nullable=True
    )
    opened_start: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    cancelled_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    sequence: Mapped[int] = mapped_column(Integer)
