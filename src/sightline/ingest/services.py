"""Everything a request handler needs, built once per app and reached through `get_services`."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request

from sightline.config import IngestSettings
from sightline.errors import ErrorCode, SightlineError
from sightline.ingest.jobdb import JobStore
from sightline.ingest.ml_client import MLClient
from sightline.ingest.pipeline import JobRunner
from sightline.ingest.vectors import VectorStore


@dataclass
class Services:
    settings: IngestSettings
    vectors: VectorStore
    jobdb: JobStore
    ml: MLClient
    runner: JobRunner

    async def call(self, function: Any, *args: Any, **kwargs: Any) -> Any:
        """Store and job-store calls are blocking: run them off the event loop."""
        return await asyncio.to_thread(function, *args, **kwargs)

    async def job_or_404(self, job_id: str):
        """The job `job_id` names: its full id or a unique prefix (the short ids the UI shows; an ambiguous
        one is CONFLICT). Callers go on with the answer's `job_id`, the full one."""
        full_id = await self.call(self.jobdb.resolve_job_id, job_id)
        job = await self.call(self.jobdb.get_job, full_id) if full_id else None
        if job is None:
            raise SightlineError(ErrorCode.NOT_FOUND, f"No job {job_id!r}.", where="job_id", status=404)
        return job


def get_services(request: Request) -> Services:
    return request.app.state.services


ServicesDep = Annotated[Services, Depends(get_services)]  # how a route handler or a page asks for them
