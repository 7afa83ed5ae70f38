"""`/sfu schedule …`: scheduling, listing and cancelling meetings from a channel.

The time is read in the invoking user's Mattermost time zone, fetched with
`GET /api/v4/users/{user_id}`. When that fails or takes over a second, the time is
read in the configured default zone, and the reply names it. The reply repeats the
time as understood, with its zone, UTC offset and weekday, so a misreading shows at
once.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from typing import Any
from zoneinfo import ZoneInfo

from parley.config import Settings, SlashCommand
from parley.errors import MattermostApiError
from parley.i18n import Locale, message
from parley.mattermost.actions import Click
from parley.mattermost.bot import ChannelBot
from parley.mattermost.schedule_posts import (
    SchedulePosts,
    describe_schedule,
    feed_link,
    remind_text,
)
from parley.mattermost.slash import MAX_TITLE_CHARS, SlashRequest, ephemeral_reply
from parley.scheduling.model import Schedule, ScheduleState
from parley.scheduling.recurrence import is_zone_name
from parley.scheduling.scheduler import Scheduler
from parley.scheduling.service import Organiser, ScheduleService
from parley.scheduling.when import ScheduleError, parse_schedule

logger = logging.getLogger(__name__)

# The reply must reach Mattermost within seconds, so the zone lookup gets one.
ZONE_LOOKUP_TIMEOUT = 1.0

HELP_WORDS = frozenset({"", "help", "帮助"})
LIST_WORDS = frozenset({"list", "列表"})
CANCEL_WORDS = frozenset({"cancel", "取消"})


class ScheduleCommands:
    def __init__(
        self,
        settings: Settings,
        *,
        service: ScheduleService,
        posts: SchedulePosts,
        bot: ChannelBot,
        scheduler: Scheduler,
        feed_secret: bytes,
    ) -> None:
        self.settings = settings
        self.service = service
        self.posts = posts
        self.bot = bot
        self.scheduler = scheduler
        self.feed_secret = feed_secret
        self.locale: Locale = settings.mattermost.locale

    async def run(
        self, command: SlashCommand, request: SlashRequest, text: str
    ) -> dict[str, Any]:
        words = text.split()
        first = words[0].lower() if words else ""
        if first in HELP_WORDS and len(words) <= 1:
            return self._reply("schedule_usage", trigger=command.name)
        if first in LIST_WORDS and len(words) == 1:
            return await self._list(request)
        if first in CANCEL_WORDS:
            return await self._cancel_command(command, request, words[1:])
        return await self._schedule(command, request, text)

    async def _schedule(
        self, command: SlashCommand, request: SlashRequest, text: str
    ) -> dict[str, Any]:
        # Reminders need the bot in the channel; a meeting it could never remind
        # anyone of is refused now rather than lost later.
        if await self.bot.can_post(request.channel_id) is False:
            return self._reply("schedule_bot_not_in_channel", bot=self.bot.username)

        zone, guessed = await self._zone_of(request.user_id)
        now = self.service.clock.now()
        try:
            # dateparser takes milliseconds a call: keep it off the event loop.
            parsed = await asyncio.to_thread(
                parse_schedule, text, now=now, zone=zone, locale=self.locale
            )
        except ScheduleError as error:
            return self._reply(error.key, trigger=command.name, **error.values)
        if len(parsed.title) > MAX_TITLE_CHARS:
            return self._reply(
                "title_too_long", length=len(parsed.title), limit=MAX_TITLE_CHARS
            )
        if not parsed.title:
            title = message("default_title", self.locale, user=request.user_name)
            parsed = dataclasses.replace(parsed, title=title)

        schedule = await self.service.schedule(parsed, _organiser(request))
        await self.posts.announce(schedule)
        self.scheduler.wake()

        when, repeat = describe_schedule(schedule, self.locale)
        reply = message(
            "schedule_done",
            self.locale,
            title=schedule.title,
            when=when,
            repeat=f" ({repeat})" if repeat else "",
            remind=remind_text(schedule, self.locale),
            id=schedule.short_id,
            trigger=command.name,
        )
        if parsed.repeated_by_dst:
            reply += "\n" + message(
                "schedule_repeated_by_dst",
                self.locale,
                requested=parsed.local_start.strftime("%Y-%m-%d %H:%M"),
                zone=zone.key,
                start=when,
            )
        if parsed.skipped_by_dst:
            reply += "\n" + message(
                "schedule_skipped_by_dst",
                self.locale,
                requested=parsed.local_start.strftime("%Y-%m-%d %H:%M"),
                zone=zone.key,
                start=when,
            )
        if guessed:
            reply += message("schedule_zone_guessed", self.locale, zone=zone.key)
        return ephemeral_reply(reply)

    async def _zone_of(self, user_id: str) -> tuple[ZoneInfo, bool]:
        """Return the user's time zone, and whether it is the default instead."""
        default = ZoneInfo(self.settings.schedule.default_timezone)
        try:
            user = await asyncio.wait_for(
                self.bot.client.get_user(user_id), ZONE_LOOKUP_TIMEOUT
            )
        except (MattermostApiError, TimeoutError) as error:
            logger.warning(
                "Cannot read the time zone of user %s; using %s: %s",
                user_id,
                default.key,
                str(error) or "timed out",
            )
            return default, True
        name = _zone_name(user.get("timezone"))
        if not name:
            return default, False
        if not is_zone_name(name):
            logger.warning("User %s has an unknown time zone %r", user_id, name)
            return default, True
        return ZoneInfo(name), False

    async def _list(self, request: SlashRequest) -> dict[str, Any]:
        schedules = await self.service.store.list_upcoming(
            channel_id=request.channel_id
        )
        if not schedules:
            return self._reply("schedule_list_empty")
        feed = feed_link(self.settings, self.feed_secret, request.channel_id)
        lines = [message("schedule_list_header", self.locale, feed=feed)]
        for schedule in schedules:
            when, repeat = describe_schedule(schedule, self.locale)
            lines.append(
                message(
                    "schedule_list_item",
                    self.locale,
                    id=schedule.short_id,
                    title=schedule.title,
                    when=when,
                    repeat=f" ({repeat})" if repeat else "",
                    organiser=schedule.organiser_name or "-",
                )
            )
        return ephemeral_reply("\n".join(lines))

    async def _cancel_command(
        self, command: SlashCommand, request: SlashRequest, words: list[str]
    ) -> dict[str, Any]:
        if len(words) != 1:
            return self._reply("schedule_cancel_usage", trigger=command.name)
        short_id = words[0].strip("`").lower()
        schedule = await self.service.store.get(short_id)
        if schedule is None or schedule.channel_id != request.channel_id:
            return self._reply("schedule_not_found", id=short_id, trigger=command.name)
        return await self._cancel(
            schedule, request.user_id, request.user_name, request.channel_id
        )

    async def handle_click(self, click: Click) -> dict[str, Any]:
        """Cancel the scheduled meeting whose Cancel button was clicked."""
        schedules = await self.service.store.list_for_channel(click.channel_id)
        schedule = next((s for s in schedules if s.id == click.target), None)
        if schedule is None:
            return {"ephemeral_text": message("action_invalid", self.locale)}
        reply = await self._cancel(
            schedule, click.user_id, click.user_name, click.channel_id
        )
        return {"ephemeral_text": reply["text"]}

    async def _cancel(
        self, schedule: Schedule, user_id: str, user_name: str, channel_id: str
    ) -> dict[str, Any]:
        values = {"title": schedule.title, "id": schedule.short_id}
        if schedule.state is not ScheduleState.SCHEDULED:
            return self._reply("schedule_already_over", **values)
        allowed = user_id == schedule.organiser_id or await self.bot.is_admin(
            user_id, channel_id
        )
        if not allowed:
            return self._reply(
                "schedule_cancel_not_allowed",
                organiser=schedule.organiser_name or "-",
                title=schedule.title,
            )
        if not await self.service.cancel(schedule):
            return self._reply("schedule_already_over", **values)
        await self.posts.cancelled(schedule, by=user_name)
        return self._reply("schedule_cancelled", **values)

    def _reply(self, key: str, **values: object) -> dict[str, Any]:
        return ephemeral_reply(message(key, self.locale, **values))


def _zone_name(timezone: object) -> str:
    """Read the zone name from a Mattermost user's `timezone` object.

    Mattermost stores `useAutomaticTimezone` as the string "true" or "false".
    """
    if not isinstance(timezone, dict):
        return ""
    automatic = str(timezone.get("useAutomaticTimezone", "")).lower() == "true"
    key = "automaticTimezone" if automatic else "manualTimezone"
    return str(timezone.get(key) or "")


def _organiser(request: SlashRequest) -> Organiser:
    return Organiser(
        user_id=request.user_id,
        user_name=request.user_name,
        channel_id=request.channel_id,
        channel_name=request.channel_name,
        team_id=request.team_id,
        root_id=request.root_id,
    )
