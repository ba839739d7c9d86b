"""When the embedded store builds a collection's vector index (HNSW + quantization, in a child process).

A build starts by itself after a job ends, once a collection holds `index_min_points` points (below that,
exact search answers in a few ms) and has no index yet or has grown by half since its last build; or when
asked (`POST /api/v1/collections/{name}/index`). One build runs at a time per collection; searches and
ingestion go on meanwhile (see `vectors/_edge_index.py`). A Qdrant server builds its own indexes.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from sightline.errors import ErrorCode, SightlineError
from sightline.ingest.vectors import VectorStore

logger = logging.getLogger("sightline.indexing")

GROWTH_FOR_REBUILD = 1.5  # points now / points at the last build


class Indexer:
    def __init__(self, vectors: VectorStore, min_points: int):
        self.vectors = vectors
        self.min_points = min_points
        self._tasks: dict[str, asyncio.Task] = {}
        self._built_at: dict[str, int] = {}  # collection → points when its index was last built or seen built
        self._last: dict[str, dict[str, Any]] = {}  # collection → the last build's outcome

    @property
    def supported(self) -> bool:
        return hasattr(self.vectors, "build_index")

    def status(self, collection: str) -> dict[str, Any]:
        building = collection in self._tasks
        return {"collection": collection, "state": "building" if building else "idle",
                "automatic_from_points": self.min_points, "last_build": self._last.get(collection)}

    def start(self, collection: str, indexing_threshold_kb: int | None = None) -> dict[str, Any]:
        """Start a build now (CONFLICT if one runs, or if the store builds its own indexes)."""
        if not self.supported:
            raise SightlineError(ErrorCode.CONFLICT, "The Qdrant server builds its collections' indexes itself.",
                                 where="collection", status=409)
        if collection in self._tasks:
            raise SightlineError(ErrorCode.CONFLICT, f"The index of {collection!r} is being built already.",
                                 where="collection", status=409)
        task = asyncio.create_task(self._build(collection, indexing_threshold_kb))
        self._tasks[collection] = task
        return self.status(collection)

    async def job_ended(self, collection: str) -> None:
        """Start a build if the collection is big enough and its index missing or outgrown."""
        if not self.supported or collection in self._tasks:
            return
        try:
            info = await asyncio.to_thread(self.vectors.collection_info, collection)
        except SightlineError:
            return  # deleted or damaged meanwhile: nothing to index
        points = info.points_count
        if points < self.min_points:
            return
        if not info.ignored_params:  # indexed, by this process or an earlier one
            last = self._built_at.setdefault(collection, points)
            if points < last * GROWTH_FOR_REBUILD:
                return
        self.start(collection)

    async def stop(self) -> None:
        """Wait for running builds: the store must not close under one (a build of 100k points takes minutes)."""
        if self._tasks:
            logger.info("waiting for %d index build(s) to finish", len(self._tasks))
        await asyncio.gather(*self._tasks.values(), return_exceptions=True)

    async def _build(self, collection: str, indexing_threshold_kb: int | None) -> None:
        try:
            info = await asyncio.to_thread(self.vectors.collection_info, collection)
            build = await asyncio.to_thread(self.vectors.build_index, collection,  # type: ignore[attr-defined]
                                            indexing_threshold_kb)
            self._built_at[collection] = info.points_count
            self._last[collection] = {"state": "done", **build.to_dict()}
            logger.info("index of %s built: %s", collection, build.to_dict())
        except SightlineError as exc:
            self._last[collection] = {"state": "failed", "error": {"code": exc.code, "message": exc.message}}
            logger.warning("index of %s not built: %s", collection, exc.message)
        finally:
            self._tasks.pop(collection, None)
