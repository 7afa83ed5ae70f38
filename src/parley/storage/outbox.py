"""The outbox on SQLAlchemy: entries kept until Mattermost has taken them.

Several Parley processes may share one database, so an entry is claimed with a
conditional UPDATE before it is sent: only the process whose UPDATE changed the row
sends it. A claim is a lease; if its process dies, the entry becomes due again when
the lease runs out.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select, update

from parley.storage.database import Database
from parley.storage.models import BotPostRow, OutboxRow
from parley.types import OutboxAction, OutboxEntry

PENDING = "pending"
DELIVERED = "delivered"
FAILED = "failed"

# How many pending rows one claim looks at. Each post's rows wait behind its
# oldest, so a backlog is worked off in this many rows at a time.
SCAN_ROWS = 500


class SqlOutboxStore:
    def __init__(self, database: Database) -> None:
        self._sessions = database.sessions
        self._write = database.write

    async def add(
        self,
        *,
        post_key: str,
        action: OutboxAction,
        body: dict[str, Any],
        now: datetime,
        channel_id: str = "",
        root_id: str = "",
        fallback: dict[str, Any] | None = None,
    ) -> int:
        row = OutboxRow(
            post_key=post_key,
            action=action,
            channel_id=channel_id,
            root_id=root_id,
            body=json.dumps(body, ensure_ascii=False),
            fallback=None if fallback is None else json.dumps(fallback),
            state=PENDING,
            attempts=0,
            created_at=now,
            next_attempt_at=now,
        )
        async with self._write() as session:
            session.add(row)
            await session.flush()
            return row.id

    async def claim_due(
        self, now: datetime, *, lease_until: datetime, limit: int
    ) -> list[OutboxEntry]:
        """Claim the oldest pending entry of each post, where it is due.

        An entry is due when its next attempt time has come and no live lease holds
        it. A post whose oldest entry is not due waits, so its entries keep their
        order.
        """
        heads = await self._pending_heads()
        claimed: list[OutboxEntry] = []
        for row in heads:
            if len(claimed) >= limit:
                break
            if row.next_attempt_at > now or _leased(row, now):
                continue
            if await self._claim(row.id, now, lease_until):
                claimed.append(_entry(row, attempts=row.attempts + 1))
        return claimed

    async def _pending_heads(self) -> list[OutboxRow]:
        async with self._sessions() as session:
            rows = await session.scalars(
                select(OutboxRow)
                .where(OutboxRow.state == PENDING)
                .order_by(OutboxRow.id)
                .limit(SCAN_ROWS)
            )
            heads: dict[str, OutboxRow] = {}
            for row in rows:
                heads.setdefault(row.post_key, row)
            return list(heads.values())

    async def _claim(self, entry_id: int, now: datetime, until: datetime) -> bool:
        async with self._write() as session:
            result = await session.execute(
                update(OutboxRow)
                .where(
                    OutboxRow.id == entry_id,
                    OutboxRow.state == PENDING,
                    or_(
                        OutboxRow.claimed_until.is_(None),
                        OutboxRow.claimed_until <= now,
                    ),
                )
                .values(claimed_until=until, attempts=OutboxRow.attempts + 1)
            )
            return result.rowcount == 1  # type: ignore[attr-defined]

    async def next_attempt_at(self) -> datetime | None:
        """Return the earliest time an entry may be sent, or None if none waits.

        Only the oldest pending entry of each post counts, since the others wait
        for it, and a live lease counts as the time it runs out.
        """
        times = [
            max(row.next_attempt_at, row.claimed_until or row.next_attempt_at)
            for row in await self._pending_heads()
        ]
        return min(times, default=None)

    async def retry_later(self, entry_id: int, *, at: datetime, error: str) -> None:
        await self._update(
            entry_id, next_attempt_at=at, claimed_until=None, last_error=error
        )

    async def mark_failed(self, entry_id: int, *, now: datetime, error: str) -> None:
        await self._update(
            entry_id,
            state=FAILED,
            finished_at=now,
            claimed_until=None,
            last_error=error,
        )

    async def mark_delivered(self, entry_id: int, *, now: datetime) -> None:
        await self._update(
            entry_id, state=DELIVERED, finished_at=now, claimed_until=None
        )

    async def record_post(
        self,
        entry_id: int,
        *,
        post_key: str,
        post_id: str,
        channel_id: str,
        now: datetime,
    ) -> None:
        """Remember the post a create made, and mark the entry delivered, at once."""
        async with self._write() as session:
            session.add(
                BotPostRow(post_key=post_key, post_id=post_id, channel_id=channel_id)
            )
            await session.execute(
                update(OutboxRow)
                .where(OutboxRow.id == entry_id)
                .values(state=DELIVERED, finished_at=now, claimed_until=None)
            )

    async def post_id(self, post_key: str) -> str | None:
        async with self._sessions() as session:
            return await session.scalar(
                select(BotPostRow.post_id).where(BotPostRow.post_key == post_key)
            )

    async def has_post(self, post_key: str) -> bool:
        """Return whether a post was ever queued under this key."""
        async with self._sessions() as session:
            found = await session.scalar(
                select(OutboxRow.id)
                .where(OutboxRow.post_key == post_key, OutboxRow.action == "create")
                .limit(1)
            )
            return found is not None

    async def count_pending(self) -> int:
        async with self._sessions() as session:
            count = await session.scalar(
                select(func.count())
                .select_from(OutboxRow)
                .where(OutboxRow.state == PENDING)
            )
            return count or 0

    async def _update(self, entry_id: int, **values: Any) -> None:
        async with self._write() as session:
            await session.execute(
                update(OutboxRow).where(OutboxRow.id == entry_id).values(**values)
            )


def _leased(row: OutboxRow, now: datetime) -> bool:
    return row.claimed_until is not None and row.claimed_until > now


def _entry(row: OutboxRow, *, attempts: int) -> OutboxEntry:
    return OutboxEntry(
        id=row.id,
        post_key=row.post_key,
        action=row.action,  # type: ignore[arg-type]
        channel_id=row.channel_id,
        root_id=row.root_id,
        body=json.loads(row.body),
        fallback=None if row.fallback is None else json.loads(row.fallback),
        attempts=attempts,
        created_at=row.created_at,
    )
