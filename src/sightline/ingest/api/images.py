"""Point details, thumbnails (made on demand, cached) and originals (only from inside the ingest roots)."""

from __future__ import annotations

import asyncio
import mimetypes
import os
from pathlib import Path
from typing import Annotated, BinaryIO, Iterator

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import FileResponse, StreamingResponse

from sightline.config import IngestSettings
from sightline.errors import ErrorCode, SightlineError
from sightline.imaging import make_thumbnail, shared_budget, thumbnail_size
from sightline.ingest.api import ServicesDep
from sightline.ingest.disk import check_free
from sightline.ingest.paths import confine, fs_path, open_confined
from sightline.ingest.photo_facts import photo_facts, read_exposure, technical_facts
from sightline.ingest.removal import ImagesDelete, remove_points
from sightline.ingest.schemas import CollectionName
from sightline.ingest.services import Services
from sightline.ingest.sources.store import SourceStore
from sightline.ingest.vectors import Point, canonical_id

router = APIRouter(prefix="/api/v1/collections/{name}/points", tags=["images"])
batch_router = APIRouter(prefix="/api/v1/images", tags=["images"])
BROWSER_FORMATS = frozenset({"jpeg", "png", "webp", "gif", "avif", "bmp"})  # shown as they are
VIEW_SIZE = 4096  # the long side of a rendition of a format browsers cannot show


def thumbnail_url(collection: str, point_id: str) -> str:
    return f"/api/v1/collections/{collection}/points/{point_id}/thumbnail"


async def get_point(services: Services, name: str, point_id: str) -> Point:
    point_id = canonical_id(point_id)
    points = await services.call(services.vectors.retrieve, name, [point_id])
    if not points:
        raise SightlineError(ErrorCode.NOT_FOUND, f"No point {point_id} in {name}.", where="point_id", status=404)
    return points[0]


def original_path(services: Services, point: Point) -> Path:
    """The original's path while it is there; else NOT_FOUND: `where` "path" when it is gone, "source" when the
    folder a source follows cannot be read now (a drive not mounted: the photo waits for it in the index)."""
    path = confine(point.payload.get("path", ""), services.settings.roots, where="path")
    if os.path.isfile(path):  # False, not an error, for a name too long or with a NUL too
        return path
    offline = SourceStore(services.jobdb).offline_folder(path)
    if offline is not None:
        raise SightlineError(ErrorCode.NOT_FOUND, f"Its folder {offline} is offline (a drive not mounted?). The "
                             "photo stays in the index until the folder is back.", where="source", status=404)
    raise SightlineError(ErrorCode.NOT_FOUND, f"The original file {path} is gone.", where="path", status=404)


def _check_original(services: Services, point: Point) -> None:
    """One stat while the original is there; else the error `original_path` gives (404 gone, 403 outside)."""
    if not os.path.isfile(fs_path(point.payload.get("path", ""))):
        original_path(services, point)


@router.get("/{point_id}")
async def point_detail(name: str, point_id: str, services: ServicesDep) -> dict:
    """The point's payload, and its details in words: `facts` as a photographer reads them (exposure read
    from the original's EXIF), `technical` ones (hashes, ids, models) apart; `original_gone`: why the original
    file cannot be shown (moved, renamed or deleted since it was indexed; or `original_offline`: its source's
    folder is offline), else null."""
    point = await get_point(services, name, point_id)
    exposure = await asyncio.to_thread(_exposure, point.payload.get("path", ""), services.settings.roots)
    base = f"/api/v1/collections/{name}/points/{point.id}"
    return {"id": point.id, "payload": point.payload,
            "facts": photo_facts(point.payload, exposure), "technical": technical_facts(point.id, point.payload),
            "thumbnail_url": thumbnail_url(name, point.id), "view_url": f"{base}/view",
            "original_url": f"{base}/original", **_gone(services, point)}


def _gone(services: Services, point: Point) -> dict[str, str | bool | None]:
    """`original_gone`: why the original cannot be shown (the 404 its view and thumbnail answer), None while it
    is there; `original_offline`: whether that is because its source's folder is offline, not gone."""
    try:
        original_path(services, point)
    except SightlineError as exc:
        if exc.code is ErrorCode.NOT_FOUND:
            return {"original_gone": exc.message, "original_offline": exc.where == "source"}
    return {"original_gone": None, "original_offline": False}


@router.get("/{point_id}/thumbnail")
async def thumbnail(
    name: str, point_id: str, request: Request, services: ServicesDep,
    size: Annotated[int | None, Query(ge=32, le=2048)] = None,
) -> Response:
    """A JPEG thumbnail, made once and cached under the data dir. Sizes come in a fixed set (160, 320,
    640, 1280): any other ``size`` is served the next larger one (1280 at most), so every request can
    hit the cache."""
    point = await get_point(services, name, point_id)
    return await _cached_jpeg(services, request, name, point, thumbnail_size(size or services.settings.thumbnail_size))


@router.get("/{point_id}/view")
async def view(name: str, point_id: str, request: Request, services: ServicesDep) -> Response:
    """The photo as a browser shows it, full size: the original when browsers can show its format, else
    (HEIC, RAW, DNG, TIFF, ...) a JPEG rendition of at most VIEW_SIZE pixels a side, made once and cached."""
    point = await get_point(services, name, point_id)
    if point.payload.get("format") in BROWSER_FORMATS:
        return await _send_original(services, point, "inline")
    return await _cached_jpeg(services, request, name, point, VIEW_SIZE)


