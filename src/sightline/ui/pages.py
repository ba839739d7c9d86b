"""The UI pages: server-rendered from the same query functions the API answers with, so a reload always
shows the truth; `static/` scripts then keep them live (fetch + EventSource) and send the forms."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote, urlsplit

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from sightline.errors import SightlineError
from sightline.ingest import queries
from sightline.ingest.services import ServicesDep
from sightline.ingest.vectors import COLLECTION_NAME_PATTERN
from sightline.ui.templating import render

router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)
ERRORS_SHOWN = 1000


@router.get("/")
async def dashboard(request: Request, services: ServicesDep) -> HTMLResponse:
    status = await queries.system_status(services)
    running = await queries.list_jobs(services, states=("queued", "running"), limit=50)
    recent = await queries.list_jobs(services, limit=10)
    return render(
        request, "dashboard.html", "dashboard",
        status=status, ml=ml_summary(status), collections=await queries.collection_infos(services),
        running=running, recent=[job for job in recent if job["is_terminal"]],
        newest=recent[0]["job_id"] if recent else "",
    )


@router.get("/collections")
async def collections_page(
    request: Request, services: ServicesDep, created: str | None = None, deleted: str | None = None
) -> HTMLResponse:
    status = await queries.system_status(services)
    collections = await queries.collection_infos(services)
    names = {info["name"] for info in collections}
    return render(request, "collections.html", "collections", ml=ml_summary(status), collections=collections,
                  store_backend=status["store"]["backend"],
                  created=created if created in names else None,
                  deleted=deleted if is_collection_name(deleted) and deleted not in names else None)


def is_collection_name(text: str | None) -> bool:
    """Whether a notice may name `text`: a valid collection name, never arbitrary text from a link."""
    return text is not None and re.fullmatch(COLLECTION_NAME_PATTERN, text) is not None


@router.get("/ingest")
async def ingest_page(request: Request, services: ServicesDep, collection: str | None = None) -> HTMLResponse:
    return render(
        request, "ingest.html", "ingest", collections=await queries.collection_infos(services),
        selected=collection, roots=[str(root) for root in services.settings.roots],
        max_upload_bytes=services.settings.max_upload_bytes,
    )


@router.get("/jobs")
async def jobs_page(
    request: Request, services: ServicesDep, collection: str | None = None, state: str | None = None
) -> HTMLResponse:
    try:
        jobs = await queries.list_jobs(services, collection=collection or None, states=[state] if state else None,
                                       limit=200)
    except SightlineError as exc:
        return render(request, "error.html", "jobs", status_code=exc.status, title="Bad filter",
                      message=exc.message)
    return render(request, "jobs.html", "jobs", jobs=jobs, collections=await queries.collection_infos(services),
                  collection=collection or "", state=state or "")


@router.get("/jobs/{job_id}", response_model=None)
async def job_page(request: Request, services: ServicesDep, job_id: str) -> HTMLResponse | RedirectResponse:
    """A job by its full id; a short one (the UI's and the CLI's) redirects to the full one, so that the page's
    live updates and its address name one job."""
    try:
        job = (await services.job_or_404(job_id)).to_dict()
    except SightlineError as exc:
        title = "Not found" if exc.status == 404 else "Ambiguous job id"
        return render(request, "error.html", "", status_code=exc.status, title=title, message=exc.message)
    if job["job_id"] != job_id:
        return RedirectResponse(f"/jobs/{quote(job['job_id'], safe='')}", status_code=303)
    errors = await queries.job_errors(services, job["job_id"], limit=ERRORS_SHOWN)
    return render(request, "job.html", "jobs", job=job, errors=errors, errors_limit=ERRORS_SHOWN)


@router.get("/search")
async def search_page(request: Request, services: ServicesDep, collection: str | None = None) -> HTMLResponse:
    collections = await queries.collection_infos(services)
    names = [info["name"] for info in collections]
    selected = collection if collection in names else (names[0] if names else None)
    return render(request, "search.html", "search", collections=collections, selected=selected)


@router.get("/sources", response_model=None)
async def sources_of_a_collection(services: ServicesDep, collection: str | None = None) -> RedirectResponse:
    """Where photos come from, for the navigation: the sources page of `collection` (else the first one); the
    collections page while there is none."""
    names = [info["name"] for info in await queries.collection_infos(services)]
    if not names:
        return RedirectResponse("/collections", status_code=303)
    name = collection if collection in names else names[0]
    return RedirectResponse(f"/collections/{quote(name, safe='')}/sources", status_code=303)


@router.get("/login")
async def login_page(request: Request, next: str | None = None) -> HTMLResponse:  # noqa: A002
    return render(request, "login.html", "login", next=safe_next(next))


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


def ml_summary(status: dict[str, Any]) -> dict[str, Any]:
    """What the pages say about the ML service: up, loading its models (every replica is) or down, which models,
    whether they mean anything. `static/js/ml-status.js` `mlState` is the twin of `state`."""
    ml = status["ml"]
    capabilities = ml.get("capabilities") or {}
    up = bool(capabilities) and any(replica.get("status") == "ok" for replica in ml["replicas"])
    healths = [replica.get("status") for replica in ml["replicas"]]
    loading = not up and bool(healths) and all(health == "loading" for health in healths)  # as at a first start
    return {
        "up": up,
        "state": "up" if up else "loading" if loading else "down",
        "error": ml.get("error"),
        "replicas": ml["replicas"],
        "capabilities": capabilities,
        "backend": capabilities.get("backend"),
        "dimension": capabilities.get("dimension"),
        "meaningless": up and (capabilities.get("backend") == "tiny" or capabilities.get("meaningful") is False),
    }
