"""How the UI pages are rendered: the Jinja environment (filters, globals), versioned static files and the
security headers every page carries."""

from __future__ import annotations

import functools
import hashlib
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from markupsafe import Markup
from starlette.types import Scope

from sightline import __version__
from sightline.humanize import duration, moment

HERE = Path(__file__).parent
TEMPLATES_DIR = HERE / "templates"
STATIC_DIR = HERE / "static"
STATIC_MAX_AGE = 7 * 24 * 3600  # URLs carry a content hash (`?v=`), so a long cache is safe

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' blob: data:; style-src 'self'; script-src 'self'; "
        "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}

PAGES = (
    ("dashboard", "/", "Dashboard"),
    ("collections", "/collections", "Collections"),
    ("ingest", "/ingest", "Ingest"),
    ("jobs", "/jobs", "Jobs"),
    ("search", "/search", "Photos"),
    ("sources", "/sources", "Sources"),
)


class CachedStaticFiles(StaticFiles):
    """Static files with a Cache-Control header (the ETag / Last-Modified revalidation stays)."""

    def file_response(self, full_path: Any, stat_result: Any, scope: Scope, status_code: int = 200):
        response = super().file_response(full_path, stat_result, scope, status_code)
        response.headers["Cache-Control"] = f"public, max-age={STATIC_MAX_AGE}"
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response


def static_files() -> StaticFiles:
    """The ASGI app serving `static/`, to mount at /static."""
    return CachedStaticFiles(directory=str(STATIC_DIR))


def render(request: Request, template: str, page: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    """A page: `page` is the navigation entry it highlights ("" for none)."""
    settings = request.app.state.settings
    context.update(page=page, admin_token_required=bool(settings.admin_token))
    response = templates().TemplateResponse(request, template, context, status_code=status_code)
    response.headers.update(SECURITY_HEADERS)
    return response


@functools.cache
def templates() -> Jinja2Templates:
    jinja = Jinja2Templates(directory=str(TEMPLATES_DIR))
    versions = _static_versions()
    env = jinja.env
    env.filters["when"] = when
    env.filters["duration"] = duration
    env.filters["rate"] = rate
    env.filters["folder_path"] = folder_path
    env.globals["static_url"] = lambda name: f"/static/{name}?v={versions.get(name, __version__)}"
    env.globals["version"] = __version__
    env.globals["pages"] = PAGES
    return jinja


def _static_versions() -> dict[str, str]:
    """Each static file's content hash, keyed by its path under static/."""
    return {
        path.relative_to(STATIC_DIR).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()[:12]
        for path in STATIC_DIR.rglob("*") if path.is_file()
    }


# --- template filters -------------------------------------------------------------------------------------


def when(value: str | None) -> str:
    """An ISO 8601 time as "2024-05-01 12:30:00 UTC"."""
    if not value:
        return "—"
    if (time := moment(value)) is None:
        return value
    suffix = " UTC" if time.utcoffset() is not None and not time.utcoffset() else ""
    return time.strftime("%Y-%m-%d %H:%M:%S") + suffix


def folder_path(value: str) -> Markup:
    """A path that may wrap after each "/", not inside a name (see `th code` in app.css)."""
    return Markup("/<wbr>").join(str(value).split("/"))


def rate(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}"

