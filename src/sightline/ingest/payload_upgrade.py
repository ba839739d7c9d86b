"""Bring points stored before issue 14 up to the payload schema of today: `words`, `sort_ts`, `date_source`,
and a `camera` without the make twice ("Canon Canon EOS R5" → "Canon EOS R5").

Runs once per collection when the service starts (in the background: searches work meanwhile, the word half
finding the upgraded points only). It only adds what a point lacks, so a second run changes nothing, and it
merges with `set_payload`: vectors and every other field stay as they are.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import PurePath
from typing import Any

from sightline.ingest.pipeline.payload import camera_name, sort_seconds
from sightline.ingest.services import Services
from sightline.errors import SightlineError
from sightline.ingest.vectors import Point, VectorStore
from sightline.ingest.words import photo_words

logger = logging.getLogger(__name__)

PAGE = 256


def upgraded_fields(payload: dict[str, Any], roots: Sequence[PurePath | str] = ()) -> dict[str, Any]:
    """The fields to merge into `payload` (empty when it is up to date)."""
    if "words" in payload:
        return {}
    taken = payload.get("taken_at_ts")
    mtime_ns = payload.get("mtime_ns")
    fields: dict[str, Any] = {"camera": camera_name(payload.get("camera_make"), payload.get("camera_model"))
                              or payload.get("camera")}
    if taken is not None:
        fields.update(sort_ts=sort_seconds(taken), date_source="taken")
    elif isinstance(mtime_ns, (int, float)):
        fields.update(sort_ts=sort_seconds(mtime_ns / 1e9), date_source="file")
    fields["words"] = photo_words({**payload, **fields}, roots)
    return fields


def upgrade_points(store: VectorStore, name: str, points: list[Point], roots: Sequence[PurePath | str] = ()) -> int:
    """Upgrade those of `points` that need it; how many did. Blocking: run it in a thread."""
    upgraded = 0
    for point in points:
        fields = upgraded_fields(point.payload, roots)
        if fields:
            store.set_payload(name, [point.id], fields)
            upgraded += 1
    return upgraded


async def upgrade_collection(services: Services, name: str) -> int:
    """Upgrade every point of `name` that needs it, a page at a time (cancelling stops between pages)."""
    upgraded, offset = 0, None
    while True:
        points, offset = await services.call(services.vectors.scroll, name, limit=PAGE, offset=offset)
        upgraded += await services.call(upgrade_points, services.vectors, name, points, services.settings.roots)
        if offset is None:
            return upgraded


async def upgrade_all(services: Services) -> dict[str, int]:
    """Upgrade every collection that can be read; collection name → points upgraded. A damaged collection or
    a store error skips that collection (logged): the next start tries again.

    The ingestion service runs it in the background at start; on shutdown it is cancelled and awaited, so the
    store is never closed under a page being written."""
    done: dict[str, int] = {}
    for info in await services.call(services.vectors.list_collections):
        if info.error:
            continue
        try:
            done[info.name] = await upgrade_collection(services, info.name)
        except (SightlineError, NotImplementedError) as exc:
            logger.warning("payload upgrade of %s stopped: %s", info.name, exc)
    if any(done.values()):
        logger.info("payload upgrade: %s", done)
    return done
