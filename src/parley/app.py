"""Builds the FastAPI application and starts and stops what it depends on."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Coroutine, Iterable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from http import HTTPStatus
from pathlib import Path
from typing import Any

import fastapi_offline
import httpx
from fastapi import FastAPI, Request, Response
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from parley.clock import SystemClock
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
from parley.web import (
    actions,
    api,
    api_v1,
    calendar,
    health,
    pages,
    schedules_api,
    signaling,
    slash,
)
from parley.web.api_auth import ApiError, FailedAttempts

logger = logging.getLogger("parley")

OPENAPI_URL = "/api/openapi.json"
DOCS_URL = "/api/docs"
# Swagger UI's files come from the fastapi-offline package, not from a CDN, so the
# docs work where browsers reach only Parley.
DOCS_ASSETS = Path(fastapi_offline.__file__).parent / "static"
API_DESCRIPTION = """
Two REST APIs that take the same secret (`api.secret`, or `PARLEY_API_SECRET`):

- **MiroTalk-compatible API** (`/api/v1`): MiroTalk SFU's paths, bodies and responses,
  so scripts written for MiroTalk work unchanged. Secret in the `authorization` header.
- **Parley API** (`/api/parley/v1`): meetings with their participants, times and
  Mattermost channel, and scheduled meetings (which need the channel bot). Secret as
  `Authorization: Bearer <secret>`.
"""


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


def create_app(
    settings: Settings,
    *,
    gateway: MediaGateway | None = None,
    clock: Clock | None = None,
) -> FastAPI:
    """Return the Parley application.

    Without a `gateway`, Parley drives Janus: its own, supervised, or the external one
    named by `janus.url`. Tests pass a fake gateway instead.
    """

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        parley = await _start(settings, gateway, clock or SystemClock())
        app.state.parley = parley
        try:
            yield
        finally:
            await _stop(parley)

    app = FastAPI(
        title="Parley",
        version="1.0.0",
        description=API_DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url=OPENAPI_URL,
        redirect_slashes=False,
    )
    app.add_middleware(RequestLog)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(ApiError, _api_error)
    app.include_router(api_v1.router)
    app.include_router(api.router)
    app.include_router(schedules_api.router)
    app.add_api_route(DOCS_URL, _docs, include_in_schema=False)
    app.mount(
        f"{DOCS_URL}/assets", StaticFiles(directory=DOCS_ASSETS), name="docs-assets"
    )
    app.include_router(slash.router)
    app.include_router(actions.router)
    app.include_router(health.router)
    app.include_router(pages.router)
    app.include_router(calendar.router)
    app.include_router(signaling.router)
    app.mount("/static", StaticFiles(directory=pages.STATIC), name="static")
    return app


async def _start(
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


async def _stop(parley: Parley) -> None:
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


class RequestLog:
    """ASGI middleware writing one line per HTTP request: method, path, status, time.

    Plain ASGI rather than `app.middleware("http")`, whose request and response
    wrapping cost a measurable share of a slash command's time.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        started = time.perf_counter()
        status = 500

        async def send_noting_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_noting_status)
        finally:
            # The path only: a GET slash command carries its token in the query.
            logger.info(
                "%s %s %d %.1f ms",
                scope["method"],
                scope["path"],
                status,
                (time.perf_counter() - started) * 1000,
            )


async def _http_error(request: Request, error: Exception) -> Response:
    # The same {error, message} body as Parley's own errors, for routing failures
    # such as an unknown path (404) or a wrong method (405).
    assert isinstance(error, StarletteHTTPException)
    code = HTTPStatus(error.status_code).phrase.lower().replace(" ", "_")
    headers = error.headers
    if error.status_code == 405:
        allowed = set(_allowed_methods(request))
        allowed.update(
            method.strip()
            for method in (error.headers or {}).get("Allow", "").split(",")
            if method.strip()
        )
        headers = {"Allow": ", ".join(sorted(allowed))}
    return JSONResponse(
        {
            "error": code,
            "message": f"{error.detail}: {request.method} {request.url.path}",
        },
        status_code=error.status_code,
        headers=headers,
    )


def _allowed_methods(request: Request) -> list[str]:
    # Starlette's 405 lists only the methods of the first route with a matching path,
    # so a path served by several routes, one per method, would lose the others.
    methods: set[str] = set()
    for route in _flatten(request.app.routes):
        match, _ = route.matches(request.scope)
        if match is not Match.NONE:
            methods.update(getattr(route, "methods", None) or ())
    return sorted(methods)


def _flatten(routes: Iterable[BaseRoute]) -> Iterator[BaseRoute]:
    # FastAPI 0.16x wraps each included router in one route; its own routes, which
    # carry the methods, are on `original_router`.
    for route in routes:
        inner = getattr(route, "original_router", None)
        if inner is None:
            yield route
        else:
            yield from _flatten(inner.routes)


async def _api_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, ApiError)
    return JSONResponse(error.body, status_code=error.status, headers=error.headers)


async def _docs(request: Request) -> HTMLResponse:
    return get_swagger_ui_html(
        openapi_url=OPENAPI_URL,
        title="Parley API",
        swagger_js_url=f"{DOCS_URL}/assets/swagger-ui-bundle.js",
        swagger_css_url=f"{DOCS_URL}/assets/swagger-ui.css",
        swagger_favicon_url=f"{DOCS_URL}/assets/favicon.png",
    )
