"""Running a slash command: from an authenticated request to the reply Mattermost shows.

Mattermost gives a command a few seconds at most before it shows the user an error, so
the reply never waits more than `reply_deadline` seconds for Janus. A room that takes
longer is announced through the command's `response_url` when it is ready.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from typing import Any

import httpx

from parley.config import Settings, SlashCommand
from parley.errors import JanusError, RoomEnded, RoomNotFound
from parley.i18n import Locale, message
from parley.mattermost.actions import CANCEL_SCHEDULE, END_MEETING, Click
from parley.mattermost.bot import ChannelBot, join_link
from parley.mattermost.response_url import post_to_response_url
from parley.mattermost.schedule_commands import ScheduleCommands
from parley.mattermost.slash import (
    InvalidCommandText,
    SlashRequest,
    ephemeral_reply,
    meeting_reply,
    parse_text,
)
from parley.meetings.live import LiveRooms
from parley.meetings.model import Meeting, Origin
from parley.meetings.service import MeetingService

logger = logging.getLogger(__name__)


class SlashCommands:
    def __init__(
        self,
        settings: Settings,
        service: MeetingService,
        live_rooms: LiveRooms,
        http: httpx.AsyncClient,
        bot: ChannelBot | None = None,
        schedules: ScheduleCommands | None = None,
    ) -> None:
        self.settings = settings
        self.service = service
        self.live_rooms = live_rooms
        self.http = http
        self.bot = bot
        self.schedules = schedules
        # Locks live only while a creation holds or awaits them.
        self._creating: weakref.WeakValueDictionary[str, asyncio.Lock] = (
            weakref.WeakValueDictionary()
        )
        self.locale: Locale = settings.mattermost.locale
        self._background: set[asyncio.Task[None]] = set()

    def find(self, trigger: str) -> SlashCommand | None:
        trigger = trigger.strip().lower()
        for command in self.settings.mattermost.commands:
            if command.name == trigger:
                return command
        return None

    async def run(self, request: SlashRequest) -> dict[str, Any]:
        """Return the reply body for an authenticated slash command request."""
        command = self.find(request.command)
        if command is None:
            return self._unknown_command(request.command)

        try:
            invocation = parse_text(request.text)
        except InvalidCommandText as error:
            return ephemeral_reply(message(error.key, self.locale, **error.values))

        if invocation.action == "help":
            return ephemeral_reply(message("usage", self.locale, trigger=command.name))
        if invocation.action == "list":
            return await self._list(command, request)
        if invocation.action == "end":
            return await self._end(request)
        if invocation.action == "schedule":
            if self.schedules is None:
                return ephemeral_reply(message("schedule_needs_bot", self.locale))
            return await self.schedules.run(command, request, invocation.text)

        # Plain `/sfu` offers the channel's open meeting; the check runs under the
        # channel's creation lock in _create_and_reply.
        offer_open = invocation.action == "create"
        title = invocation.title or message(
            "default_title", self.locale, user=request.user_name or "Parley"
        )
        return await self._create(command, request, title, offer_open=offer_open)

    async def _open_meeting_here(
        self, command: SlashCommand, request: SlashRequest
    ) -> dict[str, Any] | None:
        """Return a reply offering the channel's open meeting, if it has one."""
        if not request.channel_id:
            return None
        meetings = await self.service.store.list_open_in_channel(request.channel_id)
        if not meetings:
            return None
        meeting = meetings[0]
        return ephemeral_reply(
            message(
                "meeting_open_here",
                self.locale,
                title=meeting.title,
                starter=meeting.origin.user_name or "-",
                link=join_link(self.settings, meeting),
                trigger=command.name,
            )
        )

    async def _list(
        self, command: SlashCommand, request: SlashRequest
    ) -> dict[str, Any]:
        meetings = await self.service.store.list_open_in_channel(request.channel_id)
        if not meetings:
            return ephemeral_reply(
                message("list_empty", self.locale, trigger=command.name)
            )
        lines = [message("list_header", self.locale)]
        for meeting in meetings:
            room = self.live_rooms.find(meeting.slug)
            lines.append(
                message(
                    "list_item",
                    self.locale,
                    title=meeting.title,
                    starter=meeting.origin.user_name or "-",
                    count=0 if room is None else len(room.participants),
                    link=join_link(self.settings, meeting),
                )
            )
        return ephemeral_reply("\n".join(lines))

    async def _end(self, request: SlashRequest) -> dict[str, Any]:
        meetings = await self.service.store.list_open_in_channel(request.channel_id)
        if not meetings:
            return ephemeral_reply(message("end_nothing_open", self.locale))
        # The caller's own newest meeting, or else the channel's newest, which only
        # a channel admin may end.
        own = [m for m in meetings if m.origin.user_id == request.user_id]
        meeting = own[0] if own else meetings[0]
        if not await self._may_end(meeting, request):
            logger.info("User %s may not end meeting %s", request.user_id, meeting.slug)
            return ephemeral_reply(
                message(
                    "end_not_allowed",
                    self.locale,
                    starter=meeting.origin.user_name or "-",
                    title=meeting.title,
                )
            )
        await self.end_meeting(meeting, ended_by=request.user_name)
        return ephemeral_reply(message("end_done", self.locale, title=meeting.title))

    async def handle_click(self, click: Click) -> dict[str, Any]:
        """Carry out a verified button click; return Mattermost's action reply."""
        if click.action == CANCEL_SCHEDULE and self.schedules is not None:
            return await self.schedules.handle_click(click)
        if click.action != END_MEETING:
            return {"ephemeral_text": message("action_invalid", self.locale)}
        try:
            meeting = await self.service.find_open_meeting(click.target)
        except RoomNotFound:
            return {"ephemeral_text": message("action_invalid", self.locale)}
        except RoomEnded:
            meeting = await self.service.store.get_meeting(click.target)
            title = meeting.title if meeting is not None else click.target
            return {"ephemeral_text": message("end_already", self.locale, title=title)}

        assert self.bot is not None
        if not await self.bot.may_end(meeting, click.user_id, click.channel_id):
            logger.info("User %s may not end meeting %s", click.user_id, click.target)
            text = message(
                "end_not_allowed",
                self.locale,
                starter=meeting.origin.user_name or "-",
                title=meeting.title,
            )
            return {"ephemeral_text": text}

        await self.end_meeting(meeting, ended_by=click.user_name)
        return {"ephemeral_text": message("end_done", self.locale, title=meeting.title)}

    async def _may_end(self, meeting: Meeting, request: SlashRequest) -> bool:
        if request.user_id and request.user_id == meeting.origin.user_id:
            return True
        if self.bot is None:
            return False  # without the API, channel admins cannot be recognised
        return await self.bot.is_admin(request.user_id, request.channel_id)

    async def end_meeting(self, meeting: Meeting, *, ended_by: str) -> None:
        logger.info("Meeting %s is being ended by %s", meeting.slug, ended_by or "-")
        await self.live_rooms.end_meeting(meeting, reason="ended")

    async def _create(
        self,
        command: SlashCommand,
        request: SlashRequest,
        title: str,
        *,
        offer_open: bool = False,
    ) -> dict[str, Any]:
        if not self.service.gateway.ready:
            logger.warning(
                "Slash command %s rejected: Janus is unavailable", command.name
            )
            return ephemeral_reply(message("media_unavailable", self.locale))

        reply = asyncio.ensure_future(
            self._create_and_reply(command, request, title, offer_open=offer_open)
        )
        deadline = self.settings.mattermost.reply_deadline
        done, _ = await asyncio.wait({reply}, timeout=deadline)
        if done:
            return reply.result()

        logger.info("Janus is slow; the link will follow through response_url")
        self._post_later(reply, request.response_url)
        return ephemeral_reply(message("creating", self.locale, title=title))

    async def _create_and_reply(
        self,
        command: SlashCommand,
        request: SlashRequest,
        title: str,
        *,
        offer_open: bool,
    ) -> dict[str, Any]:
        # One creation at a time per channel, so that commands sent together are
        # offered the first one's meeting instead of each opening a room.
        async with self._channel_lock(request.channel_id):
            if offer_open:
                offer = await self._open_meeting_here(command, request)
                if offer is not None:
                    return offer
            try:
                meeting = await self.service.create_meeting(
                    title, _origin(request), ends_when_empty=True
                )
            except JanusError:
                return ephemeral_reply(
                    message("creation_failed", self.locale, title=title)
                )
            self.live_rooms.watch(meeting)

        channel_reply = self._meeting_reply(command, request, meeting)
        if self.bot is None:
            return channel_reply

        # The bot's post shows the meeting in the channel; the command's own reply
        # is then a line for the user who typed it.
        await self.bot.announce(
            meeting,
            response_url=request.response_url,
            fallback_reply={**channel_reply, "response_type": "in_channel"},
        )
        link = join_link(self.settings, meeting)
        return ephemeral_reply(f"{self.settings.message_for(command)} {link}")

    def _channel_lock(self, channel_id: str) -> asyncio.Lock:
        lock = self._creating.get(channel_id)
        if lock is None:
            lock = self._creating[channel_id] = asyncio.Lock()
        return lock

    def _meeting_reply(
        self, command: SlashCommand, request: SlashRequest, meeting: Meeting
    ) -> dict[str, Any]:
        return meeting_reply(
            message=self.settings.message_for(command),
            title=meeting.title,
            link=join_link(self.settings, meeting),
            response_type=self.settings.mattermost.response_type,
            starter=request.user_name,
            starter_label=message("starter", self.locale),
        )

    def _post_later(
        self, reply: asyncio.Future[dict[str, Any]], response_url: str
    ) -> None:
        task = asyncio.ensure_future(self._post_when_ready(reply, response_url))
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _post_when_ready(
        self, reply: asyncio.Future[dict[str, Any]], response_url: str
    ) -> None:
        try:
            body = await reply
        except Exception:
            logger.exception("Creating a meeting for a delayed reply failed")
            return
        if not response_url:
            logger.warning("No response_url in the request; the room link is lost")
            return
        await post_to_response_url(self.http, response_url, body)

    def _unknown_command(self, trigger: str) -> dict[str, Any]:
        commands = self.settings.mattermost.commands
        triggers = ", ".join(f"`{c.name}`" for c in commands)
        usage = message("usage", self.locale, trigger=commands[0].name)
        return ephemeral_reply(
            message(
                "unknown_command",
                self.locale,
                trigger=trigger,
                triggers=triggers,
                usage=usage,
            )
        )

    async def drain(self) -> None:
        """Wait for delayed replies still under way, as at shutdown."""
        if self._background:
            await asyncio.wait(self._background, timeout=10)


def _origin(request: SlashRequest) -> Origin:
    return Origin(
        team_id=request.team_id,
        team_domain=request.team_domain,
        channel_id=request.channel_id,
        channel_name=request.channel_name,
        user_id=request.user_id,
        user_name=request.user_name,
        root_id=request.root_id,
    )
