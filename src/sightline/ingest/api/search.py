"""Search by text, by an uploaded image, or "more like this" point, with payload filters."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, UploadFile

from sightline.errors import ErrorCode, SightlineError
from sightline.ingest.api import ServicesDep
from sightline.ingest.api.images import thumbnail_url
from sightline.ingest.model_match import check_query_dimension, check_query_model
from sightline.ingest.schemas import SCORE_BOUND, Filters, SearchRequest
from sightline.ingest.services import Services
from sightline.ingest.vectors import COLLECTION_NAME_MAX_LENGTH, CollectionInfo, SearchFilters, StoreError, canonical_id

router = APIRouter(prefix="/api/v1", tags=["search"])


def unix_seconds(moment: datetime | None) -> float | None:
    """Times without a zone are UTC, as EXIF times without an offset are stored."""
    if moment is None:
        return None
    return (moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)).timestamp()


def store_filters(filters: Filters | None) -> SearchFilters | None:
    if filters is None:
        return None
    return SearchFilters(
        taken_after=unix_seconds(filters.taken_after),
        taken_before=unix_seconds(filters.taken_before),
        camera=filters.camera or None,
        folder=filters.folder or None,
        format=filters.format or None,
    )


async def run_search(
    services: Services, collection: str, vector: list[float], limit: int, threshold: float | None,
    filters: Filters | None, exclude: str | None = None,
) -> dict[str, Any]:
    hits = await services.call(
        services.vectors.search, collection, vector, limit=limit + (1 if exclude else 0),
        score_threshold=threshold, filters=store_filters(filters),
    )
    results = [
        {"id": hit.id, "score": hit.score, "payload": hit.payload, "thumbnail_url": thumbnail_url(collection, hit.id)}
        for hit in hits if hit.id != exclude
    ][:limit]
    return {"results": results}


async def _searchable(services: Services, name: str) -> CollectionInfo:
    """The collection's info; a damaged or unavailable one is its own 503, not a model mismatch."""
    info = await services.call(services.vectors.collection_info, name)
    if info.error:
        raise StoreError(info.error, where="collection")
    return info


@router.post("/search")
async def search(body: SearchRequest, services: ServicesDep) -> dict:
    """Give exactly one of `text` (search by meaning) or `point_id` (more like this point)."""
    if (body.text is None) == (body.point_id is None):
        raise SightlineError(ErrorCode.VALIDATION_ERROR, 'Give exactly one of "text" or "point_id" '
                             "(use /api/v1/search/image to search by an image).", where="text", status=422)
    info = await _searchable(services, body.collection)
    if body.text is not None:
        vectors, model = await services.ml.embed_texts([body.text], interactive=True)
        check_query_model(info.params.metadata, model)
        vector, exclude = vectors[0], None
    else:
        exclude = canonical_id(body.point_id)
        points = await services.call(services.vectors.retrieve, body.collection, [exclude], True)
        if not points or points[0].vector is None:
            raise SightlineError(ErrorCode.NOT_FOUND, f"No point {body.point_id} in {body.collection}.",
                                 where="point_id", status=404)
        vector = points[0].vector
    check_query_dimension(vector, info.params.vector_size)
    return await run_search(services, body.collection, vector, body.limit, body.score_threshold,
                            body.filters, exclude)


@router.post("/search/image")
async def search_by_image(
    services: ServicesDep,
    collection: Annotated[str, Form(min_length=1, max_length=COLLECTION_NAME_MAX_LENGTH)],
    image: Annotated[UploadFile, File(description="The query image.")],
    limit: Annotated[int, Form(ge=1, le=500)] = 20,
    score_threshold: Annotated[float | None, Form(ge=-SCORE_BOUND, le=SCORE_BOUND)] = None,
    filters: Annotated[str | None, Form(description="JSON object with the same filters as /search.")] = None,
) -> dict:
    """Search by an uploaded image (multipart)."""
    info = await _searchable(services, collection)
    parsed_filters = _parse_filters(filters)
    data = await image.read(services.settings.max_upload_bytes + 1)
    if len(data) > services.settings.max_upload_bytes:
        raise SightlineError(ErrorCode.FILE_TOO_LARGE, "The query image is too large.", where="image", status=413)
    query = [("query", image.filename or "query", data)]
    result = (await services.ml.embed_files(query, caption=False, interactive=True))[0]
    if result.get("error"):
        error = result["error"]
        raise SightlineError(ErrorCode(error["code"]) if error["code"] in ErrorCode.__members__ else
                             ErrorCode.DECODE_FAILED, error["message"], where="image", status=422)
    check_query_model(info.params.metadata, result.get("embedding_model"))
    check_query_dimension(result["embedding"], info.params.vector_size)
    return await run_search(services, collection, result["embedding"], limit, score_threshold, parsed_filters)


def _parse_filters(raw: str | None) -> Filters | None:
    if not raw:
        return None
    try:
        return Filters.model_validate_json(raw)
    except ValueError as exc:
        raise SightlineError(ErrorCode.VALIDATION_ERROR, f"filters: {exc}".splitlines()[0], where="filters",
                             status=422) from None
