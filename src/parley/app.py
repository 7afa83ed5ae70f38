"""Builds the FastAPI application and starts and stops what it depends on."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from http import HTTPStatus

import httpx
from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.exceptions import HTTPException as StarletteHTTPException

from parley.clock import SystemClock
from parley.config import Settings
from parley.mattermost.commands import SlashCommands
from parley.meetings.live import LiveRooms
from parley.meetings.service import MeetingService, RoomPolicy
from parley.storage import SqlMeetingStore, create_engine, migrate, session_factory
from parley.types import Clock, MediaGateway
from parley.web import health, pages, signaling, slash

logger = logging.getLogger("parley")


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
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        redirect_slashes=False,
    )
    app.middleware("http")(_log_request)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.include_router(slash.router)
    app.include_router(health.router)
    app.include_router(pages.router)
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
            "No slash command token is configured: /mattermost answers 503 until "
            "PARLEY_MATTERMOST_TOKENS (or mattermost.tokens) is set"
        )

    http = httpx.AsyncClient(timeout=10.0, follow_redirects=False)
    store = SqlMeetingStore(
        session_factory(engine), serialize_writes=engine.dialect.name == "sqlite"
    )
    policy = RoomPolicy(settings.rooms.max_publishers, settings.rooms.bitrate)
    service = MeetingService(store, gateway, clock, policy)
    parley = Parley(
        settings=settings,
        gateway=gateway,
        service=service,
        live_rooms=LiveRooms(service),
        commands=SlashCommands(settings, service, http),
        engine=engine,
        http=http,
    )
    logger.info("Parley is ready; links start with %s", settings.server.public_url)
    return parley


async def _stop(parley: Parley) -> None:
    await parley.commands.drain()
    await parley.gateway.stop()
    await parley.http.aclose()
    await parley.engine.dispose()
    logger.info("Parley stopped")


async def _log_request(
    request: Request, call_next: Callable[[Request], Awaitable[Response]]
) -> Response:
    # The path only: a GET slash command carries its token in the query string.
    started = time.perf_counter()
    response = await call_next(request)
    logger.info(
        "%s %s %d %.1f ms",
        request.method,
        request.url.path,
        response.status_code,
        (time.perf_counter() - started) * 1000,
    )
    return response


async def _http_error(request: Request, error: Exception) -> Response:
    # The same {error, message} body as Parley's own errors, for routing failures
    # such as an unknown path (404) or a wrong method (405).
    assert isinstance(error, StarletteHTTPException)
    code = HTTPStatus(error.status_code).phrase.lower().replace(" ", "_")
    return JSONResponse(
        {
            "error": code,
            "message": f"{error.detail}: {request.method} {request.url.path}",
        },
        status_code=error.status_code,
        headers=error.headers,
    )
