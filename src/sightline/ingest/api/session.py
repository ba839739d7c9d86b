"""The browser session: the admin token exchanged for an http-only cookie (see `sightline.ingest.auth`)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from sightline.errors import ErrorCode, SightlineError
from sightline.ingest.api import ServicesDep
from sightline.ingest.auth import SESSION_COOKIE, session_value
from sightline.ingest.schemas import SessionRequest
from sightline.security import key_matches

router = APIRouter(prefix="/api/v1/session", tags=["system"])
SESSION_SECONDS = 30 * 24 * 3600


@router.post("", status_code=204)
async def open_session(body: SessionRequest, request: Request, services: ServicesDep) -> Response:
    """Exchange the admin token for an http-only session cookie (for the web UI)."""
    token = services.settings.admin_token
    if not token or not key_matches(body.token, [token]):
        raise SightlineError(ErrorCode.UNAUTHORIZED, "Wrong admin token.", where="token", status=401)
    response = Response(status_code=204)
    response.set_cookie(SESSION_COOKIE, session_value(token), httponly=True, samesite="strict",
                        secure=request.url.scheme == "https", max_age=SESSION_SECONDS, path="/")
    return response


@router.delete("", status_code=204)
async def close_session() -> Response:
    response = Response(status_code=204)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response
