"""Calendar files of scheduled meetings: one meeting, or a channel's feed.

`/calendar/<id>.ics` is the "Add to calendar" link of a meeting's announcement. The
id has 128 random bits, so the link is its own key. `/calendar/channels/<id>.ics` is
the feed that `/sfu schedule list` shows. Its `key` is an HMAC of the channel id, so
only people who saw the link can subscribe. Meetings are scheduled only through the
channel bot, so without one both paths return 404.
"""

from __future__ import annotations

import hmac
import logging
import re
from urllib.parse import urlsplit

from fastapi import APIRouter, Query, Request, Response

from parley.config import Settings
from parley.i18n import Locale
from parley.mattermost.schedule_commands import ScheduleCommands
from parley.mattermost.schedule_posts import feed_key
from parley.scheduling.calendar import CalendarEvent, event_ics, feed_ics, meeting_uid
from parley.scheduling.model import Schedule, ScheduleState
from parley.web.api_auth import ApiError

logger = logging.getLogger(__name__)

router = APIRouter()

CALENDAR_TYPE = "text/calendar; charset=utf-8"
SCHEDULE_ID = re.compile(r"[0-9a-f]{32}")

# Calendar apps show these to people, so they follow `mattermost.locale` like posts.
_TEXT: dict[str, dict[Locale, str]] = {
    "description": {
        "en": (
            "Scheduled{by} in Mattermost channel {channel}. The meeting link is "
            "posted in that channel when the meeting starts."
        ),
        "zh": (
            "{by}在 Mattermost 频道 {channel} 预约。会议开始时，会议链接会发到该频道。"
        ),
    },
    "by": {"en": " by @{organiser}", "zh": "由 @{organiser} "},
    "feed_name": {
        "en": "Parley meetings in channel {channel}",
        "zh": "Parley 频道 {channel} 的会议",
    },
}


@router.api_route(
    "/calendar/{schedule_id}.ics", methods=["GET", "HEAD"], include_in_schema=False
)
async def meeting_calendar(request: Request, schedule_id: str) -> Response:
    commands = _schedule_commands(request)

    schedule = None
    if SCHEDULE_ID.fullmatch(schedule_id):
        schedule = await commands.service.store.get_by_id(schedule_id)
    if schedule is None:
        raise ApiError(
            404,
            {
                "error": "schedule_not_found",
                "message": "No scheduled meeting has this calendar link. Copy the "
                "whole link from the meeting's announcement in Mattermost.",
            },
        )

    settings = commands.settings
    event = calendar_event(settings, schedule)
    body = event_ics(event, stamp=commands.service.clock.now())
    return _calendar_response(body, f"parley-{schedule.short_id}.ics")


@router.api_route(
    "/calendar/channels/{channel_id}.ics",
    methods=["GET", "HEAD"],
    include_in_schema=False,
)
async def channel_feed(
    request: Request, channel_id: str, key: str = Query("")
) -> Response:
    commands = _schedule_commands(request)

    expected = feed_key(commands.feed_secret, channel_id)
    if not hmac.compare_digest(key.encode(), expected.encode()):
        logger.warning(
            "Calendar feed of channel %r rejected: %s key",
            channel_id,
            "wrong" if key else "missing",
        )
        raise ApiError(
            403,
            {
                "error": "invalid_feed_key",
                "message": "The key of this calendar feed is missing or wrong. Copy "
                "the whole feed link from `/sfu schedule list` in the channel.",
            },
        )

    settings = commands.settings
    schedules = await commands.service.store.list_for_channel(channel_id)
    events = [calendar_event(settings, schedule) for schedule in schedules]
    channel = _channel(schedules[0]) if schedules else channel_id
    name = _text("feed_name", settings.mattermost.locale, channel=channel)
    body = feed_ics(events, name=name, stamp=commands.service.clock.now())
    # The key has already vouched for the channel id, but a header takes no quotes.
    safe_channel = re.sub(r"[^A-Za-z0-9_-]", "", channel_id)
    return _calendar_response(body, f"parley-channel-{safe_channel}.ics")


def calendar_event(settings: Settings, schedule: Schedule) -> CalendarEvent:
    """Describe a scheduled meeting as the VEVENT calendar apps import."""
    host = urlsplit(settings.server.public_url).hostname or "parley"
    recurrence = schedule.recurrence
    return CalendarEvent(
        uid=meeting_uid(schedule.id, host),
        title=schedule.title,
        start=schedule.first_start,
        zone=schedule.zone,
        organiser=schedule.organiser_name,
        description=_description(schedule, settings.mattermost.locale),
        rrule=None if recurrence is None else recurrence.rrule(),
        cancelled=schedule.state is ScheduleState.CANCELLED,
        sequence=schedule.sequence,
    )


def _description(schedule: Schedule, locale: Locale) -> str:
    organiser = schedule.organiser_name
    by = _text("by", locale, organiser=organiser) if organiser else ""
    return _text("description", locale, by=by, channel=_channel(schedule))


def _channel(schedule: Schedule) -> str:
    # The name Mattermost shows in links (~town-square); schedules made through
    # the API may know only the id.
    return f"~{schedule.channel_name}" if schedule.channel_name else schedule.channel_id


def _text(key: str, locale: Locale, **values: str) -> str:
    return _TEXT[key][locale].format(**values)


def _schedule_commands(request: Request) -> ScheduleCommands:
    commands: ScheduleCommands | None = request.app.state.parley.commands.schedules
    if commands is None:
        raise ApiError(
            404,
            {
                "error": "scheduling_not_configured",
                "message": "Scheduled meetings need Parley's Mattermost bot, and "
                "none is configured: set PARLEY_MATTERMOST_URL and "
                "PARLEY_MATTERMOST_BOT_TOKEN.",
            },
        )
    return commands


def _calendar_response(body: bytes, filename: str) -> Response:
    return Response(
        body,
        media_type=CALENDAR_TYPE,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
