"""Builds the FastAPI application: its routes, middleware and error responses."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Iterable, Iterator
from contextlib import asynccontextmanager
from http import HTTPStatus
from pathlib import Path

import fastapi_offline
from fastapi import FastAPI, Request, Response
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from parley.clock import SystemClock
from parley.config import Settings
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
from parley.web.api_auth import ApiError
from parley.wiring import start, stop

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
        parley = await start(settings, gateway, clock or SystemClock())
        app.state.parley = parley
        try:
            yield
        finally:
            await stop(parley)

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
