"""The ingestion service's gate: the Host allow-list and no cross-site writes (`sightline.guards`) on every
request, and the admin token when one is configured: a header for scripts, a session cookie for browsers."""

from __future__ import annotations

from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.types import ASGIApp, Scope

from sightline.errors import ErrorCode
from sightline.guards import Gate, HostPolicy, refusal
from sightline.http import error_response
from sightline.ingest.sessions import LoginThrottle, SessionStore
from sightline.security import key_matches

SESSION_COOKIE = "sightline_session"
# Open without the token: health, the session exchange, and the web UI's login page and static files.
OPEN_PATHS = frozenset({"/health", "/login", "/api/v1/session"})
OPEN_PREFIXES = ("/static/",)


def client_of(scope: Scope) -> str:
    client = scope.get("client")
    return client[0] if client else "unknown"


def presented_token(request: Request) -> str:
    bearer = request.headers.get("authorization", "")
    if bearer.lower().startswith("bearer "):
        return bearer[7:].strip()
    return request.headers.get("x-admin-token", "")


class AdminAuth:
    """The configured admin token, the browser sessions opened with it, and the brake on guessing it."""

    def __init__(self, token: str | None):
        self.token = token
        self.sessions = SessionStore()
        self.throttle = LoginThrottle()

    def refusal(self, client: str, presented: str, where: str) -> JSONResponse | None:
        """None when `presented` is the token; else a 401 (counted as a failure), or a 429 while `client`
        is locked out after too many failures (the token is not even compared then)."""
        wait = self.throttle.retry_after(client)
        if wait:
            response = error_response(429, ErrorCode.TOO_MANY_ATTEMPTS, f"Too many wrong admin tokens from this "
                                      f"address: try again in {wait} s.", where=where)
            response.headers["retry-after"] = str(wait)
            return response
        if self.token and key_matches(presented, [self.token]):
            self.throttle.succeeded(client)
            return None
        self.throttle.failed(client)
        return error_response(401, ErrorCode.UNAUTHORIZED, "Wrong admin token.", where=where)


class AdminTokenGuard(Gate):
    """Refuses foreign Host names and cross-site writes; with a token configured, requires it (or a session)
    on every route but the open ones. Nothing of the body is read before that."""

    def __init__(self, app: ASGIApp, auth: AdminAuth, hosts: HostPolicy):
        super().__init__(app)
        self.auth = auth
        self.hosts = hosts

    def check(self, scope: Scope) -> Response | None:
        return refusal(scope, self.hosts) or (self._unauthorized(Request(scope)) if self.auth.token else None)

    def _unauthorized(self, request: Request) -> Response | None:
        path = request.url.path
        if path in OPEN_PATHS or path.startswith(OPEN_PREFIXES):
            return None
        presented = presented_token(request)
        if presented:
            refused = self.auth.refusal(client_of(request.scope), presented, where="authorization")
            if refused is None or refused.status_code == 429:
                return refused
        elif self.auth.sessions.valid(request.cookies.get(SESSION_COOKIE)):
            return None
        if path.startswith("/api/"):
            return error_response(
                401, ErrorCode.UNAUTHORIZED, "Admin token required: send it as 'Authorization: Bearer <token>'."
            )
        target = path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)
