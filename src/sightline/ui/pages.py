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
from sightline.ingest.jobdb import TERMINAL_STATES
from sightline.ingest.services import Services, ServicesDep
from sightline.ingest.vectors import COLLECTION_NAME_PATTERN
from sightline.ui.errors import bad_jobs_filter, job_not_found
from sightline.ui.templating import render

router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)
ERRORS_SHOWN = 1000
ACTIVE_SHOWN = 50  # running jobs, and as many queued ones, on the dashboard
FINISHED_SHOWN = 10  # the dashboard's recent jobs ...
FINISHED_LOOKED_AT = 100  # ... the last to end among this many newest finished ones
REMEMBERED = "sightline_collection"  # the cookie of the collection last worked in (static/js/remembered.js)


@router.get("/")
async def dashboard(request: Request, services: ServicesDep) -> HTMLResponse:
    status = await queries.system_status(services)
    newest = await queries.list_jobs(services, limit=1)
    return render(
        request, "dashboard.html", "dashboard",
        status=status, ml=ml_summary(status), collections=await queries.collection_infos(services),
        running=await active_jobs(services), recent=await recently_finished(services),
        newest=newest[0]["job_id"] if newest else "",
    )


async def active_jobs(services: Services) -> list[dict[str, Any]]:
    """The running jobs, then the queued ones, each newest first: a long queue (syncs at start-up) never hides
    the jobs at work. Every one of the `ACTIVE_SHOWN` newest active jobs is among them, as `dashboard.js`,
    which looks for new ones there, expects."""
    running = await queries.list_jobs(services, states=("running",), limit=ACTIVE_SHOWN)
    return running + await queries.list_jobs(services, states=("queued",), limit=ACTIVE_SHOWN)


async def recently_finished(services: Services) -> list[dict[str, Any]]:
    """The jobs that ended last, the last first: by the time they ended, not the time they were created (a retried
    job ends again long after its creation), whatever is queued or running meanwhile."""
    ended = await queries.list_jobs(services, states=sorted(TERMINAL_STATES), limit=FINISHED_LOOKED_AT)
    return sorted(ended, key=lambda job: job["finished_at"] or "", reverse=True)[:FINISHED_SHOWN]


@router.get("/collections")
async def collections_page(
    request: Request, services: ServicesDep, created: str | None = None, deleted: str | None = None
) -> HTMLResponse:
    status = await queries.system_status(services)
    collections = await queries.collection_infos(services)
    names = {info["name"] for info in collections}
    return render(request, "collections.html", "collections", ml=ml_summary(status), collections=collections,
                  store_backend=status["store"]["backend"], index_min_points=services.settings.index_min_points,
                  created=created if created in names else None,
                  deleted=deleted if is_collection_name(deleted) and deleted not in names else None)


def is_collection_name(text: str | None) -> bool:
    """Whether a notice may name `text`: a valid collection name, never arbitrary text from a link."""
    return text is not None and re.fullmatch(COLLECTION_NAME_PATTERN, text) is not None


@router.get("/ingest")
async def ingest_page(request: Request, services: ServicesDep, collection: str | None = None) -> HTMLResponse:
    collections = await queries.collection_infos(services)
    return render(
        request, "ingest.html", "ingest", collections=collections,
        selected=chosen_collection(request, collection, [info["name"] for info in collections]),
        roots=[str(root) for root in services.settings.roots],
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
        return bad_jobs_filter(request, exc, state)
    return render(request, "jobs.html", "jobs", jobs=jobs, collections=await queries.collection_infos(services),
                  collection=collection or "", state=state or "")


@router.get("/jobs/{job_id}", response_model=None)
async def job_page(request: Request, services: ServicesDep, job_id: str) -> HTMLResponse | RedirectResponse:
    """A job by its full id; a short one (the UI's and the CLI's) redirects to the full one, so that the page's
    live updates and its address name one job."""
    try:
        job = (await services.job_or_404(job_id)).to_dict()
    except SightlineError as exc:
        return job_not_found(request, job_id, exc)
    if job["job_id"] != job_id:
        return RedirectResponse(f"/jobs/{quote(job['job_id'], safe='')}", status_code=303)
    errors = await queries.job_errors(services, job["job_id"], limit=ERRORS_SHOWN)
    return render(request, "job.html", "jobs", job=job, errors=errors, errors_limit=ERRORS_SHOWN)


@router.get("/search")
async def search_page(request: Request, services: ServicesDep, collection: str | None = None) -> HTMLResponse:
    collections = await queries.collection_infos(services)
    names = [info["name"] for info in collections]
    selected = chosen_collection(request, collection, names)
    return render(request, "search.html", "search", collections=collections, selected=selected)


@router.get("/sources", response_model=None)
async def sources_of_a_collection(
    request: Request, services: ServicesDep, collection: str | None = None
) -> RedirectResponse:
    """Where photos come from, for the navigation: the sources page of `collection` (else the one last worked in,
    else the first one); the collections page while there is none."""
    names = [info["name"] for info in await queries.collection_infos(services)]
    if not names:
        return RedirectResponse("/collections", status_code=303)
    name = chosen_collection(request, collection, names)
    return RedirectResponse(f"/collections/{quote(name, safe='')}/sources", status_code=303)


def chosen_collection(request: Request, asked: str | None, names: list[str]) -> str | None:
    """The collection a page opens on: `asked` when it is one of `names`, else the one last worked in (its cookie),
    else the first; None while there is none."""
    for name in (asked, request.cookies.get(REMEMBERED)):
        if name in names:
            return name
    return names[0] if names else None


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
