"""What the service knows, as the API answers it: the API routes and the web UI pages both read through here."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sightline import __version__
from sightline.errors import ErrorCode, SightlineError
from sightline.ingest.jobdb import JOB_STATES
from sightline.ingest.ml_client import MLError
from sightline.ingest.services import Services


async def system_status(services: Services) -> dict[str, Any]:
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


async def collection_infos(services: Services) -> list[dict[str, Any]]:
    """Every collection with its point count, status and parameters."""
    infos = await services.call(services.vectors.list_collections)
    return [info.to_dict() for info in infos]


async def list_jobs(
    services: Services,
    *,
    collection: str | None = None,
    states: Sequence[str] | None = None,
    limit: int = 50,
    offset: int = 0,
) -> list[dict[str, Any]]:
    """Jobs, newest first; an unknown state is a VALIDATION_ERROR."""
    if states and not set(states) <= JOB_STATES:
        raise SightlineError(ErrorCode.VALIDATION_ERROR, f"state must be among {sorted(JOB_STATES)}",
                             where="state", status=422)
    jobs = await services.call(services.jobdb.list_jobs, collection=collection, states=states, limit=limit,
                               offset=offset)
    return [job.to_dict() for job in jobs]


async def job_errors(services: Services, job_id: str, *, limit: int, offset: int = 0) -> list[dict[str, Any]]:
    """The job's per-file errors, oldest first (NOT_FOUND for an unknown job)."""
    return await _job_records(services, job_id, services.jobdb.errors, limit=limit, offset=offset)


async def job_logs(services: Services, job_id: str, *, after_id: int, limit: int) -> list[dict[str, Any]]:
    """The job's log lines after `after_id`, oldest first (NOT_FOUND for an unknown job)."""
    return await _job_records(services, job_id, services.jobdb.logs, after_id=after_id, limit=limit)


async def _job_records(
    services: Services, job_id: str, read: Callable[..., list[Any]], **query: Any
) -> list[dict[str, Any]]:
    await services.job_or_404(job_id)
    return [record.to_dict() for record in await services.call(read, job_id, **query)]
