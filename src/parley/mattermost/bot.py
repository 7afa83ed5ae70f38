"""The channel bot: a meeting's post in its channel, kept up to date until it ends.

A slash command's own reply is authored by the user who typed it, and Parley cannot
edit it later, so the bot posts through the REST API instead. Every post and update
goes through the outbox, which delivers it whenever Mattermost is reachable.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any

from parley.config import Settings
from parley.errors import MattermostApiError
from parley.i18n import Locale, message
from parley.mattermost.actions import ActionSigner, end_button
from parley.mattermost.api import MattermostClient
from parley.mattermost.meeting_post import ended_post, open_post
from parley.mattermost.outbox import Outbox
from parley.meetings.model import Meeting
from parley.types import MeetingStore

logger = logging.getLogger(__name__)

# Mattermost shows a slash command's reply only if it comes within a few seconds.
ADMIN_CHECK_TIMEOUT = 2.0


def join_link(settings: Settings, meeting: Meeting) -> str:
    # Built from the configured public URL, never from a request's Host header,
    # which the client controls.
    return f"{settings.server.public_url}/join/{meeting.slug}"


class ChannelBot:
    def __init__(
        self,
        settings: Settings,
        *,
        client: MattermostClient,
        outbox: Outbox,
        signer: ActionSigner,
        meetings: MeetingStore,
    ) -> None:
        self.settings = settings
        self.client = client
        self.outbox = outbox
        self.signer = signer
        self.meetings = meetings
        self.locale: Locale = settings.mattermost.locale
        # Updates are queued in the order the changes happened; see _queue_patch.
        self._order = asyncio.Lock()
        self._me: dict[str, Any] | None = None  # the bot's user, once read

    @property
    def username(self) -> str:
        """The bot's user name, once read from Mattermost, else "parley"."""
        return str((self._me or {}).get("username") or "parley")

    async def check_credentials(self) -> bool:
        """Log in or check the token with GET /users/me; log one line either way."""
        url = self.client.base_url
        try:
            me = self._me = await self.client.me()
        except MattermostApiError as error:
            logger.error(
                "The Mattermost API at %s rejected Parley's credentials or could not "
                "be reached, so channel posts wait in the outbox until it works: %s",
                url,
                error,
            )
            return False
        logger.info(
            "Posting to Mattermost at %s as @%s (user id %s)",
            url,
            me.get("username", "?"),
            me.get("id", "?"),
        )
        return True

    async def announce(
        self,
        meeting: Meeting,
        *,
        response_url: str = "",
        fallback_reply: dict[str, Any] | None = None,
        intro: str = "",
    ) -> None:
        """Queue the meeting's post in the channel (or thread) it was started in.

        If the bot may not post there, the reply in `fallback_reply` goes to the
        command's `response_url` instead, so the meeting still appears in the channel.
        `intro` goes before the post's first line, such as the mentions of a
        scheduled meeting's invitees; later updates leave it out.
        """
        body = self._open_body(meeting, [])
        if intro:
            body["message"] = f"{intro}\n{body['message']}"
        fallback = (
            {"url": response_url, "reply": fallback_reply}
            if response_url and fallback_reply
            else None
        )
        async with self._order:
            await self.outbox.create_post(
                post_key(meeting),
                channel_id=meeting.origin.channel_id,
                root_id=meeting.origin.root_id,
                body=body,
                fallback=fallback,
            )

    async def participants_changed(
        self, meeting: Meeting, participants: Sequence[str]
    ) -> None:
        body = self._open_body(meeting, participants)
        await self._queue_patch(meeting, body)

    async def meeting_ended(self, meeting: Meeting) -> None:
        took_part = await self.meetings.list_participants(meeting)
        body = ended_post(meeting, took_part, locale=self.locale)
        await self._queue_patch(meeting, body)

    async def may_end(self, meeting: Meeting, user_id: str, channel_id: str) -> bool:
        """Return whether a user may end a meeting for everyone: its starter,
        a channel admin or a system admin."""
        if user_id and user_id == meeting.origin.user_id:
            return True
        return await self.is_admin(user_id, channel_id)

    async def is_admin(self, user_id: str, channel_id: str) -> bool:
        """Return whether a user administers a channel or the whole server.

        A slash command or a click waits for the result, so the check gets
        `ADMIN_CHECK_TIMEOUT` seconds. A check that fails counts as "no".
        """
        try:
            async with asyncio.timeout(ADMIN_CHECK_TIMEOUT):
                member = await self.client.channel_member(channel_id, user_id)
                if _is_channel_admin(member):
                    return True
                user = await self.client.get_user(user_id)
        except (MattermostApiError, TimeoutError) as error:
            logger.warning(
                "Cannot check whether user %s administers channel %s: %s",
                user_id,
                channel_id,
                str(error) or "timed out",
            )
            return False
        return "system_admin" in str(user.get("roles", "")).split()

    async def can_post(self, channel_id: str) -> bool | None:
        """Return whether the bot may post in a channel; None if it cannot tell.

        Mattermost has no dry run for a post, so this reads the bot's membership,
        and its roles for channels it has not joined: `system_post_all` covers
        every channel, `system_post_all_public` the open ones. A non-member gets
        404 for an open channel it may read and 403 for a private one.
        """
        try:
            async with asyncio.timeout(ADMIN_CHECK_TIMEOUT):
                if self._me is None:
                    self._me = await self.client.me()
                bot = self._me
                await self.client.channel_member(channel_id, str(bot.get("id", "")))
            return True
        except MattermostApiError as error:
            if self._me is None or error.status_code not in (403, 404):
                logger.warning(
                    "Cannot check the bot's access to channel %s: %s", channel_id, error
                )
                return None
            open_channel = error.status_code == 404
        except TimeoutError:
            logger.warning(
                "Checking the bot's access to channel %s timed out", channel_id
            )
            return None

        roles = str(self._me.get("roles", "")).split()
        if "system_admin" in roles or "system_post_all" in roles:
            return True
        return open_channel and "system_post_all_public" in roles

    def _open_body(
        self, meeting: Meeting, participants: Sequence[str]
    ) -> dict[str, Any]:
        button = end_button(
            self.signer,
            slug=meeting.slug,
            callback_url=self.settings.callback_url,
            label=message("post_end_button", self.locale),
        )
        return open_post(
            meeting,
            participants,
            link=join_link(self.settings, meeting),
            locale=self.locale,
            end_button=button,
        )

    async def _queue_patch(self, meeting: Meeting, body: dict[str, Any]) -> None:
        # Callers render the body from the state at the time of the change and then
        # wait here. The lock is first come, first served, so updates are queued in
        # the order of the changes and the last one shows the newest state.
        async with self._order:
            if not await self.outbox.store.has_post(post_key(meeting)):
                return  # not a meeting the bot announced
            await self.outbox.patch_post(post_key(meeting), body)


def post_key(meeting: Meeting) -> str:
    return f"meeting:{meeting.id}"


def _is_channel_admin(member: dict[str, Any]) -> bool:
    roles = str(member.get("roles", "")).split()
    return "channel_admin" in roles or member.get("scheme_admin") is True
