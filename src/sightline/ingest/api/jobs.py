"""Ingestion jobs: start (scan a folder, upload files), follow (state, errors, logs, live events), control."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Query, Request
from pydantic import TypeAdapter, ValidationError
from sse_starlette.sse import EventSourceResponse

from sightline.errors import ErrorCode, SightlineError
from sightline.humanize import plural
from sightline.ingest import queries
from sightline.ingest.api import ServicesDep
from sightline.ingest.paths import confine, path_text
from sightline.ingest.schemas import AfterId, Offset, ScanRequest, record_index
from sightline.ingest.services import Services
from sightline.ingest.uploads import UploadReceiver, discard, new_staging_folder
from sightline.ingest.vectors import COLLECTION_NAME_MAX_LENGTH

router = APIRouter(prefix="/api/v1", tags=["jobs"])
EVENT_POLL_SECONDS = 0.25
MAX_UPLOAD_FILES = 1000


@router.post("/ingest/scan", status_code=202)
async def ingest_scan(body: ScanRequest, services: ServicesDep) -> dict:
    """Ingest every image under a server-side folder (inside the ingest roots), or one image file there where it
    lies, in the background."""
    await services.call(services.vectors.collection_info, body.collection)  # 404 for an unknown collection
    folder = confine(body.directory_path, services.settings.roots)
    if not (folder.is_dir() or folder.is_file()):
        raise SightlineError(ErrorCode.NOT_FOUND, f"No folder or file {body.directory_path}.",
                             where="directory_path", status=404)
    options = {"recursive": body.recursive, "caption": body.caption}
    job = await services.call(services.jobdb.create_job, body.collection, "scan", path_text(folder), options)
    await services.call(services.jobdb.log, job.job_id, f"queued: scan of {path_text(folder)}")
    services.runner.enqueue(job.job_id)
    return {"job_id": job.job_id, "state": job.state, "url": f"/api/v1/jobs/{job.job_id}"}


UPLOAD_FORM = {"requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
    "type": "object", "required": ["collection", "files"], "properties": {
        "collection": {"type": "string", "minLength": 1, "maxLength": COLLECTION_NAME_MAX_LENGTH},
        "files": {"type": "array", "items": {"type": "string", "format": "binary"},
                  "description": "Image files to ingest."},
        "caption": {"type": "boolean", "default": True}}}}}}}


@router.post("/ingest/upload", status_code=202, openapi_extra=UPLOAD_FORM)
async def ingest_upload(request: Request, services: ServicesDep) -> dict:
    """Store uploaded files under the data dir and ingest them in the background. Each file is streamed to
    disk within the per-file limit; no job exists until every file is stored."""
    announced = request.headers.get("content-length", "")
    staging = await services.call(new_staging_folder, services.settings.uploads_dir,
                                  int(announced) if announced.isascii() and announced.isdigit() else 0)
    try:
        upload = await _receive_upload(request, services, staging)
        caption = _form_bool(upload.fields.get("caption", "true"), "caption")
    except BaseException:
        await services.call(discard, staging)
        raise
    job = await services.call(services.jobdb.create_job, upload.fields["collection"], "upload", "upload",
                              {"caption": caption})
    folder = services.settings.uploads_dir / job.job_id
    try:
        await services.call(staging.rename, folder)
        entries = await services.call(_stat_all, [folder / stored.path.name for stored in upload.files])
        await services.call(services.jobdb.add_files, job.job_id, entries)
        await services.call(services.jobdb.log, job.job_id, f"queued: {len(entries)} uploaded files")
    except Exception as exc:  # e.g. a full disk under the job store: the job must not wait forever
        error = exc if isinstance(exc, SightlineError) else SightlineError(ErrorCode.INTERNAL_ERROR, str(exc))
        await services.call(services.jobdb.set_state, job.job_id, "failed",
                            error={"code": str(error.code), "message": error.message})
        await services.call(discard, folder)
        await services.call(discard, staging)
        raise
    services.runner.enqueue(job.job_id, rescan=False)
    return {"job_id": job.job_id, "state": job.state, "url": f"/api/v1/jobs/{job.job_id}", "files": len(entries)}


async def _receive_upload(request: Request, services: Services, staging: Path) -> UploadReceiver:
    """The form, its files stored under `staging`; the collection is checked as soon as its field arrives."""
    receiver = UploadReceiver(request.headers.get("content-type", ""), staging,
                              max_file_bytes=services.settings.max_upload_bytes, max_files=MAX_UPLOAD_FILES)
    checked = False
    try:
        async for chunk in request.stream():
            await services.call(receiver.feed, chunk)
            if not checked and "collection" in receiver.fields:
                checked = await _check_collection(services, receiver.fields["collection"])
        await services.call(receiver.finish)
    finally:
        receiver.close()
    if not checked:
        await _check_collection(services, receiver.fields.get("collection"))
    if not receiver.files:
        raise SightlineError(ErrorCode.VALIDATION_ERROR, "Send at least one file as \"files\".", where="files",
                             status=422)
    return receiver


def _stat_all(paths: list[Path]) -> list[tuple[str, int, float]]:
    return [(str(path.resolve()), (stat := path.stat()).st_size, stat.st_mtime) for path in paths]


async def _check_collection(services: Services, name: str | None) -> bool:
    if not name or len(name) > COLLECTION_NAME_MAX_LENGTH:
        raise SightlineError(ErrorCode.VALIDATION_ERROR, f"collection: 1 to {COLLECTION_NAME_MAX_LENGTH} "
                             "characters are needed.", where="collection", status=422)
    await services.call(services.vectors.collection_info, name)  # 404 for an unknown collection
    return True


def _form_bool(raw: str, where: str) -> bool:
    try:
        return TypeAdapter(bool).validate_python(raw)
    except ValidationError:
        raise SightlineError(ErrorCode.VALIDATION_ERROR, f"{where}: give true or false.", where=where,
                             status=422) from None


@router.get("/jobs")
async def list_jobs(
    services: ServicesDep,
    collection: str | None = None,
    state: Annotated[list[str] | None, Query(description="Filter by state (repeatable).")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Offset = 0,
) -> dict:
    """Jobs, newest first."""
    return {"jobs": await queries.list_jobs(services, collection=collection, states=state, limit=limit,
                                            offset=offset)}


@router.get("/jobs/{job_id}")
async def get_job(job_id: str, services: ServicesDep) -> dict:
    """State, counts (total / done / cached / skipped / failed / pending), images/s and ETA."""
    return (await services.job_or_404(job_id)).to_dict()


@router.get("/jobs/{job_id}/errors")
async def job_errors(
    job_id: str, services: ServicesDep, limit: Annotated[int, Query(ge=1, le=10000)] = 1000, offset: Offset = 0,
) -> dict:
    """Per-file errors: path, stage, stable code, message, whether a retry may help, when."""
    job_id = (await services.job_or_404(job_id)).job_id  # a short id names the job too
    return {"errors": await queries.job_errors(services, job_id, limit=limit, offset=offset)}


@router.get("/jobs/{job_id}/logs")
async def job_logs(
    job_id: str, services: ServicesDep, after_id: AfterId = 0,
    limit: Annotated[int, Query(ge=1, le=5000)] = 500,
) -> dict:
    """Log lines after `after_id`, oldest first."""
    job_id = (await services.job_or_404(job_id)).job_id
    return {"logs": await queries.job_logs(services, job_id, after_id=after_id, limit=limit)}


@router.get("/jobs/{job_id}/events")
async def job_events(
    job_id: str,
    request: Request,
    services: ServicesDep,
    after_id: AfterId = 0,
) -> EventSourceResponse:
    """Server-sent events: `progress` (the job), `log` (each new line), and `end` once it is finished.

    Reconnecting browsers resume after their Last-Event-ID."""
    job_id = (await services.job_or_404(job_id)).job_id
    last_log = max(after_id, record_index(request.headers.get("last-event-id")))
    return EventSourceResponse(_job_event_stream(job_id, request, services, last_log))


async def _job_event_stream(
    job_id: str, request: Request, services: Services, last_log: int
) -> AsyncIterator[dict]:
    seen = -1
    while not await request.is_disconnected():
        counter = await services.call(services.jobdb.change_counter, job_id)
        if counter != seen:
            seen = counter
            for line in await services.call(services.jobdb.logs, job_id, after_id=last_log, limit=500):
                last_log = line.id
                yield {"event": "log", "id": str(line.id), "data": json.dumps(line.to_dict())}
            job = await services.call(services.jobdb.get_job, job_id)
            if job is None:
                return
            yield {"event": "progress", "data": json.dumps(job.to_dict())}
            if job.is_terminal:
                yield {"event": "end", "data": json.dumps({"state": job.state})}
                return
        await asyncio.sleep(EVENT_POLL_SECONDS)


@router.post("/jobs/{job_id}/cancel")
async def cancel_job(job_id: str, services: ServicesDep) -> dict:
    """Stop after the batches in flight (their results are kept); a queued job is cancelled at once."""
    job = await services.job_or_404(job_id)
    if job.is_terminal:
        raise SightlineError(ErrorCode.CONFLICT, f"The job is already {job.state}.", where="job_id", status=409)
    await services.runner.cancel(job.job_id)
    return (await services.job_or_404(job.job_id)).to_dict()


@router.post("/jobs/{job_id}/retry", status_code=202)
async def retry_job(job_id: str, services: ServicesDep) -> dict:
    """Queue the job again for its failed files (and any it did not reach)."""
    job = await services.job_or_404(job_id)
    job_id = job.job_id
    if not job.is_terminal:
        raise SightlineError(ErrorCode.CONFLICT, f"The job is {job.state}; retry it once it has finished.",
                             where="job_id", status=409)
    reset = await services.call(services.jobdb.retry_failed, job_id)
    never_scanned = job.kind == "scan" and job.counts.total == 0  # it failed before its scan (e.g. ML down)
    if job.counts.pending == 0 and reset == 0 and not never_scanned:
        raise SightlineError(ErrorCode.CONFLICT, "Nothing to retry: no failed or unprocessed files.",
                             where="job_id", status=409)
    await services.call(services.jobdb.set_state, job_id, "queued")
    resumed = f", {plural(job.counts.pending, 'unprocessed file')} resumed" if job.counts.pending else ""
    await services.call(services.jobdb.log, job_id, f"retry: {plural(reset, 'failed file')} queued again{resumed}")
    services.runner.enqueue(job_id, rescan=never_scanned)
    # retried: failed files queued again; pending: files it had not reached (e.g. cancelled before them)
    return {"job_id": job_id, "state": "queued", "retried": reset, "pending": job.counts.pending,
            "rescan": never_scanned}
