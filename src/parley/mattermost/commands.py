"""Running a slash command: from an authenticated request to the reply Mattermost shows.

Mattermost gives a command a few seconds at most before it shows the user an error, so
the reply never waits more than `reply_deadline` seconds for Janus. A room that takes
longer is announced through the command's `response_url` when it is ready.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import httpx

from parley.config import Settings, SlashCommand
from parley.errors import JanusError
from parley.i18n import Locale, message
from parley.mattermost.response_url import post_to_response_url
from parley.mattermost.slash import (
    InvalidCommandText,
    SlashRequest,
    ephemeral_reply,
    meeting_reply,
    parse_text,
)
from parley.meetings.model import Meeting, Origin
from parley.meetings.service import MeetingService

logger = logging.getLogger(__name__)


class SlashCommands:
    def __init__(
        self, settings: Settings, service: MeetingService, http: httpx.AsyncClient
    ) -> None:
        self.settings = settings
        self.service = service
        self.http = http
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

        title = invocation.title or message(
            "default_title", self.locale, user=request.user_name or "Parley"
        )
        return await self._create(command, request, title)

    async def _create(
        self, command: SlashCommand, request: SlashRequest, title: str
    ) -> dict[str, Any]:
        if not self.service.gateway.ready:
            logger.warning(
                "Slash command %s rejected: Janus is unavailable", command.name
            )
            return ephemeral_reply(message("media_unavailable", self.locale))

        reply = asyncio.ensure_future(self._create_and_reply(command, request, title))
        deadline = self.settings.mattermost.reply_deadline
        done, _ = await asyncio.wait({reply}, timeout=deadline)
        if done:
            return reply.result()

        logger.info("Janus is slow; the link will follow through response_url")
        self._post_later(reply, request.response_url)
        return ephemeral_reply(message("creating", self.locale, title=title))

    async def _create_and_reply(
        self, command: SlashCommand, request: SlashRequest, title: str
    ) -> dict[str, Any]:
        try:
            meeting = await self.service.create_meeting(title, _origin(request))
        except JanusError:
            return ephemeral_reply(message("creation_failed", self.locale, title=title))
        return self._meeting_reply(command, request, meeting)

    def _meeting_reply(
        self, command: SlashCommand, request: SlashRequest, meeting: Meeting
    ) -> dict[str, Any]:
        return meeting_reply(
            message=self.settings.message_for(command),
            title=meeting.title,
            link=self.link(meeting),
            response_type=self.settings.mattermost.response_type,
            starter=request.user_name,
            starter_label=message("starter", self.locale),
        )

    def link(self, meeting: Meeting) -> str:
        # Built from the configured public URL, never from the request's Host header,
        # which the client controls.
        return f"{self.settings.server.public_url}/join/{meeting.slug}"

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
    )
