"""The Starlette application of ``streamcd serve``: the page, live views, JSON, metrics, health.

Routes (``STREAM`` is a configured stream name; anything else is 404, and no part of a request
is ever used as a file path: the page's three files are read from the package at start):

- ``/``, ``/app.js``, ``/style.css``: the live page (plain HTML/JS/CSS).
- ``/live/STREAM`` (WebSocket): JPEG frames. The client sends the view it wants
  (``annotated``, ``mask`` or ``reference``) and gets the newest picture once there is one it has
  not seen; it asks again after showing it, so nothing queues for a slow viewer.
- ``/snapshot/STREAM.jpg?view=annotated``, ``/api/streams``, ``/api/streams/STREAM``,
  ``/metrics`` (Prometheus), ``/healthz`` (200, or 503 naming the failing streams).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import asdict
from importlib.resources import files

import anyio
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from .auth import TokenGuard, refuse
from .feed import LiveHub, StreamFeed
from .metrics import metrics_registry
from .options import DEFAULT_VIEW_FPS
from .render import VIEWS

_PAGE = {"/": "text/html", "/app.js": "text/javascript", "/style.css": "text/css"}


def create_app(hub: LiveHub, token: str | None = None,
               view_fps: float = DEFAULT_VIEW_FPS) -> TokenGuard:
    """The ASGI app serving ``hub``; ``token`` set: required on every route but /healthz."""
    static = files(__package__) / "static"
    page = {path: (static / ("index.html" if path == "/" else path[1:])).read_bytes()
            for path in _PAGE}
    registry = metrics_registry(hub)

    async def page_file(request: Request) -> Response:
        return Response(page[request.url.path], media_type=_PAGE[request.url.path],
                        headers={"Cache-Control": "no-cache"})

    async def streams(request: Request) -> JSONResponse:
        return JSONResponse({"provider": hub.provider,
                             "streams": [_describe(f) for f in hub.feeds.values()]})

    async def one_stream(request: Request) -> JSONResponse:
        return JSONResponse(_describe(_feed(hub, request.path_params["stream"])))

    async def snapshot(request: Request) -> Response:
        feed = _feed(hub, request.path_params["stream"])
        view = request.query_params.get("view", "annotated")
        if view not in VIEWS:
            return _error(400, f"unknown view {view!r}; choose one of {', '.join(VIEWS)}")
        picture = await anyio.to_thread.run_sync(feed.jpeg, view)
        if picture is None:
            return _error(503, f"stream {feed.name} has no {view} picture yet", retry=True)
        return Response(picture[1], media_type="image/jpeg", headers={"Cache-Control": "no-store"})

    async def metrics(request: Request) -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    async def healthz(request: Request) -> JSONResponse:
        failing = hub.failing()
        body = {"ok": not failing,
                "failing": {name: {"state": s.state, "reason": s.reason}
                            for name, s in failing.items()}}
        return JSONResponse(body, status_code=503 if failing else 200)

    async def live(ws: WebSocket) -> None:
        name = ws.path_params["stream"]
        feed = hub.feeds.get(name)
        if feed is None:
            await refuse(ws, 404, f"unknown stream {name!r}; streams: {', '.join(hub.feeds)}")
            return
        await ws.accept()
        with feed.watching(), contextlib.suppress(WebSocketDisconnect):
            await _send_frames(ws, feed, 1.0 / view_fps)

    app = Starlette(
        routes=[*(Route(path, page_file) for path in _PAGE),
                Route("/api/streams", streams),
                Route("/api/streams/{stream}", one_stream),
                Route("/snapshot/{stream}.jpg", snapshot),
                Route("/metrics", metrics),
                Route("/healthz", healthz),
                WebSocketRoute("/live/{stream}", live)],
        exception_handlers={404: _not_found},
        lifespan=_binding(hub),
    )
    return TokenGuard(app, token)


def _binding(hub: LiveHub):
    @contextlib.asynccontextmanager
    async def lifespan(app):
        hub.bind(asyncio.get_running_loop())  # results now wake the viewers
        yield

    return lifespan


async def _send_frames(ws: WebSocket, feed: StreamFeed, min_interval_s: float) -> None:
    last_seq, last_data = 0, b""
    while True:
        view = await ws.receive_text()  # the viewer is ready for a picture of this view
        if view not in VIEWS:
            await ws.close(code=4400, reason=f"unknown view; choose one of {', '.join(VIEWS)}")
            return
        while True:
            seq = await feed.wait_newer(last_seq, timeout_s=1.0)
            if seq == last_seq:
                await ws.send_text("waiting")  # raises once the viewer has gone
                continue
            picture = (feed.fresh(view, min_interval_s)
                       or await anyio.to_thread.run_sync(feed.jpeg, view, min_interval_s))
            if picture is None:
                last_seq = seq
            elif picture[1] is last_data:
                # Already shown: the reference between updates, or a frame encoded for another
                # viewer less than min_interval_s ago; look again once a newer one may be due.
                await asyncio.sleep(min_interval_s / 2)
            else:
                break
        started = time.monotonic()
        await ws.send_bytes(picture[1])
        last_seq, last_data = picture[0], picture[1]
        await asyncio.sleep(max(0.0, min_interval_s - (time.monotonic() - started)))


def _describe(feed: StreamFeed) -> dict:
    status, stats = feed.status(), feed.stats()
    return {
        "name": feed.name,
        "ok": status.ok, "state": status.state, "reason": status.reason,
        "threshold": feed.threshold(), "viewers": feed.watchers,
        "stats": asdict(stats) if stats is not None else None,
        "events": [{"kind": e.kind, "time": e.timestamp, "detail": e.detail}
                   for e in reversed(feed.events)],
        "views": list(VIEWS),
    }


def _feed(hub: LiveHub, name: str) -> StreamFeed:
    feed = hub.feeds.get(name)
    if feed is None:
        raise HTTPException(404, f"unknown stream {name!r}; streams: {', '.join(hub.feeds)}")
    return feed


def _error(status: int, message: str, retry: bool = False) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status,
                        headers={"Retry-After": "1"} if retry else None)


async def _not_found(request: Request, exc: Exception) -> JSONResponse:
    return _error(404, getattr(exc, "detail", None) or f"no route {request.url.path}")
