"""`/api/parley/v1/schedules`: scheduled meetings through Parley's REST API.

A meeting scheduled here is the same as one from `/sfu schedule`: the bot announces
it in its channel, posts the reminders and opens the room at the start. So these
endpoints need the bot, and return 503 without one. The time is either the text
`/sfu schedule` takes (`when`), or an ISO 8601 `start` with optional weekdays.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal, get_args
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Path, Query, Request, Security
from fastapi.exceptions import RequestValidationError
from fastapi.security import HTTPBearer
from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
)

from parley.mattermost.schedule_commands import ScheduleCommands
from parley.mattermost.schedule_posts import calendar_link
from parley.scheduling.model import Schedule, ScheduleState
from parley.scheduling.recurrence import Recurrence, is_zone_name
from parley.scheduling.service import Organiser
from parley.scheduling.when import (
    MAX_AHEAD,
    MAX_REMIND,
    ScheduleError,
    ScheduleRequest,
    parse_schedule,
)
from parley.web.api import MAX_TITLE_CHARS, PREFIX, BearerSecretRoute, ErrorBody
from parley.web.api_auth import ApiError

# Mattermost ids are 26 characters of lower-case letters and digits.
CHANNEL_ID_PATTERN = r"^[a-z0-9]{26}$"
USER_NAME_PATTERN = r"^[A-Za-z][A-Za-z0-9._-]{0,63}$"
SHORT_ID_PATTERN = r"^[a-z0-9]{1,16}$"
# Room for a 200-character title after the time, `--remind` and some `@` mentions.
MAX_WHEN_CHARS = 1000
MAX_INVITEES = 50
DEFAULT_TITLE = "Meeting"

DayName = Literal[
    "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"
]
DAY_NAMES: tuple[str, ...] = get_args(DayName)  # indexed like datetime.weekday()
UserName = Annotated[str, StringConstraints(pattern=USER_NAME_PATTERN)]
StateName = Literal["scheduled", "cancelled", "finished"]


def _require_bot(request: Request) -> None:
    if request.app.state.parley.commands.schedules is None:
        raise ApiError(
            503,
            {
                "error": "bot_not_configured",
                "message": "Scheduled meetings need Parley's Mattermost bot, which "
                "posts the reminders: set PARLEY_MATTERMOST_URL and "
                "PARLEY_MATTERMOST_BOT_TOKEN.",
            },
        )


router = APIRouter(
    prefix=PREFIX,
    tags=["Parley API"],
    route_class=BearerSecretRoute,
    dependencies=[
        Security(HTTPBearer(auto_error=False, scheme_name="bearerSecret")),
        Depends(_require_bot),
    ],
    responses={
        400: {"model": ErrorBody, "description": "The body could not be parsed."},
        401: {"model": ErrorBody, "description": "The secret is missing or wrong."},
        429: {"model": ErrorBody, "description": "Too many failed attempts lately."},
        503: {
            "model": ErrorBody,
            "description": "No API secret, or no Mattermost bot, is configured.",
        },
    },
)

ShortId = Annotated[
    str,
    Path(
        pattern=SHORT_ID_PATTERN,
        description="The id people type in `/sfu schedule cancel <id>`.",
        examples=["k3x9qa"],
    ),
]


class ScheduleCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            # Exactly one of `when` and `start`, and `every` only with `start`.
            "oneOf": [{"required": ["when"]}, {"required": ["start"]}],
            "dependentRequired": {"every": ["start"]},
            "examples": [
                {
                    "channel_id": "4xp9ak3nqjbf8rd1cz6tm5yw7e",
                    "title": "Standup",
                    "when": "tomorrow 9:30",
                    "timezone": "Europe/Berlin",
                },
                {
                    "channel_id": "4xp9ak3nqjbf8rd1cz6tm5yw7e",
                    "title": "Weekly sync",
                    "start": "2027-01-18T10:00:00+01:00",
                    "every": ["monday"],
                    "timezone": "Europe/Berlin",
                },
            ],
        },
    )

    channel_id: str = Field(
        pattern=CHANNEL_ID_PATTERN,
        description="The Mattermost channel where the bot announces the meeting, "
        "posts its reminders and opens its room.",
    )
    title: str | None = Field(
        None,
        min_length=1,
        max_length=MAX_TITLE_CHARS,
        description=f"Omitted: the title in `when`, else '{DEFAULT_TITLE}'.",
    )
    when: str | None = Field(
        None,
        min_length=1,
        max_length=MAX_WHEN_CHARS,
        description="The text `/sfu schedule` takes, such as 'tomorrow 9:30' or "
        "'every monday 10:00 --remind 5m @alice'. Give `when` or `start`.",
        examples=["tomorrow 9:30"],
    )
    start: AwareDatetime | None = Field(
        None,
        description="The first start, ISO 8601 with a UTC offset, cut to the "
        "minute. Give `when` or `start`.",
    )
    every: list[DayName] | None = Field(
        None,
        min_length=1,
        max_length=7,
        description="With `start`: repeat weekly on these days, at the wall-clock "
        "time `start` has in `timezone`. The first meeting is the first of these "
        "days at or after `start`.",
    )
    timezone: str | None = Field(
        None,
        max_length=64,
        description="IANA zone the time is read and repeated in. Omitted: "
        "`schedule.default_timezone` from Parley's settings.",
        examples=["Europe/Berlin"],
    )
    remind_minutes: int | None = Field(
        None,
        ge=0,
        le=MAX_REMIND // timedelta(minutes=1),
        description="Minutes before each start to post a reminder; 0 for none. "
        "Omitted: `--remind` in `when`, else `schedule.reminder_minutes`.",
    )
    organiser: UserName | None = Field(
        None, description="Mattermost user name shown as the organiser."
    )
    invitees: list[UserName] = Field(
        [],
        max_length=MAX_INVITEES,
        description="User names the reminders mention, added to those in `when`.",
    )

    @field_validator("timezone")
    @classmethod
    def _check_zone(cls, value: str | None) -> str | None:
        if value is not None and not is_zone_name(value):
            raise ValueError(
                f"{value!r} is not an IANA time zone name such as "
                "'Europe/Berlin' or 'Asia/Shanghai'"
            )
        return value


class ScheduledMeeting(BaseModel):
    id: str = Field(description="128-bit id; the key of the calendar link.")
    short_id: str = Field(examples=["k3x9qa"])
    title: str
    channel_id: str
    organiser: str | None = Field(description="Mattermost user name, if known.")
    timezone: str = Field(examples=["Europe/Berlin"])
    first_start: datetime
    next_start: datetime = Field(
        description="The occurrence the reminders and room are for next."
    )
    rrule: str | None = Field(
        description="RFC 5545 rule of a recurring meeting, null for a one-off one.",
        examples=["FREQ=WEEKLY;BYDAY=MO"],
    )
    remind_minutes: int = Field(
        description="Whole minutes before each occurrence that the reminder comes."
    )
    remind_seconds: int = Field(
        description="The same in seconds, exact for a reminder under a minute; 0 for "
        "none."
    )
    state: StateName
    invitees: list[str]
    created_at: datetime
    cancelled_at: datetime | None
    calendar_url: str = Field(description="The meeting as an .ics file.")


class ScheduleList(BaseModel):
    schedules: list[ScheduledMeeting]


NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorBody, "description": "No scheduled meeting has that id."}
}


@router.post("/schedules", status_code=201, summary="Schedule a meeting")
async def create_schedule(request: Request, body: ScheduleCreate) -> ScheduledMeeting:
    commands = _commands(request)
    schedule_request = await _read_request(commands, body)
    if await commands.bot.can_post(body.channel_id) is False:
        # The reminders would fail the same way, so nothing is scheduled.
        bot = commands.bot.username
        raise _invalid(
            "channel_id",
            f"Parley's bot @{bot} cannot post in this channel; add it to the "
            "channel, then schedule the meeting again.",
            body.channel_id,
        )
    organiser = Organiser(user_name=body.organiser or "", channel_id=body.channel_id)

    schedule = await commands.service.schedule(schedule_request, organiser)
    await commands.posts.announce(schedule)
    commands.scheduler.wake()
    return _scheduled_meeting(commands, schedule)


@router.get("/schedules", summary="List scheduled meetings, the soonest first")
async def list_schedules(
    request: Request,
    channel_id: Annotated[str | None, Query(pattern=CHANNEL_ID_PATTERN)] = None,
    state: Annotated[StateName | None, Query(description="Only these.")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> ScheduleList:
    commands = _commands(request)
    schedules = await commands.service.store.list_schedules(
        channel_id=channel_id,
        state=None if state is None else ScheduleState(state),
        limit=limit,
    )
    return ScheduleList(schedules=[_scheduled_meeting(commands, s) for s in schedules])


@router.get(
    "/schedules/{short_id}", summary="Show a scheduled meeting", responses=NOT_FOUND
)
async def show_schedule(request: Request, short_id: ShortId) -> ScheduledMeeting:
    commands = _commands(request)
    schedule = await _find(commands, short_id)
    return _scheduled_meeting(commands, schedule)


@router.delete(
    "/schedules/{short_id}",
    summary="Cancel a scheduled meeting and its reminders",
    responses={
        **NOT_FOUND,
        409: {"model": ErrorBody, "description": "It is no longer scheduled."},
    },
)
async def cancel_schedule(request: Request, short_id: ShortId) -> ScheduledMeeting:
    commands = _commands(request)
    schedule = await _find(commands, short_id)

    # The state may change between reading and cancelling, as when the scheduler
    # finishes a one-off meeting, so the conditional UPDATE in `cancel` decides.
    if not await commands.service.cancel(schedule):
        raise ApiError(
            409,
            {
                "error": "not_scheduled",
                "message": f"Meeting {short_id!r} is {schedule.state}, not "
                "scheduled, so there is nothing to cancel.",
            },
        )
    await commands.posts.cancelled(schedule, by="api")
    return _scheduled_meeting(commands, schedule)


async def _read_request(
    commands: ScheduleCommands, body: ScheduleCreate
) -> ScheduleRequest:
    """Turn the body into the ScheduleRequest `/sfu schedule` would make."""
    settings = commands.settings
    zone = ZoneInfo(body.timezone or settings.schedule.default_timezone)
    now = commands.service.clock.now()

    if body.when is not None and body.start is not None:
        raise _invalid("when", "Give `when` or `start`, not both.", body.when)
    if body.when is None and body.start is None:
        raise _invalid("when", "The time is missing: give `when` or `start`.", None)
    if body.start is not None:
        parsed = _request_from_start(body, body.start, zone, now)
    else:
        if body.every is not None:
            raise _invalid(
                "every",
                "`every` goes with `start`; with `when`, write the days in the "
                "text, such as 'every monday 10:00'.",
                body.every,
            )
        parsed = await _parse_when(commands, body.when or "", zone, now)

    if body.title and parsed.title:
        raise _invalid(
            "title",
            f"`when` has a title ({parsed.title!r}) and so does `title`; give one.",
            body.title,
        )
    title = body.title or parsed.title or DEFAULT_TITLE
    if len(title) > MAX_TITLE_CHARS:
        raise _invalid(
            "when", f"The title is longer than {MAX_TITLE_CHARS} characters.", title
        )

    remind = parsed.remind_before
    if body.remind_minutes is not None:
        if remind is not None:
            raise _invalid(
                "remind_minutes",
                "`when` has --remind and `remind_minutes` is given; give one.",
                body.remind_minutes,
            )
        remind = timedelta(minutes=body.remind_minutes)

    invitees = dict.fromkeys([*parsed.invitees, *(n.lower() for n in body.invitees)])
    return ScheduleRequest(
        title=title,
        start=parsed.start,
        zone=parsed.zone,
        local_start=parsed.local_start,
        recurrence=parsed.recurrence,
        remind_before=remind,
        invitees=tuple(invitees),
    )


async def _parse_when(
    commands: ScheduleCommands, when: str, zone: ZoneInfo, now: datetime
) -> ScheduleRequest:
    locale = commands.settings.mattermost.locale
    try:
        # dateparser takes milliseconds a call: keep it off the event loop.
        return await asyncio.to_thread(
            parse_schedule, when, now=now, zone=zone, locale=locale
        )
    except ScheduleError as error:
        raise _invalid("when", str(error), when, kind=error.key) from None


def _request_from_start(
    body: ScheduleCreate, start: datetime, zone: ZoneInfo, now: datetime
) -> ScheduleRequest:
    start = start.replace(second=0, microsecond=0)
    recurrence = None
    try:
        first = start.astimezone(UTC)
    except OverflowError:
        # An offset that moves year 1 or year 9999 out of the datetime range.
        raise _invalid("start", "The start is out of range.", body.start) from None
    if first - now > MAX_AHEAD:
        # Checked before the recurrence, which finds no occurrence after year 9999.
        raise _invalid(
            "start",
            f"{first.isoformat()} is more than {MAX_AHEAD.days} days ahead.",
            body.start,
        )
    if body.every is not None:
        days = frozenset(DAY_NAMES.index(day) for day in body.every)
        try:
            recurrence = Recurrence(days, start.astimezone(zone).time(), zone)
            # Occurrences fall on whole minutes, so this is the first at or after
            # start.
            first = recurrence.next_after(start - timedelta(minutes=1))
        except (OverflowError, IndexError):
            # dateutil and datetime give up on dates next to year 1 or year 9999.
            raise _invalid("start", "The start is out of range.", body.start) from None

    if first <= now:
        raise _invalid("start", f"{first.isoformat()} has passed.", body.start)
    if first - now > MAX_AHEAD:
        raise _invalid(
            "start",
            f"{first.isoformat()} is more than {MAX_AHEAD.days} days ahead.",
            body.start,
        )
    return ScheduleRequest(
        title="",
        start=first,
        zone=zone,
        local_start=first.astimezone(zone).replace(tzinfo=None),
        recurrence=recurrence,
    )


def _invalid(
    field: str, message: str, value: Any, *, kind: str = "value_error"
) -> RequestValidationError:
    """Build a 422 in FastAPI's shape, naming the field like its own errors do."""
    error = {"type": kind, "loc": ("body", field), "msg": message, "input": value}
    return RequestValidationError([error])


