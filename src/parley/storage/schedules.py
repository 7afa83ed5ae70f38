"""Scheduled meetings on SQLAlchemy.

Every step the scheduler takes on a meeting is a conditional UPDATE that names the
occurrence it is about. Only the process whose UPDATE changed the row goes on, so
two Parley processes on one database post each reminder and open each room once.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, or_, select, update

from parley.scheduling.model import Schedule, ScheduleState
from parley.storage.database import Database
from parley.storage.models import ScheduleRow

SCHEDULED = ScheduleState.SCHEDULED.value


class SqlScheduleStore:
    def __init__(self, database: Database) -> None:
        self._sessions = database.sessions
        self._write = database.write

    async def add(self, schedule: Schedule) -> None:
        async with self._write() as session:
            session.add(_to_row(schedule))

    async def get(self, short_id: str) -> Schedule | None:
        async with self._sessions() as session:
            row = await session.scalar(
                select(ScheduleRow).where(ScheduleRow.short_id == short_id)
            )
        return None if row is None else _from_row(row)

    async def get_by_id(self, schedule_id: str) -> Schedule | None:
        """Return the meeting with this 32-hex `id`, as in its calendar link."""
        async with self._sessions() as session:
            row = await session.get(ScheduleRow, schedule_id)
        return None if row is None else _from_row(row)

    async def list_schedules(
        self,
        *,
        channel_id: str | None = None,
        state: ScheduleState | None = None,
        limit: int = 100,
    ) -> list[Schedule]:
        """Return meetings in any state, filtered, the soonest `next_start` first."""
        query = select(ScheduleRow).order_by(ScheduleRow.next_start).limit(limit)
        if channel_id is not None:
            query = query.where(ScheduleRow.channel_id == channel_id)
        if state is not None:
            query = query.where(ScheduleRow.state == state.value)
        async with self._sessions() as session:
            return [_from_row(row) for row in await session.scalars(query)]

    async def list_upcoming(
        self, *, channel_id: str | None = None, limit: int = 100
    ) -> list[Schedule]:
        """Return scheduled meetings still to come, the soonest first."""
        query = (
            select(ScheduleRow)
            .where(ScheduleRow.state == SCHEDULED)
            .order_by(ScheduleRow.next_start)
            .limit(limit)
        )
        if channel_id is not None:
            query = query.where(ScheduleRow.channel_id == channel_id)
        async with self._sessions() as session:
            return [_from_row(row) for row in await session.scalars(query)]

    async def list_for_channel(self, channel_id: str) -> list[Schedule]:
        """Return every meeting scheduled in a channel, cancelled ones too."""
        query = (
            select(ScheduleRow)
            .where(ScheduleRow.channel_id == channel_id)
            .order_by(ScheduleRow.first_start)
            .limit(1000)
        )
        async with self._sessions() as session:
            return [_from_row(row) for row in await session.scalars(query)]

    async def due(self, now: datetime, *, limit: int = 100) -> list[Schedule]:
        query = (
            select(ScheduleRow)
            .where(ScheduleRow.state == SCHEDULED, ScheduleRow.next_due_at <= now)
            .order_by(ScheduleRow.next_due_at)
            .limit(limit)
        )
        async with self._sessions() as session:
            return [_from_row(row) for row in await session.scalars(query)]

    async def next_due_at(self) -> datetime | None:
        async with self._sessions() as session:
            return await session.scalar(
                select(func.min(ScheduleRow.next_due_at)).where(
                    ScheduleRow.state == SCHEDULED
                )
            )

    async def claim_reminder(self, schedule: Schedule) -> bool:
        """Mark the reminder of `next_start` as posted; False if another did."""
        occurrence = schedule.next_start
        claimed = await self._update_where(
            schedule,
            [
                or_(
                    ScheduleRow.reminded_start.is_(None),
                    ScheduleRow.reminded_start != occurrence,
                )
            ],
            reminded_start=occurrence,
            next_due_at=occurrence,
        )
        if claimed:
            schedule.reminded_start = occurrence
        return claimed

    async def claim_opening(self, schedule: Schedule) -> bool:
        """Mark the room of `next_start` as opened; False if another did."""
        occurrence = schedule.next_start
        claimed = await self._update_where(
            schedule,
            [
                or_(
                    ScheduleRow.opened_start.is_(None),
                    ScheduleRow.opened_start != occurrence,
                )
            ],
            opened_start=occurrence,
        )
        if claimed:
            schedule.opened_start = occurrence
        return claimed

    async def release_opening(self, schedule: Schedule, *, retry_at: datetime) -> None:
        """Undo `claim_opening` after a failure, to try again at `retry_at`."""
        await self._update_where(
            schedule,
            [ScheduleRow.opened_start == schedule.next_start],
            opened_start=None,
            next_due_at=retry_at,
        )
        schedule.opened_start = None

    async def advance(self, schedule: Schedule) -> bool:
        """Move to the following occurrence, or finish a one-off meeting.

        Returns False if another process moved it first.
        """
        following = schedule.following_start()
        if following is None:
            values: dict[str, Any] = {"state": ScheduleState.FINISHED.value}
        else:
            # The following occurrence's reminder is still to be posted.
            due = following - schedule.remind_before
            values = {"next_start": following, "next_due_at": due}
        advanced = await self._update_where(schedule, [], **values)
        if not advanced:
            return False
        if following is None:
            schedule.move_to(ScheduleState.FINISHED)
        else:
            schedule.next_start = following
        return True

    async def cancel(self, schedule: Schedule, *, now: datetime) -> bool:
        """Cancel a scheduled meeting; False if it was no longer scheduled."""
        cancelled = await self._update_where(
            schedule,
            [],
            match_start=False,
            state=ScheduleState.CANCELLED.value,
            cancelled_at=now,
            sequence=ScheduleRow.sequence + 1,
        )
        if cancelled:
            schedule.move_to(ScheduleState.CANCELLED)
            schedule.cancelled_at = now
            schedule.sequence += 1
        return cancelled

    async def _update_where(
        self,
        schedule: Schedule,
        conditions: list[Any],
        *,
        match_start: bool = True,
        **values: Any,
    ) -> bool:
        where = [ScheduleRow.id == schedule.id, ScheduleRow.state == SCHEDULED]
        if match_start:
            where.append(ScheduleRow.next_start == schedule.next_start)
        async with self._write() as session:
            result = await session.execute(
                update(ScheduleRow).where(*where, *conditions).values(**values)
            )
            return result.rowcount == 1  # type: ignore[attr-defined]

    async def _update(self, schedule_id: str, **values: Any) -> None:
        async with self._write() as session:
            await session.execute(
                update(ScheduleRow)
                .where(ScheduleRow.id == schedule_id)
                .values(**values)
            )


def _to_row(schedule: Schedule) -> ScheduleRow:
    return ScheduleRow(
        id=schedule.id,
        short_id=schedule.short_id,
        title=schedule.title,
        zone=schedule.zone.key,
        first_start=schedule.first_start,
        next_start=schedule.next_start,
        next_due_at=schedule.next_due_at,
        remind_seconds=int(schedule.remind_before.total_seconds()),
        state=schedule.state.value,
        created_at=schedule.created_at,
        channel_id=schedule.channel_id,
        channel_name=schedule.channel_name,
        team_id=schedule.team_id,
        root_id=schedule.root_id,
        organiser_id=schedule.organiser_id,
        organiser_name=schedule.organiser_name,
        invitees=" ".join(schedule.invitees),
        days=(
            None
            if schedule.days is None
            else ",".join(str(day) for day in sorted(schedule.days))
        ),
        local_time=(
            None
            if schedule.local_time is None
            else schedule.local_time.strftime("%H:%M")
        ),
        reminded_start=schedule.reminded_start,
        opened_start=schedule.opened_start,
        cancelled_at=schedule.cancelled_at,
        sequence=schedule.sequence,
    )


def _from_row(row: ScheduleRow) -> Schedule:
    return Schedule(
        id=row.id,
        short_id=row.short_id,
        title=row.title,
        zone=ZoneInfo(row.zone),
        first_start=row.first_start,
        next_start=row.next_start,
        remind_before=timedelta(seconds=row.remind_seconds),
        state=ScheduleState(row.state),
        created_at=row.created_at,
        channel_id=row.channel_id,
        channel_name=row.channel_name,
        team_id=row.team_id,
        root_id=row.root_id,
        organiser_id=row.organiser_id,
        organiser_name=row.organiser_name,
        invitees=tuple(row.invitees.split()),
        days=(
            None
            if row.days is None
            else frozenset(int(day) for day in row.days.split(","))
        ),
        local_time=None
        if row.local_time is None
        else time.fromisoformat(row.local_time),
        reminded_start=row.reminded_start,
        opened_start=row.opened_start,
        cancelled_at=row.cancelled_at,
        sequence=row.sequence,
    )
