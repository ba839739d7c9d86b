"""Health, the ML service's status, the server-side folder browser, and the browser session."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response

from sightline import __version__
from sightline.errors import ErrorCode, SightlineError
from sightline.ingest.auth import SESSION_COOKIE, session_value
from sightline.ingest.ml_client import MLError
from sightline.ingest.paths import confine
from sightline.ingest.schemas import SessionRequest
from sightline.ingest.services import Services, get_services
from sightline.security import key_matches

router = APIRouter(tags=["system"])
ServicesDep = Annotated[Services, Depends(get_services)]
MAX_BROWSE_ENTRIES = 2000


@router.get("/health")
async def health(services: ServicesDep) -> dict:
    """Open liveness check of the ingestion service."""
    running = services.runner.current.job_id if services.runner.current else None
    return {"status": "ok", "version": __version__, "running_job": running}


@router.get("/api/v1/status")
async def status(services: ServicesDep) -> dict:
    """The ML replicas' health and models, the store backend, the ingest roots."""
    replicas = await services.ml.replica_health()
    try:
        capabilities = await services.ml.capabilities(interactive=True) if any(
            r.get("status") == "ok" for r in replicas) else None
        ml_error = None if capabilities else "no ML replica is ready"
    except MLError as exc:
        capabilities, ml_error = None, f"{exc.code}: {exc.message}"
    return {
        "version": __version__,
        "ml": {"replicas": replicas, "capabilities": capabilities, "error": ml_error},
        "store": {"backend": "qdrant" if services.settings.qdrant_url else "embedded"},
        "ingest_roots": [str(root) for root in services.settings.roots],
        "admin_token_required": bool(services.settings.admin_token),
    }


@router.get("/api/v1/browse")
async def browse(services: ServicesDep, path: Annotated[str | None, Query(max_length=4096)] = None) -> dict:
    """Sub-folders (and the image count) of a folder inside the ingest roots; the roots when no path."""
    roots = services.settings.roots
    if not path:
        return {"path": None, "parent": None,
                "folders": [{"name": str(root), "path": str(root)} for root in roots if root.is_dir()],
                "images": 0}
    folder = confine(path, roots, where="path")
    if not folder.is_dir():
        raise SightlineError(ErrorCode.NOT_FOUND, f"No folder {path}.", where="path", status=404)
    return await services.call(_list_folder, folder, roots)


def _list_folder(folder: Path, roots: list[Path]) -> dict:
    from sightline.imaging import IMAGE_EXTENSIONS

    folders, images = [], 0
    try:
        entries = sorted(os.scandir(folder), key=lambda entry: entry.name.lower())
    except OSError as exc:
        raise SightlineError(ErrorCode.FILE_UNREADABLE, f"Cannot list {folder}: {exc.strerror}", where="path",
                             status=403) from None
    for entry in entries[:MAX_BROWSE_ENTRIES]:
        if entry.name.startswith("."):
            continue
        if entry.is_dir(follow_symlinks=False):
            folders.append({"name": entry.name, "path": str(Path(entry.path))})
        elif Path(entry.name).suffix.lower() in IMAGE_EXTENSIONS:
            images += 1
    parent = folder.parent if folder not in roots else None
    return {"path": str(folder), "parent": str(parent) if parent else None, "folders": folders, "images": images}


@router.post("/api/v1/session", status_code=204)
async def open_session(body: SessionRequest, request: Request, services: ServicesDep) -> Response:
    """Exchange the admin token for an http-only session cookie (for the web UI)."""
    token = services.settings.admin_token
    if not token or not key_matches(body.token, [token]):
        raise SightlineError(ErrorCode.UNAUTHORIZED, "Wrong admin token.", where="token", status=401)
    response = Response(status_code=204)
    response.set_cookie(SESSION_COOKIE, session_value(token), httponly=True, samesite="strict",
                        secure=request.url.scheme == "https", max_age=30 * 24 * 3600, path="/")
    return response


@router.delete("/api/v1/session", status_code=204)
async def close_session() -> Response:
    response = Response(status_code=204)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response