def _commands(request: Request) -> ScheduleCommands:
    commands: ScheduleCommands | None = request.app.state.parley.commands.schedules
    assert commands is not None  # _require_bot let the request through
    return commands


async def _find(commands: ScheduleCommands, short_id: str) -> Schedule:
    schedule = await commands.service.store.get(short_id)
    if schedule is None:
        raise ApiError(
            404,
            {
                "error": "schedule_not_found",
                "message": f"No scheduled meeting has the id {short_id!r}.",
            },
        )
    return schedule


def _scheduled_meeting(
    commands: ScheduleCommands, schedule: Schedule
) -> ScheduledMeeting:
    recurrence = schedule.recurrence
    return ScheduledMeeting(
        id=schedule.id,
        short_id=schedule.short_id,
        title=schedule.title,
        channel_id=schedule.channel_id,
        organiser=schedule.organiser_name or None,
        timezone=schedule.zone.key,
        first_start=schedule.first_start,
        next_start=schedule.next_start,
        rrule=None if recurrence is None else recurrence.rrule(),
        remind_minutes=schedule.remind_before // timedelta(minutes=1),
        remind_seconds=int(schedule.remind_before.total_seconds()),
        state=schedule.state.value,
        invitees=list(schedule.invitees),
        created_at=schedule.created_at,
        cancelled_at=schedule.cancelled_at,
        calendar_url=calendar_link(commands.settings, schedule),
    )
