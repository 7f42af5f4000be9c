"""Access control of the live server: a shared token on every route but ``/healthz``, and
WebSockets only from the server's own page.

The token is accepted as ``Authorization: Bearer TOKEN``, as the ``streamcd_token`` cookie, or
once as ``/?token=TOKEN``: the page is then redirected to ``/`` with the cookie set (HttpOnly,
SameSite=Strict), so the token leaves the address bar and the page's own requests carry it.
"""

from __future__ import annotations

import secrets
from http.cookies import SimpleCookie
from urllib.parse import parse_qs, urlsplit

from starlette.responses import JSONResponse, RedirectResponse
from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.websockets import WebSocket

COOKIE = "streamcd_token"
OPEN_PATHS = frozenset({"/healthz"})


class TokenGuard:
    """ASGI middleware: 401 without the right token; 403 for a WebSocket opened by another
    site's page. ``token`` None: no token check."""

    def __init__(self, app: ASGIApp, token: str | None) -> None:
        self.app = app
        self.token = token

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket") or scope["path"] in OPEN_PATHS:
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        if scope["type"] == "websocket" and not _same_origin(headers):
            await refuse(WebSocket(scope, receive, send), 403,
                         "WebSockets are only served to this server's own page")
            return
        if self.token is None or self._presented(headers) == "ok":
            await self.app(scope, receive, send)
            return
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        if scope["type"] == "http" and self._matches(query.get("token", [""])[0]):
            response = RedirectResponse(scope["path"], status_code=303)
            response.set_cookie(COOKIE, self.token, httponly=True, samesite="strict")
            await response(scope, receive, send)
            return
        message = ("missing or wrong token: send 'Authorization: Bearer TOKEN' or open "
                   "/?token=TOKEN once (the token given to streamcd serve)")
        if scope["type"] == "websocket":
            await refuse(WebSocket(scope, receive, send), 401, message)
            return
        response = JSONResponse({"error": message}, status_code=401,
                                headers={"WWW-Authenticate": "Bearer"})
        await response(scope, receive, send)

    def _presented(self, headers: dict[str, str]) -> str:
        auth = headers.get("authorization", "")
        if auth.lower().startswith("bearer ") and self._matches(auth[7:].strip()):
            return "ok"
        cookie = SimpleCookie()
        try:
            cookie.load(headers.get("cookie", ""))
        except Exception:  # noqa: BLE001 - a malformed cookie header is just no token
            return "none"
        morsel = cookie.get(COOKIE)
        return "ok" if morsel is not None and self._matches(morsel.value) else "none"

    def _matches(self, candidate: str) -> bool:
        return bool(candidate) and secrets.compare_digest(candidate.encode(), self.token.encode())


async def refuse(ws: WebSocket, status: int, message: str) -> None:
    """Answer a WebSocket handshake with an HTTP error (close code 4000 + status where the
    server cannot send HTTP responses to WebSocket requests)."""
    if "websocket.http.response" in ws.scope.get("extensions", {}):
        await ws.send_denial_response(JSONResponse({"error": message}, status_code=status))
    else:
        await ws.close(code=4000 + status, reason=message[:120])


def _same_origin(headers: dict[str, str]) -> bool:
    # Browsers send Origin on every WebSocket handshake; other clients may omit it.
    origin = headers.get("origin")
    return origin is None or urlsplit(origin).netloc == headers.get("host", "")
