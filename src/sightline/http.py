"""Pieces both FastAPI apps share: the app skeleton, structured error answers, a request body size limit."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import h11
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi_offline import FastAPIOffline
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.protocols.http.h11_impl import H11Protocol

from sightline import __version__
from sightline.config import IngestSettings, MLSettings
from sightline.errors import ErrorBody, ErrorCode, ErrorResponse, SightlineError

logger = logging.getLogger("sightline")


class BoundedH11(H11Protocol):
    """uvicorn's h11 protocol, and a connection that stalls is closed: one that has not sent a whole request head
    `stall_timeout_s` after it opened or after its last answer, or that sends nothing for that long in the middle
    of a request's body while the service reads it (not while the service paused reading: a busy model). uvicorn's
    keep-alive timer stops at a client's first byte, so a client that never ended its headers, or its body (a
    chunk size of 2^80), held its connection for ever. h11 itself refuses a head over 16 kB; httptools, uvicorn's
    pick when installed, has no limit (a 64 MB header held the loop 4.3 s)."""

    stall_timeout_s = 30.0

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._idle_since = self._heard_at = self.loop.time()
        self._watch = self.loop.call_later(self.stall_timeout_s, self._check_stall)

    def data_received(self, data: bytes) -> None:
        self._heard_at = self.loop.time()
        super().data_received(data)

    def on_response_complete(self) -> None:
        self._idle_since = self.loop.time()
        super().on_response_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._watch.cancel()
        super().connection_lost(exc)

    def _check_stall(self) -> None:
        now = self.loop.time()
        if self.flow.read_paused:  # the app is behind (decoding, the model busy): the client is not the one idle
            self._heard_at = now
        waiting_head = self.cycle is None or self.cycle.response_complete
        no_head = waiting_head and now - self._idle_since >= self.stall_timeout_s
        body_stalled = self.conn.their_state is h11.SEND_BODY and now - self._heard_at >= self.stall_timeout_s
        if no_head:
            self.timeout_keep_alive_handler()  # closes as an idle keep-alive connection is closed
        elif body_stalled:
            self.transport.close()
        else:
            self._watch = self.loop.call_later(self.stall_timeout_s / 2, self._check_stall)


HTTP_PROTOCOL = BoundedH11  # both services' `http=` for uvicorn

STATUS_CODES = {
    401: ErrorCode.UNAUTHORIZED,
    403: ErrorCode.FORBIDDEN,
    404: ErrorCode.NOT_FOUND,
    405: ErrorCode.VALIDATION_ERROR,
    409: ErrorCode.CONFLICT,
    413: ErrorCode.REQUEST_TOO_LARGE,
    422: ErrorCode.VALIDATION_ERROR,
    503: ErrorCode.MODEL_NOT_READY,
}


def service_app(settings: MLSettings | IngestSettings, *, title: str, description: str, lifespan: Any) -> FastAPI:
    """A service's app before its routes: API docs served from the package (they work with no internet),
    `app.state.settings`, the structured error answers and the request body limit."""
    app = FastAPIOffline(title=title, version=__version__, description=description, lifespan=lifespan)
    app.state.settings = settings
    install_error_handlers(app)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_request_bytes)
    return app


def error_response(status: int, code: ErrorCode, message: str, where: str | None = None) -> JSONResponse:
    body = ErrorResponse(error=ErrorBody(code=code, message=message, where=where))
    return JSONResponse(body.model_dump(mode="json"), status_code=status)


def _describe_validation(exc: RequestValidationError) -> tuple[str, str | None]:
    errors = exc.errors()
    if not errors:
        return "The request is malformed.", None
    first = errors[0]
    where = ".".join(str(part) for part in first.get("loc", ()) if part != "body") or None
    message = first.get("msg", "invalid value")
    extra = f" (and {len(errors) - 1} more problem(s))" if len(errors) > 1 else ""
    return f"{where or 'request'}: {message}{extra}", where


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(SightlineError)
    async def sightline_error(request: Request, exc: SightlineError) -> JSONResponse:
        return error_response(exc.status, exc.code, exc.message, exc.where)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        message, where = _describe_validation(exc)
        return error_response(422, ErrorCode.VALIDATION_ERROR, message, where)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = STATUS_CODES.get(exc.status_code, ErrorCode.VALIDATION_ERROR)
        response = error_response(exc.status_code, code, str(exc.detail))
        for name, value in (exc.headers or {}).items():
            response.headers[name] = value
        return response

    @app.exception_handler(Exception)
    async def unexpected_error(request: Request, exc: Exception) -> JSONResponse:
        logger.exception("unexpected error on %s %s", request.method, request.url.path)
        return error_response(500, ErrorCode.INTERNAL_ERROR, "Unexpected server error; see the service log.")


class BodySizeLimit:
    """Answers 413 as soon as a request body (declared or streamed) exceeds the limit."""

    def __init__(self, app: ASGIApp, max_bytes: int):
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers", [])).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse(scope, receive, send)
            return
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise _TooLarge(self.max_bytes)
            return message

        try:
            await self.app(scope, limited_receive, send)
        except _TooLarge:
            await self._refuse(scope, receive, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = error_response(
            413, ErrorCode.REQUEST_TOO_LARGE, f"The request body exceeds the limit of {self.max_bytes} bytes."
        )
        await response(scope, receive, send)


class _TooLarge(StarletteHTTPException):
    """An HTTPException, so that frameworks reading the body re-raise it instead of answering 400."""

    def __init__(self, max_bytes: int):
        super().__init__(413, f"The request body exceeds the limit of {max_bytes} bytes.")
