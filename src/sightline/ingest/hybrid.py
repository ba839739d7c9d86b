"""Text search: what the search box runs for a text query (issue 14 makes it hybrid: vector + words + facts).

The contract the search API codes against (`api/search.py`):
`await search_text(services, collection, info, text, filters=..., limit=..., offset=...)` → `TextResults`.
Each hit carries `score` (the ranking score, higher is better) and `similarity` (the vector similarity of the
image to the query, or None if only its words matched), `matched` (the fields whose words matched).
`understood` lists what was read out of the query as facts (`{"kind", "text", "filter"}` chips).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sightline.ingest.model_match import check_query_dimension, check_query_model
from sightline.ingest.services import Services
from sightline.ingest.vectors import CollectionInfo, SearchFilters


@dataclass
class TextHit:
    id: str
    score: float
    payload: dict[str, Any]
    similarity: float | None = None
    matched: list[str] = field(default_factory=list)


@dataclass
class TextResults:
    hits: list[TextHit]
    understood: list[dict[str, Any]] = field(default_factory=list)


async def search_text(
    services: Services, collection: str, info: CollectionInfo, text: str, *,
    filters: SearchFilters | None, limit: int, offset: int = 0, threshold: float | None = None,
) -> TextResults:
    """The best `limit` hits after the first `offset` (vector only, for now)."""
    vectors, model = await services.ml.embed_texts([text], interactive=True)
    check_query_model(info.params.metadata, model)
    check_query_dimension(vectors[0], info.params.vector_size)
    hits = await services.call(services.vectors.search, collection, vectors[0], limit=offset + limit,
                               score_threshold=threshold, filters=filters)
    return TextResults([TextHit(h.id, h.score, h.payload, similarity=h.score) for h in hits[offset:]])
