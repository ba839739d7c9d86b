"""The admin web UI: server-rendered pages on top of the ingestion API, plus one script and one stylesheet.

Pages render their first state on the server from the same functions the API answers with, so a reload
always shows the truth; `static/app.js` then keeps them live (fetch + EventSource) and sends the forms.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.types import Scope

from sightline import __version__
from sightline.errors import SightlineError
from sightline.ingest.api import collections as collections_api
from sightline.ingest.api import jobs as jobs_api
from sightline.ingest.api import system as system_api
from sightline.ingest.jobdb import TERMINAL_STATES
from sightline.ingest.services import Services

__all__ = ["mount_ui", "safe_next"]

HERE = Path(__file__).parent
TEMPLATES_DIR = HERE / "templates"
STATIC_DIR = HERE / "static"
STATIC_MAX_AGE = 7 * 24 * 3600  # URLs carry a content hash (`?v=`), so a long cache is safe
ERRORS_SHOWN = 1000

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
    ("search", "/search", "Search"),
)


class CachedStaticFiles(StaticFiles):
    """Static files with a Cache-Control header (the ETag / Last-Modified revalidation stays)."""

    def file_response(self, full_path: Any, stat_result: Any, scope: Scope, status_code: int = 200):
        response = super().file_response(full_path, stat_result, scope, status_code)
        response.headers["Cache-Control"] = f"public, max-age={STATIC_MAX_AGE}"
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response


def safe_next(raw: str | None) -> str:
    """`raw` if it is a path on this site ("/..." but not "//host" or "/\\host"), else "/"."""
    if not raw or not raw.startswith("/") or raw.startswith(("//", "/\\")):
        return "/"
    if any(ord(char) < 32 or char == "\\" for char in raw):
        return "/"
    parts = urlsplit(raw)
    if parts.scheme or parts.netloc:
        return "/"
    return raw


def _static_versions() -> dict[str, str]:
    versions = {}
    for path in STATIC_DIR.iterdir():
        if path.is_file():
            versions[path.name] = hashlib.sha256(path.read_bytes()).hexdigest()[:12]
    return versions


# --- template filters -------------------------------------------------------------------------------------


def _when(value: str | None) -> str:
    if not value:
        return "—"
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return value
    suffix = " UTC" if moment.utcoffset() is not None and not moment.utcoffset() else ""
    return moment.strftime("%Y-%m-%d %H:%M:%S") + suffix


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def _rate(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}"


def job_percent(job: dict) -> int | None:
    """Whole percent of the job's files processed; None while the total is not known yet."""
    counts = job["counts"]
    total = counts["total"]
    processed = counts["done"] + counts["cached"] + counts["skipped"] + counts["failed"]
    if total:
        return min(100, processed * 100 // total)
    return 100 if job["state"] in TERMINAL_STATES else None


def _ml_summary(status: dict) -> dict:
    """What the pages say about the ML service: up or down, which models, whether they mean anything."""
    ml = status["ml"]
    capabilities = ml.get("capabilities") or {}
    up = bool(capabilities) and any(replica.get("status") == "ok" for replica in ml["replicas"])
    return {
        "up": up,
        "error": ml.get("error"),
        "replicas": ml["replicas"],
        "capabilities": capabilities,
        "backend": capabilities.get("backend"),
        "dimension": capabilities.get("dimension"),
        "meaningless": up and (capabilities.get("backend") == "tiny" or capabilities.get("meaningful") is False),
    }


# --- mounting ----------------------------------------------------------------------------------------------


def mount_ui(app: FastAPI) -> None:
    """Add the UI pages and `/static` to the ingestion app."""
    templates = Jinja2Templates(directory=str(TEMPLATES_DIR))
    versions = _static_versions()
    env = templates.env
    env.filters["when"] = _when
    env.filters["duration"] = _duration
    env.filters["rate"] = _rate
    env.globals["job_percent"] = job_percent
    env.globals["static_url"] = lambda name: f"/static/{name}?v={versions.get(name, __version__)}"
    env.globals["version"] = __version__
    env.globals["pages"] = PAGES
    env.globals["terminal_states"] = TERMINAL_STATES

    app.mount("/static", CachedStaticFiles(directory=str(STATIC_DIR)), name="static")

    def services_of(request: Request) -> Services:
        return request.app.state.services

    def render(request: Request, template: str, page: str, status_code: int = 200, **context: Any) -> HTMLResponse:
        settings = request.app.state.settings
        context.update(page=page, admin_token_required=bool(settings.admin_token))
        response = templates.TemplateResponse(request, template, context, status_code=status_code)
        response.headers.update(SECURITY_HEADERS)
        return response

    def not_found(request: Request, message: str) -> HTMLResponse:
        return render(request, "error.html", "", status_code=404, title="Not found", message=message)

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    async def dashboard(request: Request) -> HTMLResponse:
        services = services_of(request)
        status = await system_api.status(services)
        collections = (await collections_api.list_collections(services))["collections"]
        running = await services.call(services.jobdb.list_jobs, states=("queued", "running"), limit=50)
        recent = await services.call(services.jobdb.list_jobs, limit=10)
        return render(
            request, "dashboard.html", "dashboard",
            status=status, ml=_ml_summary(status), collections=collections,
            running=[job.to_dict() for job in running],
            recent=[job.to_dict() for job in recent if job.is_terminal],
        )

    @app.get("/collections", response_class=HTMLResponse, include_in_schema=False)
    async def collections_page(
        request: Request, created: str | None = None, deleted: str | None = None
    ) -> HTMLResponse:
        services = services_of(request)
        status = await system_api.status(services)
        collections = (await collections_api.list_collections(services))["collections"]
        names = {info["name"] for info in collections}
        return render(request, "collections.html", "collections", ml=_ml_summary(status), collections=collections,
                      store_backend=status["store"]["backend"],
                      created=created if created in names else None,
                      deleted=deleted if deleted and deleted not in names else None)

    @app.get("/ingest", response_class=HTMLResponse, include_in_schema=False)
    async def ingest_page(request: Request, collection: str | None = None) -> HTMLResponse:
        services = services_of(request)
        collections = (await collections_api.list_collections(services))["collections"]
        return render(
            request, "ingest.html", "ingest", collections=collections, selected=collection,
            roots=[str(root) for root in services.settings.roots],
            max_upload_bytes=services.settings.max_upload_bytes,
        )

    @app.get("/jobs", response_class=HTMLResponse, include_in_schema=False)
    async def jobs_page(request: Request, collection: str | None = None, state: str | None = None) -> HTMLResponse:
        services = services_of(request)
        try:
            jobs = (await jobs_api.list_jobs(services, collection=collection or None,
                                             state=[state] if state else None, limit=200, offset=0))["jobs"]
        except SightlineError as exc:
            return render(request, "error.html", "jobs", status_code=exc.status, title="Bad filter",
                          message=exc.message)
        collections = (await collections_api.list_collections(services))["collections"]
        return render(request, "jobs.html", "jobs", jobs=jobs, collections=collections,
                      collection=collection or "", state=state or "")

    @app.get("/jobs/{job_id}", response_class=HTMLResponse, include_in_schema=False)
    async def job_page(request: Request, job_id: str) -> HTMLResponse:
        services = services_of(request)
        try:
            job = (await services.job_or_404(job_id)).to_dict()
        except SightlineError as exc:
            return not_found(request, exc.message)
        errors = await services.call(services.jobdb.errors, job_id, limit=ERRORS_SHOWN)
        return render(request, "job.html", "jobs", job=job, errors=[error.to_dict() for error in errors],
                      errors_limit=ERRORS_SHOWN)

    @app.get("/search", response_class=HTMLResponse, include_in_schema=False)
    async def search_page(request: Request, collection: str | None = None) -> HTMLResponse:
        services = services_of(request)
        collections = (await collections_api.list_collections(services))["collections"]
        names = [info["name"] for info in collections]
        selected = collection if collection in names else (names[0] if names else None)
        return render(request, "search.html", "search", collections=collections, selected=selected)

    @app.get("/login", response_class=HTMLResponse, include_in_schema=False)
    async def login_page(request: Request, next: str | None = None) -> HTMLResponse:  # noqa: A002
        return render(request, "login.html", "login", next=safe_next(next))
