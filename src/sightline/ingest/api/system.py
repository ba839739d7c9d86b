"""Health (open, for supervisors) and status (the ML service, the store, the ingest roots)."""

from __future__ import annotations

from fastapi import APIRouter

from sightline import __version__
from sightline.ingest import queries
from sightline.ingest.api import ServicesDep

router = APIRouter(tags=["system"])


@router.get("/health")
async def health(services: ServicesDep) -> dict:
    """Open liveness check of the ingestion service."""
    running = services.runner.current.job_id if services.runner.current else None
    return {"status": "ok", "version": __version__, "running_job": running}


@router.get("/api/v1/status")
async def status(services: ServicesDep) -> dict:
    """The ML replicas' health and models, the store backend, the ingest roots."""
    return await queries.system_status(services)
