"""Builds Parley's parts at start and stops them at shutdown.

`start` creates the database, the media gateway, the meeting service and live rooms,
and, when Mattermost API access is configured, the channel bot, its outbox and the
scheduler. `stop` takes them down in the reverse order.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine

from parley.config import Settings
from parley.mattermost.actions import ActionSigner
from parley.mattermost.api import MattermostClient
from parley.mattermost.bot import ChannelBot
from parley.mattermost.commands import SlashCommands
from parley.mattermost.outbox import Outbox
from parley.mattermost.schedule_commands import ScheduleCommands
from parley.mattermost.schedule_posts import SchedulePosts
from parley.meetings.access import TokenSigner
from parley.meetings.live import LiveRooms
from parley.meetings.model import Meeting, MeetingState, Origin
from parley.meetings.service import MeetingService, RoomPolicy
from parley.scheduling.model import Schedule
from parley.scheduling.scheduler import Scheduler
from parley.scheduling.service import ScheduleService
from parley.scheduling.when import warm_up
from parley.storage import (
    Database,
    SqlMeetingStore,
    SqlOutboxStore,
    create_engine,
    migrate,
)
from parley.storage.keys import get_or_create_key
from parley.storage.schedules import SqlScheduleStore
from parley.types import Clock, MediaGateway
from parley.web.api_auth import FailedAttempts

logger = logging.getLogger("parley")


@dataclass
class Parley:
    """Everything a request handler may reach, built once at start."""

    settings: Settings
    gateway: MediaGateway
    service: MeetingService
    live_rooms: LiveRooms
    commands: SlashCommands
    engine: AsyncEngine
    http: httpx.AsyncClient
    failed_attempts: FailedAttempts
    outbox: Outbox | None = None
    scheduler: Scheduler | None = None


async def start(
    settings: Settings, gateway: MediaGateway | None, clock: Clock
) -> Parley:
    settings.server.data_dir.mkdir(parents=True, exist_ok=True)
    engine = create_engine(settings.sqlalchemy_url)
    await migrate(engine)

    if gateway is None:
        from parley.janus.media import JanusMediaGateway

        gateway = JanusMediaGateway.from_settings(settings)
    await gateway.start()

    if not settings.mattermost.tokens:
        logger.warning(
            "No slash command token is configured: /mattermost returns 503 until "
            "PARLEY_MATTERMOST_TOKENS (or mattermost.tokens) is set"
        )

    tokens = None
    if settings.api.secret is None:
        logger.warning(
            "No API secret is configured: the REST APIs under /api refuse every "
            "request until PARLEY_API_SECRET (or api.secret) is set"
        )
    else:
        tokens = TokenSigner(settings.api.secret.get_secret_value())

    http = httpx.AsyncClient(timeout=10.0, follow_redirects=False)
    database = Database(engine)
    store = SqlMeetingStore(database)
    policy = RoomPolicy(settings.rooms.max_publishers, settings.rooms.bitrate)
    service = MeetingService(store, gateway, clock, policy, tokens)
    live_rooms = LiveRooms(
        service, grace=timedelta(seconds=settings.rooms.grace_seconds)
    )
    bot, outbox = await _start_bot(settings, database, store, clock, http)
    if bot is not None:
        service.observers.append(bot)
    await _watch_open_meetings(service, live_rooms)
    schedules, scheduler = await _start_scheduler(
        settings, database, clock, service, live_rooms, bot
    )

    parley = Parley(
        settings=settings,
        gateway=gateway,
        service=service,
        live_rooms=live_rooms,
        commands=SlashCommands(settings, service, live_rooms, http, bot, schedules),
        engine=engine,
        http=http,
        failed_attempts=FailedAttempts(),
        outbox=outbox,
        scheduler=scheduler,
    )
    logger.info("Parley is ready; links start with %s", settings.server.public_url)
    return parley


async def _start_bot(
    settings: Settings,
    database: Database,
    store: SqlMeetingStore,
    clock: Clock,
    http: httpx.AsyncClient,
) -> tuple[ChannelBot | None, Outbox | None]:
    if not settings.mattermost.bot_enabled:
        logger.info(
            "No Mattermost API access is configured: /sfu replies with links and "
            "posts nothing of its own (set PARLEY_MATTERMOST_URL and "
            "PARLEY_MATTERMOST_BOT_TOKEN for channel posts)"
        )
        return None, None

    client = MattermostClient.from_settings(settings.mattermost)
    outbox = Outbox(SqlOutboxStore(database), client, clock, http)
    signer = ActionSigner(await get_or_create_key(database, "action_signing"))
    bot = ChannelBot(
        settings, client=client, outbox=outbox, signer=signer, meetings=store
    )
    outbox.start()
    # The check only logs: posts wait in the outbox while Mattermost is away, so
    # an unreachable server must not stop Parley from starting.
    _spawn(bot.check_credentials())
    return bot, outbox


async def _start_scheduler(
    settings: Settings,
    database: Database,
    clock: Clock,
    service: MeetingService,
    live_rooms: LiveRooms,
    bot: ChannelBot | None,
) -> tuple[ScheduleCommands | None, Scheduler | None]:
    if bot is None:
        return None, None  # reminders need the bot

    async def open_room(schedule: Schedule) -> Meeting:
        origin = Origin(
            team_id=schedule.team_id,
            channel_id=schedule.channel_id,
            user_id=schedule.organiser_id,
            user_name=schedule.organiser_name,
            root_id=schedule.root_id,
        )
        meeting = await service.create_meeting(
            schedule.title, origin, ends_when_empty=True
        )
        live_rooms.watch(meeting)
        return meeting

    store = SqlScheduleStore(database)
    posts = SchedulePosts(settings, outbox=bot.outbox, signer=bot.signer, bot=bot)
    scheduler = Scheduler(store, clock, open_room, posts)
    reminder = timedelta(minutes=settings.schedule.reminder_minutes)
    commands = ScheduleCommands(
        settings,
        service=ScheduleService(store, clock, default_remind=reminder),
        posts=posts,
        bot=bot,
        scheduler=scheduler,
        feed_secret=await get_or_create_key(database, "calendar_feeds"),
    )
    scheduler.start()
    # Loading dateparser's languages takes a moment; do it before the first use.
    _spawn(asyncio.to_thread(warm_up))
    return commands, scheduler


def _spawn(work: Coroutine[Any, Any, Any]) -> None:
    task = asyncio.create_task(work)
    _BACKGROUND.add(task)
    task.add_done_callback(_BACKGROUND.discard)


_BACKGROUND: set[asyncio.Task[Any]] = set()


async def _watch_open_meetings(service: MeetingService, live_rooms: LiveRooms) -> None:
    # A restart leaves every room empty, so meetings that end when empty are
    # watched again from here.
    meetings = await service.store.list_meetings(state=MeetingState.OPEN, limit=10_000)
    for meeting in meetings:
        live_rooms.watch(meeting)


async def stop(parley: Parley) -> None:
    await parley.commands.drain()
    parley.live_rooms.close()
    if parley.scheduler is not None:
        await parley.scheduler.stop()
    if parley.outbox is not None:
        await parley.outbox.stop()
        await parley.outbox.client.aclose()
    await parley.gateway.stop()
    await parley.http.aclose()
    await parley.engine.dispose()
    logger.info("Parley stopped")
