"""Search by text, by an uploaded image, or "more like this" point, with payload filters; with no query, the
collection itself, newest first. Every answer is one page: `next_cursor` (null at the end) asks for the next."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, UploadFile
from pydantic import ValidationError

from sightline.errors import ErrorCode, SightlineError
from sightline.ingest import fact_listing, hybrid
from sightline.ingest.api import ServicesDep
from sightline.ingest.api.images import thumbnail_url
from sightline.ingest.listing import Cursor, decode_cursor, strong_cut, weak_flags
from sightline.ingest.model_match import check_query_dimension, check_query_model
from sightline.ingest.schemas import CURSOR_MAX_LENGTH, SCORE_BOUND, Filters, SearchRequest, as_utc
from sightline.ingest.services import Services
from sightline.ingest.understand import Understanding
from sightline.ingest.vectors import COLLECTION_NAME_MAX_LENGTH, CollectionInfo, SearchFilters, StoreError, canonical_id

router = APIRouter(prefix="/api/v1", tags=["search"])
MAX_SEARCH_DEPTH = 2000  # hits a search pages through; far past the strong matches of any query


def unix_seconds(moment: datetime | None) -> float | None:
    return None if moment is None else as_utc(moment).timestamp()


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


def result(collection: str, point_id: str, payload: dict, *, score: float | None = None,
           similarity: float | None = None, matched: list[str] | None = None, weak: bool = False) -> dict[str, Any]:
    return {"id": point_id, "score": score, "similarity": similarity, "matched": matched or [], "weak": weak,
            "payload": payload, "thumbnail_url": thumbnail_url(collection, point_id)}


def answer(info: CollectionInfo, mode: str, results: list[dict], next_cursor: str | None, **extra: Any) -> dict:
    """One page; `collection_empty` tells "nothing matches" apart from "nothing is there yet"."""
    return {"mode": mode, "results": results, "next_cursor": next_cursor, "understood": [],
            "collection_empty": info.points_count == 0, **extra}


def scored_page(info: CollectionInfo, mode: str, hits: list[hybrid.TextHit], limit: int,
                cursor: Cursor | None, *, whole_best: float | None = None) -> dict:
    """`hits` from the cursor's offset on (one more than `limit` when there are more): the page, each hit
    marked strong or weak against the query's best similarity: in the whole collection (`whole_best`, for a
    search narrowed by filters or facts) or else on its first page; or strong by its words (`hybrid.strong_by`)."""
    offset = cursor.offset if cursor else 0
    if cursor:
        best = cursor.best
    else:
        known = [hit.similarity for hit in hits if hit.similarity is not None]
        best = max([*known, whole_best] if whole_best is not None else known, default=None)
    cut = strong_cut(info.params.metadata.get("backend"), best, mode)  # an image's rule for "image", "similar"
    page = hits[:limit]
    weak = weak_flags([(hit.similarity, hybrid.strong_by(hit)) for hit in page], cut, bool(cursor and cursor.weak))
    results = [result(info.name, hit.id, hit.payload, score=hit.score, similarity=hit.similarity,
                      matched=hit.matched, weak=flag) for hit, flag in zip(page, weak)]
    more = len(hits) > limit and offset + limit < MAX_SEARCH_DEPTH
    begun = bool(weak and weak[-1]) or bool(cursor and cursor.weak)
    next_cursor = Cursor(mode, offset=offset + limit, best=best, weak=begun).encode() if more else None
    return answer(info, mode, results, next_cursor, strong_from=cut)


async def _searchable(services: Services, name: str) -> CollectionInfo:
    """The collection's info; a damaged or unavailable one is its own 503, not a model mismatch."""
    info = await services.call(services.vectors.collection_info, name)
    if info.error:
        raise StoreError(info.error, where="collection")
    return info


async def vector_page(services: Services, info: CollectionInfo, vector: list[float], mode: str, *, limit: int,
                      cursor: Cursor | None, threshold: float | None, filters: SearchFilters | None,
                      exclude: str | None = None) -> dict:
    check_query_dimension(vector, info.params.vector_size)
    offset = cursor.offset if cursor else 0
    hits = await services.call(services.vectors.search, info.name, vector, limit=offset + limit + 2,
                               score_threshold=threshold, filters=filters)
    kept = [hybrid.TextHit(h.id, h.score, h.payload, similarity=h.score) for h in hits if h.id != exclude]
    whole_best = None
    if filters is not None and cursor is None:  # strong by the collection's standard, not the filtered pool's
        best = await services.call(services.vectors.search, info.name, vector, limit=2)
        whole_best = next((h.score for h in best if h.id != exclude), None)
    return scored_page(info, mode, kept[offset:offset + limit + 1], limit, cursor, whole_best=whole_best)


async def text_page(services: Services, info: CollectionInfo, body: SearchRequest,
                    filters: SearchFilters | None) -> dict:
    assert body.text is not None
    cursor = decode_cursor(body.cursor, "text")
    understanding = await hybrid.read_query(services, info.name, body.text)
    if understanding.only_facts:
        return await facts_page(services, info, body, understanding, filters, cursor)
    found = await hybrid.search_text(services, info.name, info, body.text, filters=filters, limit=body.limit + 1,
                                     offset=cursor.offset if cursor else 0, threshold=body.score_threshold,
                                     understanding=understanding)
    page = scored_page(info, "text", found.hits, body.limit, cursor, whole_best=found.best)
    return {**page, "understood": found.understood, "only_facts": False, "meaning": found.meaning}


