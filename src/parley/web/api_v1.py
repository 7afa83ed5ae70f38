"""`/api/v1`: MiroTalk SFU's REST API, so scripts written for MiroTalk work unchanged.

Paths, methods, request bodies, response shapes and statuses follow MiroTalk SFU's
published OpenAPI description (`app/api/swagger.yaml`, API version 1.0.1) and its
server's behaviour: the secret goes in the `authorization` header as it is, and a
missing or wrong one gets 403 `{"error": "Unauthorized!"}`. Booleans may come as the
strings "true" and "false", as MiroTalk's own example scripts send them.

Where Parley differs from MiroTalk:

- A room name must be 1 to 64 letters, digits, '-' or '_' (422 otherwise), because
  it becomes the room's slug in the link.
- `GET /activeRooms` needs the secret too, since it lists every open room's link.
- `duration` counts from the first join and ends the meeting for everyone, on the
  server, when it runs out.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Request, Security
from fastapi.security import APIKeyHeader
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictStr,
    WithJsonSchema,
    field_validator,
)

from parley.errors import MeetingError
from parley.meetings.access import (
    DURATION_PATTERN,
    LIFETIME_PATTERN,
    MAX_PASSWORD_CHARS,
    ROOM_NAME_PATTERN,
    TokenClaims,
    check_room_name,
    join_url,
    parse_duration,
    parse_lifetime,
)
from parley.meetings.live import MAX_NAME_CHARS
from parley.meetings.model import MeetingState, Origin
from parley.web.api_auth import (
    ApiError,
    SecretFirstRoute,
    Verdict,
    check_secret,
    retry_after_header,
)

logger = logging.getLogger(__name__)

API_ORIGIN = Origin(user_name="api")


def _read_bool(value: object) -> object:
    # MiroTalk's example scripts send "true" and "false"; numbers and other strings
    # stay invalid for the strict check that follows.
    return (
        {"true": True, "false": False}.get(value, value)
        if isinstance(value, str)
        else value
    )


MiroTalkBool = Annotated[
    bool,
    Field(strict=True),
    BeforeValidator(_read_bool),
    WithJsonSchema(
        {"anyOf": [{"type": "boolean"}, {"type": "string", "enum": ["true", "false"]}]}
    ),
]


class ErrorBody(BaseModel):
    error: str = Field(examples=["Unauthorized!"])


def _require_secret(request: Request) -> None:
    settings = request.app.state.parley.settings
    presented = request.headers.get("authorization")
    verdict, delay = check_secret(request, presented, settings.api.secret)
    if verdict is Verdict.DISABLED:
        raise ApiError(
            403,
            {
                "error": "The REST API is disabled: set PARLEY_API_SECRET (or "
                "api.secret in the config file) to enable it."
            },
        )
    if verdict is Verdict.LIMITED:
        raise ApiError(
            429,
            {"error": "Too many failed attempts; try again later."},
            headers=retry_after_header(delay),
        )
    if verdict is Verdict.REJECTED:
        raise ApiError(403, {"error": "Unauthorized!"})


class _Route(SecretFirstRoute):
    guard = staticmethod(_require_secret)


# Documents the scheme in OpenAPI; _Route does the checking.
_secret_header = APIKeyHeader(
    name="authorization",
    auto_error=False,
    scheme_name="secretApiKey",
    description="The API secret, as it is: `authorization: <secret>`.",
)

router = APIRouter(
    prefix="/api/v1",
    tags=["MiroTalk-compatible API"],
    route_class=_Route,
    dependencies=[Security(_secret_header)],
    responses={
        400: {"model": ErrorBody, "description": "The body could not be parsed."},
        403: {
            "model": ErrorBody,
            "description": "The secret is missing or wrong, or the API is disabled.",
        },
        429: {
            "model": ErrorBody,
            "description": "Too many failed attempts from this address lately.",
        },
    },
)


class MeetingResponse(BaseModel):
    meeting: str = Field(
        description="Link to a new room.",
        examples=["https://meet.example.org/join/meeting-3f9kq2m7x4v6b8d1za5c"],
    )


class TokenRequest(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"username": "ada", "password": "x", "presenter": True, "expire": "1h"}
            ]
        }
    )

    username: str = Field(
        "username",
        max_length=MAX_NAME_CHARS,
        description="Display name the meeting page suggests to the token's holder.",
    )
    password: str = Field(
        "password",
        max_length=MAX_PASSWORD_CHARS,
        description="Accepted for compatibility and ignored: Parley has no user "
        "accounts, and the token never contains it.",
    )
    presenter: MiroTalkBool = True
    expire: (
        Annotated[str, Field(pattern=LIFETIME_PATTERN)] | Annotated[int, Field(ge=1)]
    ) = Field(
        "1h",
        description="Lifetime: seconds as a number, or a number and a unit "
        "('30m', '1h', '7d'); a string without a unit counts milliseconds.",
    )

    @field_validator("expire")
    @classmethod
    def _check_expire(cls, value: str | int) -> str | int:
        parse_lifetime(value)
        return value

    def claims(self, now: datetime, room: str | None) -> TokenClaims:
        return TokenClaims(
            username=self.username,
            presenter=self.presenter,
            expires_at=now + parse_lifetime(self.expire),
            room=room,
        )


class TokenResponse(BaseModel):
    token: str = Field(examples=["eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.e30.sig"])


class JoinRequest(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "room": "weekly-sync",
                    "roomPassword": False,
                    "name": "Ada",
                    "avatar": False,
                    "audio": True,
                    "video": True,
                    "screen": False,
                    "chat": False,
                    "hide": False,
                    "notify": True,
                    "duration": "01:00:00",
                    "token": {"username": "ada", "presenter": True, "expire": "1h"},
                }
            ]
        }
    )

    room: str | None = Field(
        None,
        pattern=ROOM_NAME_PATTERN,
        description="Room name, 1 to 64 of A-Z a-z 0-9 - _; a new room is created "
        "if none is open by that name. Omitted: a new room with a random name.",
    )
    roomPassword: Literal[False] | StrictStr = Field(
        False,
        description="false: leave the room's password as it is. A string: the "
        "room's password from now on; the link carries it.",
    )
    name: str | None = Field(None, description="Display name the page fills in.")
    avatar: StrictBool | StrictStr = Field(False, description="Accepted, ignored.")
    audio: MiroTalkBool = Field(False, description="Microphone on when joining.")
    video: MiroTalkBool = Field(False, description="Camera on when joining.")
    screen: MiroTalkBool = Field(False, description="Accepted and ignored.")
    chat: MiroTalkBool = Field(False, description="Accepted and ignored.")
    hide: MiroTalkBool = Field(False, description="Accepted and ignored.")
    notify: MiroTalkBool = Field(False, description="Accepted and ignored.")
    duration: str = Field(
        "unlimited",
        pattern=DURATION_PATTERN,
        description="HH:MM:SS from the first join, after which the server ends the "
        "meeting for everyone; 'unlimited' leaves the room's duration as it is.",
    )
    token: TokenRequest | None = Field(
        None, description="Put a token in the link that admits until it expires."
    )

    @field_validator("room")
    @classmethod
    def _check_room(cls, value: str | None) -> str | None:
        return None if value is None else check_room_name(value)

    @field_validator("roomPassword", mode="before")
    @classmethod
    def _check_password_type(cls, value: object) -> object:
        # Literal[False] alone would take 0 for false.
        if not isinstance(value, bool | str):
            raise ValueError("give the room password as a string, or false for none")
        return value

    @field_validator("roomPassword")
    @classmethod
    def _check_password(cls, value: bool | str) -> bool | str:
        if isinstance(value, str) and len(value) > MAX_PASSWORD_CHARS:
            raise ValueError(f"a room password has at most {MAX_PASSWORD_CHARS} chars")
        return value

    @field_validator("name")
    @classmethod
    def _check_name(cls, value: str | None) -> str | None:
        if value is not None and len(" ".join(value.split())) > MAX_NAME_CHARS:
            raise ValueError(f"a name has at most {MAX_NAME_CHARS} characters")
        return value

    @field_validator("duration")
    @classmethod
    def _check_duration(cls, value: str) -> str:
        parse_duration(value)
        return value

    @property
    def password(self) -> str | None:
        """The room password, or None for MiroTalk's false, "false" and ""."""
        value = self.roomPassword
        if value is False or not isinstance(value, str):
            return None
        return None if value in ("", "false") else value


