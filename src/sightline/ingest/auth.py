"""Admin token for the ingestion API and UI: a header for scripts, an http-only cookie for browsers."""

from __future__ import annotations

import hashlib
import hmac
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from sightline.errors import ErrorCode
from sightline.http import error_response

SESSION_COOKIE = "sightline_session"
# Open without the token: health, the session exchange, and the web UI's login page and static files.
OPEN_PATHS = frozenset({"/health", "/login", "/api/v1/session"})
OPEN_PREFIXES = ("/static/",)


def session_value(token: str) -> str:
    """What the cookie holds: derived from the token, never the token itself."""
    return hmac.new(token.encode(), b"sightline-session-v1", hashlib.sha256).hexdigest()


def token_valid(request: Request, token: str) -> bool:
    presented = request.headers.get("x-admin-token", "")
    bearer = request.headers.get("authorization", "")
    if bearer.lower().startswith("bearer "):
        presented = bearer[7:].strip()
    if presented and hmac.compare_digest(presented.encode(), token.encode()):
        return True
    cookie = request.cookies.get(SESSION_COOKIE, "")
    return bool(cookie) and hmac.compare_digest(cookie.encode(), session_value(token).encode())


class AdminTokenGuard:
    """Requires the admin token on every route but the open ones, when a token is configured."""

    def __init__(self, app: ASGIApp, token: str | None):
        self.app = app
        self.token = token

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self.token:
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        path = request.url.path
        if path in OPEN_PATHS or path.startswith(OPEN_PREFIXES) or token_valid(request, self.token):
            await self.app(scope, receive, send)
            return
        response: Response
        if path.startswith("/api/"):
            response = error_response(
                401, ErrorCode.UNAUTHORIZED, "Admin token required: send it as 'Authorization: Bearer <token>'."
            )
        else:
            target = path + (f"?{request.url.query}" if request.url.query else "")
            response = RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)
        await response(scope, receive, send)