async def _cached_jpeg(services: Services, request: Request, name: str, point: Point, size: int) -> Response:
    """Revalidated by the browser each time (`no-cache`, a 304 while unchanged): a tile says "Original gone" as
    soon as the file is, and shows new content at once (an overwritten file keeps its point id, so its URL)."""
    _check_original(services, point)  # a gone original's cached thumbnail is a 404 too
    etag = f'"{(point.payload.get("sha256") or point.id)[:16]}-{size}"'
    headers = {"Cache-Control": "private, no-cache", "ETag": etag}
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    cached = services.settings.data_dir / "thumbnails" / name / f"{point.id}-{size}-{etag.strip(chr(34))}.jpg"
    if cached.is_file():
        return FileResponse(cached, media_type="image/jpeg", headers=headers)
    original_path(services, point)  # 403 outside the roots, 404 when gone
    data = await asyncio.to_thread(_render_thumbnail, point.payload["path"], size, services.settings)
    try:
        await asyncio.to_thread(_write_atomically, cached, data)
    except (SightlineError, OSError):  # a full disk: serve it uncached rather than fail
        pass
    return Response(data, media_type="image/jpeg", headers=headers)


@router.get("/{point_id}/original")
async def original(name: str, point_id: str, services: ServicesDep) -> StreamingResponse:
    """The original file (as a download), served only from inside the ingest roots."""
    return await _send_original(services, await get_point(services, name, point_id), "attachment")


async def _send_original(services: Services, point: Point, disposition: str) -> StreamingResponse:
    path = original_path(services, point)
    stream = await asyncio.to_thread(_open_original, point.payload["path"], services.settings.roots)
    size = os.fstat(stream.fileno()).st_size
    shown = FileResponse(path, filename=path.name, content_disposition_type=disposition)
    return StreamingResponse(_chunks(stream), media_type=_media_type(path), headers={
        "Cache-Control": "private, max-age=3600", "Content-Length": str(size),
        "Content-Disposition": shown.headers["content-disposition"]})


@router.delete("/{point_id}", status_code=204)
async def delete_point(name: str, point_id: str, services: ServicesDep) -> Response:
    """Remove one image from the index: its point, its cached thumbnails and, when it was uploaded, Sightline's
    own copy of the file. The original on disk is never touched; a source's sync keeps it out while the file
    stays unchanged. 404 for an unknown point."""
    return await _remove_one(services, name, point_id)


@batch_router.delete("/{point_id}", status_code=204)
async def delete_image(
    point_id: str, services: ServicesDep,
    collection: Annotated[CollectionName, Query(description="Point ids are per collection.")],
) -> Response:
    """Remove one image from the index, as `DELETE /api/v1/collections/{name}/points/{point_id}` does. Point ids
    are per collection (one file ingested into two collections is two points), so the collection is named."""
    return await _remove_one(services, collection, point_id)


async def _remove_one(services: Services, name: str, point_id: str) -> Response:
    point_id = canonical_id(point_id)  # 422 as for the other point routes
    removal = await services.call(remove_points, services.vectors, services.settings, name, [point_id],
                                  remember=services.jobdb)
    if not removal.deleted:
        raise SightlineError(ErrorCode.NOT_FOUND, f"No point {point_id} in {name}.", where="point_id",
                             status=404)
    return Response(status_code=204)


@batch_router.post("/delete")
async def delete_images(body: ImagesDelete, services: ServicesDep) -> dict:
    """Remove a selection of images (1-1000 point ids of one collection) from the index, as the single delete
    does for each; ids that are not there are listed in ``missing``, the others counted in ``deleted``."""
    removal = await services.call(remove_points, services.vectors, services.settings, body.collection,
                                  body.point_ids, remember=services.jobdb)
    return {"deleted": len(removal.deleted), "missing": removal.missing}


def _open_original(path_text: str, roots: list[Path]) -> BinaryIO:
    """Opened at read time without following a link swapped in since the check (FORBIDDEN then)."""
    try:
        return open_confined(path_text, roots)
    except OSError as exc:
        raise SightlineError(ErrorCode.FILE_UNREADABLE, f"Cannot read the original: {exc.strerror}",
                             where="path", status=404) from None


def _chunks(stream: BinaryIO, size: int = 1024 * 1024) -> Iterator[bytes]:
    with stream:
        while chunk := stream.read(size):
            yield chunk


def _media_type(path: Path) -> str:
    return mimetypes.guess_type(path.name)[0] or "application/octet-stream"


def _exposure(path_text: str, roots: list[Path]) -> dict[str, float]:
    """The original's exposure facts; {} when it cannot be read (the rest of the details still show)."""
    try:
        with open_confined(path_text, roots) as stream:
            return read_exposure(stream.read())
    except (OSError, ValueError, SightlineError):  # ValueError: a NUL in the path
        return {}


def _render_thumbnail(source: str, size: int, settings: IngestSettings) -> bytes:
    """Decoded reduced, within the process's decode budget: a bomb is that thumbnail's IMAGE_TOO_LARGE."""
    try:
        with _open_original(source, settings.roots) as stream:
            data = stream.read()
    except OSError as exc:
        raise SightlineError(ErrorCode.FILE_UNREADABLE, f"Cannot read the original: {exc.strerror}",
                             where="path", status=404) from None
    return make_thumbnail(data, size, max_pixels=settings.max_image_pixels,
                          budget=shared_budget(settings.max_decode_bytes))


def _write_atomically(target: Path, data: bytes) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    check_free(target.parent, len(data))
    temporary = target.with_suffix(f".{os.getpid()}.tmp")
    try:
        temporary.write_bytes(data)
        os.replace(temporary, target)
    except OSError:
        temporary.unlink(missing_ok=True)
        raise
