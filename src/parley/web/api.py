"""`/api/parley/v1`: Parley's own REST API for meetings.

It does what the slash command does and shows what Parley stores that MiroTalk's API
has no field for: participants, start and end times, and the Mattermost channel.
Clients send the API secret as `Authorization: Bearer <secret>`. Errors have the same
`{"error", "message"}` body as the rest of Parley, except FastAPI's 422, which lists
each invalid field under `detail` with its location.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Request, Security
from fastapi.security import HTTPBearer
from pydantic import BaseModel, ConfigDict, Field, field_validator

from parley.errors import MeetingError, RoomNameTaken
from parley.meetings.access import (
    DURATION_PATTERN,
    MAX_PASSWORD_CHARS,
    ROOM_NAME_PATTERN,
    format_duration,
    join_url,
    parse_duration,
)
from parley.meetings.model import Meeting, MeetingState, Origin, ParticipantRecord
from parley.web.api_auth import (
    ApiError,
    SecretFirstRoute,
    Verdict,
    check_secret,
    retry_after_header,
)

PREFIX = "/api/parley/v1"
MAX_TITLE_CHARS = 200


class ErrorBody(BaseModel):
    error: str = Field(examples=["room_not_found"])
    message: str = Field(examples=["No room has the slug 'standup'."])


def _require_secret(request: Request) -> None:
    settings = request.app.state.parley.settings
    header = request.headers.get("authorization", "")
    scheme, _, credentials = header.partition(" ")
    presented = credentials.strip() if scheme.lower() == "bearer" else None
    verdict, delay = check_secret(request, presented, settings.api.secret)
    if verdict is Verdict.DISABLED:
        raise ApiError(
            503,
            {
                "error": "not_configured",
                "message": "The REST API is disabled: set PARLEY_API_SECRET (or "
                "api.secret in the config file) to enable it.",
            },
        )
    if verdict is Verdict.LIMITED:
        raise ApiError(
            429,
            {
                "error": "too_many_attempts",
                "message": "Too many failed attempts from this address; retry after "
                "the number of seconds in Retry-After.",
            },
            headers=retry_after_header(delay),
        )
    if verdict is Verdict.REJECTED:
        raise ApiError(
            401,
            {
                "error": "invalid_secret",
                "message": "Send the API secret as 'Authorization: Bearer <secret>'.",
            },
            headers={"WWW-Authenticate": "Bearer"},
        )


class BearerSecretRoute(SecretFirstRoute):
    """A route of this API: the Bearer secret is checked before anything else."""

    guard = staticmethod(_require_secret)


router = APIRouter(
    prefix=PREFIX,
    tags=["Parley API"],
    route_class=BearerSecretRoute,
    dependencies=[Security(HTTPBearer(auto_error=False, scheme_name="bearerSecret"))],
    responses={
        400: {"model": ErrorBody, "description": "The body could not be parsed."},
        401: {"model": ErrorBody, "description": "The secret is missing or wrong."},
        429: {"model": ErrorBody, "description": "Too many failed attempts lately."},
        503: {"model": ErrorBody, "description": "No API secret is configured."},
    },
)

RoomName = Annotated[
    str,
    Path(
        pattern=ROOM_NAME_PATTERN,
        description="The room's slug: the last part of its link.",
        examples=["weekly-sync"],
    ),
]


class MeetingCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"title": "Weekly sync", "room": "weekly-sync", "duration": "01:00:00"}
            ]
        },
    )

    title: str = Field("Meeting", min_length=1, max_length=MAX_TITLE_CHARS)
    room: str | None = Field(
        None,
        pattern=ROOM_NAME_PATTERN,
        description="Room name for the link; omitted: an unguessable one.",
    )
    password: str | None = Field(
        None, min_length=1, max_length=MAX_PASSWORD_CHARS, description="Room password."
    )
    duration: str | None = Field(
        None,
        pattern=DURATION_PATTERN,
        description="HH:MM:SS from the first join, after which Parley ends the "
        "meeting; omitted or 'unlimited': no limit.",
        examples=["00:45:00"],
    )

    @field_validator("duration")
    @classmethod
    def _check_duration(cls, value: str | None) -> str | None:
        if value is not None:
            parse_duration(value)
        return value


class Channel(BaseModel):
    team_id: str
    team_domain: str
    channel_id: str
    channel_name: str


class Participant(BaseModel):
    id: str
    name: str
    joined_at: datetime
    left_at: datetime | None


class MeetingSummary(BaseModel):
    room: str = Field(examples=["weekly-sync"])
    title: str
    url: str
    state: Literal["open", "ended"]
    created_at: datetime
    started_at: datetime | None = Field(description="When the first person joined.")
    ended_at: datetime | None
    ends_at: datetime | None = Field(description="When the duration runs out.")
    duration: str | None = Field(description="HH:MM:SS, or null for no limit.")
    password_protected: bool
    created_by: str | None = Field(description="Mattermost user name, or 'api'.")
    channel: Channel | None = Field(description="Where /sfu was typed; null if API.")
    live_participants: int = Field(description="Participants connected right now.")


class MeetingDetail(MeetingSummary):
    participants: list[Participant] = Field(
        description="Everyone who joined, in the order they joined."
    )


class MeetingList(BaseModel):
    meetings: list[MeetingSummary]


NOT_FOUND = {404: {"model": ErrorBody, "description": "No meeting has that room."}}


@router.post(
    "/meetings",
    status_code=201,
    summary="Create a meeting",
    responses={409: {"model": ErrorBody, "description": "The room name is in use."}},
)
async def create_meeting(request: Request, body: MeetingCreate) -> MeetingDetail:
    service = request.app.state.parley.service
    origin = Origin(user_name="api")
    if body.room is None:
        meeting = await service.create_meeting(body.title, origin)
    else:
        try:
            meeting = await service.create_named_meeting(body.room, body.title, origin)
        except RoomNameTaken as error:
            body_ = {"error": "room_taken", "message": str(error)}
            raise ApiError(409, body_) from None

    duration = parse_duration(body.duration) if body.duration else None
    if body.password is not None or duration is not None:
        await service.set_access(meeting, password=body.password, duration=duration)
    return _detail(request, meeting, [])


@router.get("/meetings", summary="List meetings, newest first")
async def list_meetings(
    request: Request,
    state: Literal["open", "ended"] | None = Query(None, description="Only these."),
    limit: int = Query(50, ge=1, le=500),
) -> MeetingList:
    store = request.app.state.parley.service.store
    meetings = await store.list_meetings(
        state=None if state is None else MeetingState(state), limit=limit
    )
    return MeetingList(meetings=[_summary(request, m) for m in meetings])


@router.get("/meetings/{room}", summary="Show a meeting", responses=NOT_FOUND)
async def show_meeting(request: Request, room: RoomName) -> MeetingDetail:
    meeting = await _find(request, room)
    participants = await request.app.state.parley.service.store.list_participants(
        meeting
    )
    return _detail(request, meeting, participants)


@router.delete(
    "/meetings/{room}",
    summary="End a meeting for everyone",
    responses={
        **NOT_FOUND,
        409: {"model": ErrorBody, "description": "The meeting has already ended."},
    },
)
async def end_meeting(request: Request, room: RoomName) -> MeetingDetail:
    parley = request.app.state.parley
    meeting = await _find(request, room)
    ended = ApiError(
        409, {"error": "meeting_ended", "message": f"Meeting {room!r} already ended."}
    )
    if meeting.state is MeetingState.ENDED:
        raise ended
    try:
        await parley.live_rooms.end_meeting(meeting)
    except MeetingError:
        raise ended from None
    participants = await parley.service.store.list_participants(meeting)
    return _detail(request, meeting, participants)


async def _find(request: Request, room: str) -> Meeting:
    meeting = await request.app.state.parley.service.store.get_meeting(room)
    if meeting is None:
        raise ApiError(
            404,
            {"error": "room_not_found", "message": f"No meeting has room {room!r}."},
        )
    return meeting


def _summary(request: Request, meeting: Meeting) -> MeetingSummary:
    parley = request.app.state.parley
    origin = meeting.origin
    live = parley.live_rooms.find(meeting.slug)
    connected = (
        len(live.participants)
        if live is not None and live.meeting.id == meeting.id
        else 0
    )
    channel = None
    if origin.channel_id or origin.channel_name:
        channel = Channel(
            team_id=origin.team_id,
            team_domain=origin.team_domain,
            channel_id=origin.channel_id,
            channel_name=origin.channel_name,
        )
    return MeetingSummary(
        room=meeting.slug,
        title=meeting.title,
        url=join_url(parley.settings.server.public_url, meeting.slug),
        state=meeting.state.value,
        created_at=meeting.created_at,
        started_at=meeting.started_at,
        ended_at=meeting.ended_at,
        ends_at=meeting.ends_at,
        duration=format_duration(meeting.duration) if meeting.duration else None,
        password_protected=meeting.password_hash is not None,
        created_by=origin.user_name or origin.user_id or None,
        channel=channel,
        live_participants=connected,
    )


def _detail(
    request: Request, meeting: Meeting, participants: list[ParticipantRecord]
) -> MeetingDetail:
    return MeetingDetail(
        **_summary(request, meeting).model_dump(),
        participants=[
            Participant(id=p.id, name=p.name, joined_at=p.joined_at, left_at=p.left_at)
            for p in participants
        ],
    )