class JoinResponse(BaseModel):
    join: str = Field(
        examples=["https://meet.example.org/join/weekly-sync?name=Ada&audio=1&video=1"]
    )


class StatsResponse(BaseModel):
    success: bool
    timestamp: str = Field(examples=["2027-01-15T09:00:00.000Z"])
    totalRooms: int = Field(description="Rooms with at least one participant.")
    totalUsers: int = Field(description="Participants in those rooms.")
    totalPeers: int = Field(
        description="The same as totalUsers: MiroTalk's server sends totalUsers, "
        "its OpenAPI description names totalPeers."
    )


class Peer(BaseModel):
    name: str
    presenter: bool
    video: bool
    audio: bool
    screen: bool
    hand: bool
    os: str
    browser: str


class MeetingPeers(BaseModel):
    roomId: str
    peers: list[Peer]


class MeetingsResponse(BaseModel):
    meetings: list[MeetingPeers]


class ActiveRoom(BaseModel):
    id: str
    peers: int
    join: str


class ActiveRoomsResponse(BaseModel):
    activeRooms: list[ActiveRoom]


class EndMeetingRequest(BaseModel):
    # TODO: the page does not redirect yet; it shows that the meeting ended.
    redirect: str = Field("", description="Accepted and ignored.")


class EndMeetingResponse(BaseModel):
    success: bool
    message: str | None = None
    error: str | None = None
    room: str | None = None


