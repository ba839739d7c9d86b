"""A collection's change marker: what the cached review results (near pairs, maps) were computed at. It moves
when the point count changes or a job of the collection starts or ends (a re-ingest may replace vectors at the
same count)."""

from __future__ import annotations

from sightline.ingest.jobdb import JobStore
from sightline.ingest.vectors import VectorStore


def collection_marker(vectors: VectorStore, jobdb: JobStore, name: str) -> str:
    """Blocking (call it off the event loop); a 404 for an unknown collection."""
    count = vectors.collection_info(name).points_count
    newest = jobdb.list_jobs(collection=name, limit=1)
    job = f"{newest[0].job_id}:{newest[0].state}:{newest[0].counts.processed}" if newest else "-"
    return f"{count}|{job}"
