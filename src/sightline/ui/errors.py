"""The pages that say something went wrong, in plain words: what was asked for, what is wrong with it, and
where to go next (links). One place for their wording, whichever route renders them."""

from __future__ import annotations

import unicodedata
from typing import get_args

from fastapi import Request
from fastapi.responses import HTMLResponse

from sightline.errors import SightlineError
from sightline.ingest.jobdb.models import JobState
from sightline.ui.templating import render

Link = tuple[str, str]  # (href, label)
DASHBOARD: Link = ("/", "Dashboard")
PHOTOS: Link = ("/search", "Photos")
COLLECTIONS: Link = ("/collections", "All collections")
JOBS: Link = ("/jobs", "All jobs")
ECHO_CHARS = 200  # of what was asked for (an address, an id, a name), shown back
MESSAGE_CHARS = 500  # of a message that may hold it
HIDDEN = {"Cc", "Cf", "Co", "Cs", "Zl", "Zp"}  # controls, bidi overrides, zero-width and private characters


def error_page(
    request: Request, status: int, title: str, message: str, hint: str, links: tuple[Link, ...], page: str = ""
) -> HTMLResponse:
    """`message`: what is wrong; `hint`: what to do about it, introducing `links`."""
    return render(request, "error.html", page, status_code=status, title=title, message=shown(message, MESSAGE_CHARS),
                  hint=hint, links=links)


def shown(text: str, limit: int = ECHO_CHARS) -> str:
    """`text` as a page may say it back: each invisible character (a control, a right-to-left override that would
    turn the page's own words around, a zero-width space) as its code point, and at most `limit` characters."""
    visible = "".join(f"U+{ord(char):04X}" if unicodedata.category(char) in HIDDEN else char for char in text)
    return visible if len(visible) <= limit else visible[:limit] + "…"


def page_not_found(request: Request) -> HTMLResponse:
    """A browser's address that is no page (`/photos`)."""
    return error_page(request, 404, "Page not found", f"There is no page at {shown(request.url.path)}.",
                      "Check the address for a typo, or go on from one of these pages:",
                      (PHOTOS, COLLECTIONS, DASHBOARD))


def job_not_found(request: Request, job_id: str, exc: SightlineError) -> HTMLResponse:
    """An unknown job id, or a short one that more than one job starts with (409)."""
    if exc.status == 404:
        return error_page(request, 404, "Job not found", f"There is no job with the id {shown(job_id)}.",
                          "It may have been deleted with its collection. Find the job in the list:", (JOBS, DASHBOARD))
    if exc.status == 409:
        return error_page(request, 409, "More than one job matches",
                          f"More than one job id starts with {shown(job_id)}.",
                          "Use more characters of the id, or pick the job in the list:", (JOBS,))
    return error_page(request, exc.status, "Cannot show this job", exc.message, "Go back to:", (JOBS,))


def collection_not_found(request: Request, name: str, exc: SightlineError) -> HTMLResponse:
    """A collection's page (sources, duplicates, map) for a collection that does not exist (or cannot be read)."""
    if exc.status == 404:
        return error_page(request, 404, "Collection not found", f"There is no collection named “{shown(name)}”.",
                          "It may have been deleted. Choose a collection in the list:", (COLLECTIONS,))
    return error_page(request, exc.status, "Cannot open this collection", exc.message,
                      "Its state is shown in the list:", (COLLECTIONS,))


def bad_jobs_filter(request: Request, exc: SightlineError, state: str | None) -> HTMLResponse:
    """The jobs list asked for with a filter it cannot apply (`/jobs?state=done`)."""
    states = ", ".join(state.replace("_", " ") for state in get_args(JobState))
    message = (f"“{shown(state or '')}” is not a state a job can be in; the states are: {states}."
               if exc.where == "state" else exc.message)
    return error_page(request, exc.status, "Unknown job filter", message, "See every job instead:", (JOBS,), "jobs")
