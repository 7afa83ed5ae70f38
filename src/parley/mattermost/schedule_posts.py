"""Scheduled meetings in their channel: the announcement, reminders and the room.

The announcement is one post with the time as understood, the organiser, the
invitees, a calendar link and a Cancel button; cancelling updates it. Each reminder
is a post of its own, keyed by its occurrence, so the outbox never posts one twice.
At start time the room's post is the same meeting post `/sfu` makes, opened by a line
that mentions the invitees.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

from parley.config import Settings
from parley.i18n import Locale, message
from parley.mattermost.actions import CANCEL_SCHEDULE, ActionSigner, action_button
from parley.mattermost.bot import ChannelBot
from parley.mattermost.outbox import Outbox
from parley.meetings.model import Meeting
from parley.scheduling.model import Schedule
from parley.scheduling.when import describe_recurrence, describe_time

ANNOUNCE_COLOR = "#2a5db0"
CANCELLED_COLOR = "#8a8a8a"


def calendar_link(settings: Settings, schedule: Schedule) -> str:
    # The schedule's id has 128 random bits; the short id would be guessable.
    return f"{settings.server.public_url}/calendar/{schedule.id}.ics"


def feed_key(signer_key: bytes, channel_id: str) -> str:
    """Return the secret that makes a channel's calendar feed URL unguessable."""
    digest = hmac.new(signer_key, f"feed\n{channel_id}".encode(), hashlib.sha256)
    return digest.hexdigest()[:32]


def feed_link(settings: Settings, signer_key: bytes, channel_id: str) -> str:
    key = feed_key(signer_key, channel_id)
    return f"{settings.server.public_url}/calendar/channels/{channel_id}.ics?key={key}"


def describe_schedule(schedule: Schedule, locale: Locale) -> tuple[str, str]:
    """Return the first occurrence's time and, if it repeats, how."""
    when = describe_time(schedule.next_start, schedule.zone, locale)
    recurrence = schedule.recurrence
    repeat = "" if recurrence is None else describe_recurrence(recurrence, locale)
    return when, repeat


def mentions(schedule: Schedule) -> str:
    return "".join(f"@{name} " for name in schedule.invitees)


class SchedulePosts:
    """Queues the posts of scheduled meetings; the scheduler's `SchedulePoster`."""

    def __init__(
        self,
        settings: Settings,
        *,
        outbox: Outbox,
        signer: ActionSigner,
        bot: ChannelBot,
    ) -> None:
        self.settings = settings
        self.outbox = outbox
        self.signer = signer
        self.bot = bot
        self.locale: Locale = settings.mattermost.locale

    async def announce(self, schedule: Schedule) -> None:
        await self.outbox.create_post(
            _announcement_key(schedule),
            channel_id=schedule.channel_id,
            root_id=schedule.root_id,
            body=self._announcement(schedule),
        )

    async def cancelled(self, schedule: Schedule, *, by: str) -> None:
        await self.outbox.patch_post(
            _announcement_key(schedule), self._cancelled(schedule, by)
        )

    async def reminder(self, schedule: Schedule, *, late: bool) -> None:
        when = describe_time(schedule.next_start, schedule.zone, self.locale)
        text = message(
            "reminder_message",
            self.locale,
            mentions=mentions(schedule),
            title=schedule.title,
            when=when,
        )
        if late:
            text += message("reminder_late", self.locale)
        occurrence = int(schedule.next_start.timestamp())
        await self.outbox.create_post(
            f"reminder:{schedule.id}:{occurrence}",
            channel_id=schedule.channel_id,
            root_id=schedule.root_id,
            body={"message": text},
        )

    async def room_opened(self, schedule: Schedule, meeting: Meeting) -> None:
        intro = message(
            "room_opened_intro",
            self.locale,
            mentions=mentions(schedule),
            title=schedule.title,
        )
        await self.bot.announce(meeting, intro=intro)

    def _announcement(self, schedule: Schedule) -> dict[str, Any]:
        locale = self.locale
        when, repeat = describe_schedule(schedule, locale)
        fields = [{"title": message("announce_when", locale), "value": when}]
        if repeat:
            fields.append(
                {"title": message("announce_repeats", locale), "value": repeat}
            )
        if schedule.invitees:
            invited = " ".join(f"@{name}" for name in schedule.invitees)
            fields.append(
                {"title": message("announce_invited", locale), "value": invited}
            )
        fields += [
            {
                "title": message("announce_reminder", locale),
                "value": remind_text(schedule, locale),
                "short": True,
            },
            {
                "title": message("announce_id", locale),
                "value": f"`{schedule.short_id}`",
                "short": True,
            },
        ]
        button = action_button(
            self.signer,
            CANCEL_SCHEDULE,
            schedule.id,
            callback_url=self.settings.callback_url,
            label=message("announce_cancel_button", locale),
        )
        attachment = {
            "fallback": f"{schedule.title}: {when}",
            "color": ANNOUNCE_COLOR,
            "title": message("announce_calendar", locale),
            "title_link": calendar_link(self.settings, schedule),
            "fields": fields,
            "actions": [button],
        }
        text = message(
            "announce_message",
            locale,
            organiser=schedule.organiser_name or "Parley",
            title=schedule.title,
        )
        return {"message": text, "props": {"attachments": [attachment]}}

    def _cancelled(self, schedule: Schedule, by: str) -> dict[str, Any]:
        when, repeat = describe_schedule(schedule, self.locale)
        text = message(
            "announce_cancelled", self.locale, title=schedule.title, by=by or "-"
        )
        attachment = {
            "fallback": text,
            "color": CANCELLED_COLOR,
            "text": f"~~{when}~~" + (f" · ~~{repeat}~~" if repeat else ""),
        }
        return {"message": text, "props": {"attachments": [attachment]}}


def remind_text(schedule: Schedule, locale: Locale) -> str:
    seconds = int(schedule.remind_before.total_seconds())
    first_skipped = schedule.reminded_start == schedule.next_start
    if seconds <= 0 or (first_skipped and schedule.recurrence is None):
        # No reminder, or the only one would have come before it was scheduled.
        return message("schedule_no_reminder", locale)
    if seconds < 60:
        return message("schedule_remind_seconds", locale, seconds=seconds)
    if seconds % 86_400 == 0:
        return message("schedule_remind_days", locale, days=seconds // 86_400)
    if seconds % 3_600 == 0:
        return message("schedule_remind_hours", locale, hours=seconds // 3_600)
    return message("schedule_remind_before", locale, minutes=seconds // 60)


def _announcement_key(schedule: Schedule) -> str:
    return f"schedule:{schedule.id}"
