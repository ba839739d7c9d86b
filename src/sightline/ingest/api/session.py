"""The browser session: the admin token exchanged for an http-only cookie holding a random session id
(see `sightline.ingest.auth` and `sightline.ingest.sessions`); closing it revokes the id."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from sightline.errors import ErrorCode, SightlineError
from sightline.ingest.auth import SESSION_COOKIE, AdminAuth, client_of
from sightline.ingest.schemas import SessionRequest
from sightline.ingest.sessions import SESSION_SECONDS

router = APIRouter(prefix="/api/v1/session", tags=["system"])


def admin_auth(request: Request) -> AdminAuth:
    return request.app.state.admin_auth


@router.post("", status_code=204)
async def open_session(body: SessionRequest, request: Request) -> Response:
    """Exchange the admin token for an http-only session cookie (for the web UI). After a few wrong tokens
    the client's address must wait (429, `Retry-After`), longer with each further failure."""
    auth = admin_auth(request)
    if not auth.token:
        raise SightlineError(ErrorCode.UNAUTHORIZED, "No admin token is configured.", where="token", status=401)
    refused = auth.refusal(client_of(request.scope), body.token, where="token")
    if refused is not None:
        return refused
    response = Response(status_code=204)
    response.set_cookie(SESSION_COOKIE, auth.sessions.open(), httponly=True, samesite="strict",
                        secure=request.url.scheme == "https", max_age=SESSION_SECONDS, path="/")
    return response


@router.delete("", status_code=204)
async def close_session(request: Request) -> Response:
    """Log out: the session is revoked on the server, and the cookie dropped."""
    admin_auth(request).sessions.close(request.cookies.get(SESSION_COOKIE))
    response = Response(status_code=204)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response
