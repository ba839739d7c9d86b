"""Point details, thumbnails (made on demand, cached) and originals (only from inside the ingest roots)."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import FileResponse

from sightline.errors import ErrorCode, SightlineError
from sightline.imaging import make_thumbnail
from sightline.ingest.api import ServicesDep
from sightline.ingest.paths import confine
from sightline.ingest.services import Services
from sightline.ingest.vectors import Point, canonical_id

router = APIRouter(prefix="/api/v1/collections/{name}/points", tags=["images"])
CACHE_SECONDS = 7 * 24 * 3600


def thumbnail_url(collection: str, point_id: str) -> str:
    return f"/api/v1/collections/{collection}/points/{point_id}/thumbnail"


async def get_point(services: Services, name: str, point_id: str) -> Point:
    point_id = canonical_id(point_id)
    points = await services.call(services.vectors.retrieve, name, [point_id])
    if not points:
        raise SightlineError(ErrorCode.NOT_FOUND, f"No point {point_id} in {name}.", where="point_id", status=404)
    return points[0]


def original_path(services: Services, point: Point) -> Path:
    path = confine(point.payload.get("path", ""), services.settings.roots, where="path")
    if not path.is_file():
        raise SightlineError(ErrorCode.NOT_FOUND, f"The original file {path} is gone.", where="path", status=404)
    return path


@router.get("/{point_id}")
async def point_detail(name: str, point_id: str, services: ServicesDep) -> dict:
    """The point's payload: file, EXIF, caption and models."""
    point = await get_point(services, name, point_id)
    return {"id": point.id, "payload": point.payload,
            "thumbnail_url": thumbnail_url(name, point.id),
            "original_url": f"/api/v1/collections/{name}/points/{point.id}/original"}


@router.get("/{point_id}/thumbnail")
async def thumbnail(
    name: str, point_id: str, request: Request, services: ServicesDep,
    size: Annotated[int | None, Query(ge=32, le=2048)] = None,
) -> Response:
    """A JPEG thumbnail, made once and cached under the data dir."""
    point = await get_point(services, name, point_id)
    size = size or services.settings.thumbnail_size
    etag = f'"{(point.payload.get("sha256") or point.id)[:16]}-{size}"'
    headers = {"Cache-Control": f"private, max-age={CACHE_SECONDS}", "ETag": etag}
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    cached = services.settings.data_dir / "thumbnails" / name / f"{point.id}-{size}-{etag.strip(chr(34))}.jpg"
    if not cached.is_file():
        source = original_path(services, point)
        data = await asyncio.to_thread(_render_thumbnail, source, size, services.settings.max_image_pixels)
        await asyncio.to_thread(_write_atomically, cached, data)
    return FileResponse(cached, media_type="image/jpeg", headers=headers)


@router.get("/{point_id}/original")
async def original(name: str, point_id: str, services: ServicesDep) -> FileResponse:
    """The original file, served only from inside the ingest roots."""
    point = await get_point(services, name, point_id)
    path = original_path(services, point)
    return FileResponse(path, filename=path.name, headers={"Cache-Control": "private, max-age=3600"})


def _render_thumbnail(source: Path, size: int, max_pixels: int) -> bytes:
    try:
        data = source.read_bytes()
    except OSError as exc:
        raise SightlineError(ErrorCode.FILE_UNREADABLE, f"Cannot read the original: {exc.strerror}",
                             where="path", status=404) from None
    return make_thumbnail(data, size, max_pixels=max_pixels)


def _write_atomically(target: Path, data: bytes) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_suffix(f".{os.getpid()}.tmp")
    temporary.write_bytes(data)
    os.replace(temporary, target)
