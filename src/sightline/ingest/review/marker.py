"""A collection's change marker: what answers worked out from a whole collection (the review's near pairs and
maps, the browse page's folder tree and months) were computed at. It moves when the point count changes or any
job of the collection is made or writes (a re-ingest, sync, move or removal may change points at the same
count)."""

from __future__ import annotations

from sightline.ingest.jobdb import JobStore
from sightline.ingest.vectors import VectorStore


def collection_marker(vectors: VectorStore, jobdb: JobStore, name: str) -> str:
    """Blocking (call it off the event loop); a 404 for an unknown collection."""
    count = vectors.collection_info(name).points_count
    with jobdb.reading() as conn:  # the jobs, and the sum of their change counters (each write bumps one)
        jobs, writes = conn.execute("SELECT COUNT(*), COALESCE(SUM(version), 0) FROM jobs WHERE collection = ?",
                                    (name,)).fetchone()
    return f"{count}|{jobs}|{writes}"