@router.post("/meeting", summary="Create a meeting")
async def create_meeting(request: Request) -> MeetingResponse:
    parley = request.app.state.parley
    meeting = await parley.service.create_meeting("Meeting", API_ORIGIN)
    return MeetingResponse(
        meeting=join_url(parley.settings.server.public_url, meeting.slug)
    )


@router.post("/join", summary="Create a join link with options")
async def create_join(
    request: Request, body: JoinRequest | None = None
) -> JoinResponse:
    parley = request.app.state.parley
    body = body or JoinRequest()
    if body.room is None:
        meeting = await parley.service.create_meeting("Meeting", API_ORIGIN)
    else:
        meeting = await parley.service.open_named_meeting(body.room, API_ORIGIN)

    password, duration = body.password, parse_duration(body.duration)
    if password is not None or duration is not None:
        await parley.service.set_access(meeting, password=password, duration=duration)
        parley.live_rooms.apply_access(meeting)

    token = None
    if body.token is not None:
        token = _issue_token(request, body.token, room=meeting.slug)
    name = body.name or (body.token.username if body.token else None)
    link = join_url(
        parley.settings.server.public_url,
        meeting.slug,
        name=" ".join(name.split()) if name else None,
        audio=body.audio,
        video=body.video,
        password=None if token else password,
        token=token,
    )
    return JoinResponse(join=link)


@router.post("/token", summary="Create a token that admits to any room")
async def create_token(
    request: Request, body: TokenRequest | None = None
) -> TokenResponse:
    return TokenResponse(token=_issue_token(request, body or TokenRequest(), None))


@router.get(
    "/meetings",
    summary="List rooms with participants",
    description="Off unless `api.meetings_list_enabled` is true (403 otherwise).",
)
async def list_meetings(request: Request) -> MeetingsResponse:
    parley = request.app.state.parley
    if not parley.settings.api.meetings_list_enabled:
        raise ApiError(
            403,
            {
                "error": "This endpoint is disabled: set PARLEY_API_MEETINGS_LIST=true "
                "(or api.meetings_list_enabled) to enable it."
            },
        )
    meetings = [
        MeetingPeers(
            roomId=room.meeting.slug,
            peers=[
                Peer(
                    name=participant.name,
                    presenter=participant.presenter,
                    video=participant.video,
                    audio=participant.audio,
                    screen=False,
                    hand=False,
                    os="",
                    browser="",
                )
                for participant in room.participants.values()
            ],
        )
        for room in parley.live_rooms.rooms()
    ]
    return MeetingsResponse(meetings=meetings)


@router.get("/stats", summary="Count rooms and participants")
async def stats(request: Request) -> StatsResponse:
    parley = request.app.state.parley
    now = parley.service.clock.now().astimezone(UTC)
    users = parley.live_rooms.count_participants()
    return StatsResponse(
        success=True,
        timestamp=now.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        totalRooms=len(parley.live_rooms),
        totalUsers=users,
        totalPeers=users,
    )


@router.get("/activeRooms", summary="List rooms with participants and their links")
async def active_rooms(request: Request) -> ActiveRoomsResponse:
    parley = request.app.state.parley
    base = parley.settings.server.public_url
    return ActiveRoomsResponse(
        activeRooms=[
            ActiveRoom(
                id=room.meeting.slug,
                peers=len(room.participants),
                join=join_url(base, room.meeting.slug),
            )
            for room in parley.live_rooms.rooms()
        ]
    )


@router.delete(
    "/meeting/{room}",
    summary="End a meeting for everyone",
    responses={404: {"model": EndMeetingResponse, "description": "No open room."}},
)
async def end_meeting(
    request: Request, room: str, body: EndMeetingRequest | None = None
) -> EndMeetingResponse:
    parley = request.app.state.parley
    meeting = await parley.service.store.get_meeting(room)
    if meeting is None or meeting.state is not MeetingState.OPEN:
        raise ApiError(404, {"success": False, "error": "Room not found"})
    try:
        await parley.live_rooms.end_meeting(meeting)
    except MeetingError:
        # Ended in the meantime, by its duration or another request.
        raise ApiError(404, {"success": False, "error": "Room not found"}) from None
    return EndMeetingResponse(success=True, message="Meeting ended", room=room)


def _issue_token(request: Request, body: TokenRequest, room: str | None) -> str:
    parley = request.app.state.parley
    claims = body.claims(parley.service.clock.now(), room)
    # The signer exists whenever the secret does, and no request gets here without.
    assert parley.service.tokens is not None
    return parley.service.tokens.issue(claims)
