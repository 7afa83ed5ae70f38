"""The meeting store on SQLAlchemy: turns rows into domain values and back."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import case, func, select, update

from parley.meetings.model import Meeting, MeetingState, Origin, ParticipantRecord
from parley.storage.database import Database
from parley.storage.models import MeetingRow, ParticipantRow


class SqlMeetingStore:
    def __init__(self, database: Database) -> None:
        self._sessions = database.sessions
        self._write = database.write

    async def add_meeting(self, meeting: Meeting) -> None:
        async with self._write() as session:
            session.add(_to_row(meeting))

    async def get_meeting(self, slug: str) -> Meeting | None:
        """Return the open meeting with that slug, else the newest ended one."""
        open_first = case((MeetingRow.state == MeetingState.OPEN.value, 0), else_=1)
        async with self._sessions() as session:
            row = await session.scalar(
                select(MeetingRow)
                .where(MeetingRow.slug == slug)
                .order_by(open_first, MeetingRow.created_at.desc())
                .limit(1)
            )
        return None if row is None else _from_row(row)

    async def list_meetings(
        self, *, state: MeetingState | None = None, limit: int = 100
    ) -> list[Meeting]:
        """Return meetings, newest first."""
        query = select(MeetingRow).order_by(MeetingRow.created_at.desc()).limit(limit)
        if state is not None:
            query = query.where(MeetingRow.state == state.value)
        async with self._sessions() as session:
            rows = await session.scalars(query)
            return [_from_row(row) for row in rows]

    async def list_open_in_channel(self, channel_id: str) -> list[Meeting]:
        """Return the channel's open meetings started there, newest first."""
        query = (
            select(MeetingRow)
            .where(
                MeetingRow.channel_id == channel_id,
                MeetingRow.state == MeetingState.OPEN.value,
                MeetingRow.ends_when_empty.is_(True),
            )
            .order_by(MeetingRow.created_at.desc())
            .limit(50)
        )
        async with self._sessions() as session:
            rows = await session.scalars(query)
            return [_from_row(row) for row in rows]

    async def list_participants(self, meeting: Meeting) -> list[ParticipantRecord]:
        """Return everyone who joined the meeting, in the order they joined."""
        async with self._sessions() as session:
            rows = await session.scalars(
                select(ParticipantRow)
                .where(ParticipantRow.meeting_id == meeting.id)
                .order_by(ParticipantRow.joined_at, ParticipantRow.id)
            )
            return [
                ParticipantRecord(row.id, row.name, row.joined_at, row.left_at)
                for row in rows
            ]

    async def save_access(self, meeting: Meeting) -> None:
        """Store the meeting's password hash, duration, start and end times."""
        async with self._write() as session:
            await session.execute(
                update(MeetingRow)
                .where(MeetingRow.id == meeting.id)
                .values(
                    password_hash=meeting.password_hash,
                    duration_seconds=_seconds(meeting.duration),
                    started_at=meeting.started_at,
                    ends_at=meeting.ends_at,
                )
            )

    async def set_state(
        self, meeting: Meeting, state: MeetingState, *, at: datetime | None = None
    ) -> None:
        meeting.move_to(state)
        if state is MeetingState.ENDED:
            meeting.ended_at = at

        async with self._write() as session:
            await session.execute(
                update(MeetingRow)
                .where(MeetingRow.id == meeting.id)
                .values(state=meeting.state.value, ended_at=meeting.ended_at)
            )

    async def count_meetings(self) -> int:
        async with self._sessions() as session:
            return (
                await session.scalar(select(func.count()).select_from(MeetingRow)) or 0
            )

    async def add_participant(
        self, meeting: Meeting, participant_id: str, name: str, joined_at: datetime
    ) -> None:
        async with self._write() as session:
            session.add(
                ParticipantRow(
                    id=participant_id,
                    meeting_id=meeting.id,
                    name=name,
                    joined_at=joined_at,
                )
            )

    async def mark_participant_left(
        self, participant_id: str, left_at: datetime
    ) -> None:
        async with self._write() as session:
            await session.execute(
                update(ParticipantRow)
                .where(ParticipantRow.id == participant_id)
                .values(left_at=left_at)
            )


def _to_row(meeting: Meeting) -> MeetingRow:
    origin = meeting.origin
    return MeetingRow(
        id=meeting.id,
        slug=meeting.slug,
        title=meeting.title,
        janus_room_id=meeting.janus_room_id,
        state=meeting.state.value,
        team_id=origin.team_id,
        team_domain=origin.team_domain,
        channel_id=origin.channel_id,
        channel_name=origin.channel_name,
        user_id=origin.user_id,
        user_name=origin.user_name,
        created_at=meeting.created_at,
        ended_at=meeting.ended_at,
        password_hash=meeting.password_hash,
        duration_seconds=_seconds(meeting.duration),
        started_at=meeting.started_at,
        ends_at=meeting.ends_at,
        root_id=origin.root_id,
        ends_when_empty=meeting.ends_when_empty,
    )


def _seconds(duration: timedelta | None) -> int | None:
    return None if duration is None else int(duration.total_seconds())


def _from_row(row: MeetingRow) -> Meeting:
    return Meeting(
        id=row.id,
        slug=row.slug,
        title=row.title,
        janus_room_id=row.janus_room_id,
        state=MeetingState(row.state),
        created_at=row.created_at,
        ended_at=row.ended_at,
        password_hash=row.password_hash,
        duration=(
            None
            if row.duration_seconds is None
            else timedelta(seconds=row.duration_seconds)
        ),
        started_at=row.started_at,
        ends_at=row.ends_at,
        ends_when_empty=row.ends_when_empty,
        origin=Origin(
            team_id=row.team_id,
            team_domain=row.team_domain,
            channel_id=row.channel_id,
            channel_name=row.channel_name,
            user_id=row.user_id,
            user_name=row.user_name,
            root_id=row.root_id,
        ),
    )