async def facts_page(services: Services, info: CollectionInfo, body: SearchRequest, understanding: Understanding,
                     filters: SearchFilters | None, cursor: Cursor | None) -> dict:
    """A query of facts alone: the photos that meet them, newest first, none weak (each meets all of it);
    `total` on the first page."""
    listing = await fact_listing.list_facts(services, info.name, understanding, filters, body.limit,
                                            store=cursor.store if cursor else None,
                                            by_words_shown=cursor.offset if cursor else 0, count=cursor is None)
    next_cursor = Cursor("text", offset=listing.by_words_shown, store=listing.store).encode() if listing.more \
        else None
    results = [result(info.name, hit.id, hit.payload, matched=hit.matched) for hit in listing.hits]
    return answer(info, "text", results, next_cursor, understood=understanding.chips(), only_facts=True,
                  strong_from=None, total=listing.total, meaning="")


async def similar_page(services: Services, info: CollectionInfo, body: SearchRequest,
                       filters: SearchFilters | None) -> dict:
    point_id = canonical_id(body.point_id)
    points = await services.call(services.vectors.retrieve, info.name, [point_id], True)
    if not points or points[0].vector is None:
        raise SightlineError(ErrorCode.NOT_FOUND, f"No point {body.point_id} in {info.name}.",
                             where="point_id", status=404)
    return await vector_page(services, info, points[0].vector, "similar", limit=body.limit,
                             cursor=decode_cursor(body.cursor, "similar"), threshold=body.score_threshold,
                             filters=filters, exclude=point_id)


async def browse_page(services: Services, info: CollectionInfo, body: SearchRequest,
                      filters: SearchFilters | None) -> dict:
    """The collection in date order (taken, else the file's time), the filters applied."""
    cursor = decode_cursor(body.cursor, "browse", body.order)
    points, store_next = await services.call(
        services.vectors.scroll_ordered, info.name, order_key="sort_ts", descending=body.order == "newest",
        limit=body.limit, cursor=cursor.store if cursor else None, filters=filters)
    total = None if cursor else await services.call(services.vectors.count, info.name, filters)
    next_cursor = Cursor("browse", store=store_next, order=body.order).encode() if store_next else None
    return answer(info, "browse", [result(info.name, p.id, p.payload) for p in points], next_cursor, total=total)


@router.post("/search")
async def search(body: SearchRequest, services: ServicesDep) -> dict:
    """`text` searches by meaning (and words); `point_id` finds more like that point; neither lists the
    collection (`order`: newest or oldest first). `filters` apply to all three; pass the answer's `next_cursor`
    as `cursor` for the next page. Results below the strong matches carry `weak: true` (strong by the
    collection's standard even when filters or facts narrow the search; a photo that a folder word of the query
    names, `home` of "dogs at home", only by its similarity: `hybrid.strong_by`). A text made only of facts ("2019",
    "canon raw") answers `only_facts: true`: the photos that meet them, newest first, none weak, every one of
    them page after page, with `total` on the first page (null when it cannot be known)."""
    if body.text is not None and body.point_id is not None:
        raise SightlineError(ErrorCode.VALIDATION_ERROR, 'Give "text" or "point_id", not both.', where="text",
                             status=422)
    info = await _searchable(services, body.collection)
    filters = store_filters(body.filters)
    if body.text is not None:
        return await text_page(services, info, body, filters)
    if body.point_id is not None:
        return await similar_page(services, info, body, filters)
    return await browse_page(services, info, body, filters)


@router.post("/search/image")
async def search_by_image(
    services: ServicesDep,
    collection: Annotated[str, Form(min_length=1, max_length=COLLECTION_NAME_MAX_LENGTH)],
    image: Annotated[UploadFile, File(description="The query image.")],
    limit: Annotated[int, Form(ge=1, le=500)] = 20,
    score_threshold: Annotated[float | None, Form(ge=-SCORE_BOUND, le=SCORE_BOUND)] = None,
    filters: Annotated[str | None, Form(description="JSON object with the same filters as /search.")] = None,
    cursor: Annotated[str | None, Form(min_length=1, max_length=CURSOR_MAX_LENGTH)] = None,
) -> dict:
    """Search by an uploaded image (multipart); the next page sends the image again with `cursor`."""
    info = await _searchable(services, collection)
    parsed_filters = _parse_filters(filters)
    page_cursor = decode_cursor(cursor, "image")
    data = await image.read(services.settings.max_upload_bytes + 1)
    if len(data) > services.settings.max_upload_bytes:
        raise SightlineError(ErrorCode.FILE_TOO_LARGE, "The query image is too large.", where="image", status=413)
    query = [("query", image.filename or "query", data)]
    embedded = (await services.ml.embed_files(query, caption=False, interactive=True))[0]
    if embedded.get("error"):
        error = embedded["error"]
        raise SightlineError(ErrorCode(error["code"]) if error["code"] in ErrorCode.__members__ else
                             ErrorCode.DECODE_FAILED, error["message"], where="image", status=422)
    check_query_model(info.params.metadata, embedded.get("embedding_model"))
    return await vector_page(services, info, embedded["embedding"], "image", limit=limit, cursor=page_cursor,
                             threshold=score_threshold, filters=store_filters(parsed_filters))


def _parse_filters(raw: str | None) -> Filters | None:
    if not raw:
        return None
    try:
        return Filters.model_validate_json(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise SightlineError(ErrorCode.VALIDATION_ERROR, f"filters{'.' + where if where else ''}: {first['msg']}",
                             where="filters", status=422) from None
