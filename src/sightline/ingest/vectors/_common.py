"""What both adapters do the same way: checking their input, building filters, converting records,
and counting facets.

qdrant-edge-py mirrors qdrant-client's models (the same class names and keywords), so a filter is built
by the same code from either module; only the float range class is named differently.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from types import ModuleType
from typing import Any

from sightline.ingest.vectors.base import (
    Point,
    ScoredPoint,
    SearchFilters,
    canonical_id,
    validation_error,
)

SCROLL_PAGE = 1000
"""Points per page when a facet is counted by scrolling through a collection."""


def check_limit(limit: int, where: str = "limit") -> int:
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise validation_error(f"{where} must be a positive integer", where)
    return limit


def checked_keys(keys: Any) -> list[str] | None:
    """``payload_keys`` of a read: None (the whole payload) or a list of key names."""
    if keys is None:
        return None
    if not isinstance(keys, (list, tuple)) or not all(isinstance(key, str) for key in keys):
        raise validation_error("payload_keys must be a list of payload key names", "payload_keys")
    return list(keys)


def vector_as_list(vector: Any, size: int, where: str = "vector") -> list[float]:
    """A vector as a list of floats of the collection's size; a 422 ``VALIDATION_ERROR`` otherwise."""
    if vector is None:
        raise validation_error("a vector is required", where)
    if hasattr(vector, "tolist"):  # numpy
        vector = vector.tolist()
    elif not isinstance(vector, list):
        vector = list(vector)
    if len(vector) != size:
        raise validation_error(f"vector has {len(vector)} dimensions, the collection expects {size}", where)
    return vector


def checked_points(points: list[Point], size: int) -> list[tuple[str, list[float], dict]]:
    """``(id, vector, payload)`` of every point, all checked before anything is written."""
    return [
        (canonical_id(p.id), vector_as_list(p.vector, size, where=f"points[{i}].vector"), dict(p.payload or {}))
        for i, p in enumerate(points)
    ]


def unique_ids(ids: Iterable[Any]) -> list[str]:
    """Canonical ids, first occurrence kept, in the order given."""
    return list(dict.fromkeys(canonical_id(i) for i in ids))


def build_filter(
    filters: SearchFilters | None,
    models: ModuleType,
    float_range: type,
    must: Sequence[Any] = (),
    must_not: Sequence[Any] = (),
) -> Any | None:
    """``filters`` and the extra conditions as a ``models.Filter`` (``qdrant_edge`` or
    ``qdrant_client.models``); None for no condition at all."""
    all_must: list[Any] = list(must)
    for kind, key, value in filters.conditions() if filters is not None else []:
        if kind == "match":
            all_must.append(models.FieldCondition(key=key, match=models.MatchValue(value=value)))
        else:
            gte, lte = value
            all_must.append(models.FieldCondition(key=key, range=float_range(gte=gte, lte=lte)))
    if not all_must and not must_not:
        return None
    return models.Filter(must=all_must or None, must_not=list(must_not) or None)


def checked_payload(payload: Any) -> dict:
    """A copy of ``payload`` if it is a JSON object; a 422 ``VALIDATION_ERROR`` otherwise."""
    if not isinstance(payload, dict) or not all(isinstance(k, str) for k in payload):
        raise validation_error("payload must be an object with string keys", "payload")
    try:
        json.dumps(payload, allow_nan=False)
    except (TypeError, ValueError) as e:
        raise validation_error(f"payload is not plain JSON: {e}", "payload") from None
    return dict(payload)


def checked_vectors(vectors: Any, size: int) -> list[list[float]]:
    """Query vectors of a batch, each checked (``where``: ``vectors[i]``)."""
    if not isinstance(vectors, (list, tuple)) and not hasattr(vectors, "tolist"):
        raise validation_error("vectors must be a list of vectors", "vectors")
    return [vector_as_list(v, size, where=f"vectors[{i}]") for i, v in enumerate(vectors)]


def to_point(record: Any, with_vectors: bool) -> Point:
    """A backend record (id, vector, payload) as a `Point`."""
    vector = record.vector if with_vectors else None
    if isinstance(vector, dict):  # named vectors: take the default one
        vector = vector.get("")
    if vector is not None and not isinstance(vector, list):
        vector = list(vector)
    return Point(id=canonical_id(record.id), vector=vector, payload=dict(record.payload or {}))


def to_scored_point(hit: Any) -> ScoredPoint:
    return ScoredPoint(id=canonical_id(hit.id), score=float(hit.score), payload=dict(hit.payload or {}))


def in_asked_order(wanted: list[str], records: Iterable[Any], with_vectors: bool) -> list[Point]:
    """The records as points in the order of ``wanted``; ids not found are left out."""
    found = {p.id: p for p in (to_point(r, with_vectors) for r in records)}
    return [found[i] for i in wanted if i in found]


def top_facets(counts: Mapping[Any, int], limit: int) -> list[tuple[str, int]]:
    """The ``limit`` most frequent values, ties by value. Values counted 0 are dropped: the edge
    shard's facet keeps values whose points were all deleted, with a count of 0."""
    items = sorted(((str(k), int(v)) for k, v in counts.items() if v > 0), key=lambda kv: (-kv[1], kv[0]))
    return items[:limit]


def facet_by_scroll(
    scroll_page: Callable[[Any], tuple[list[Any], Any]], key: str, limit: int
) -> list[tuple[str, int]]:
    """Count the values of payload ``key`` page by page, for fields the backend cannot facet.

    ``scroll_page(offset)`` returns records that carry at least ``key`` in their payload, and the offset
    of the next page (None after the last); the first call gets None.
    """
    counts: Counter[Any] = Counter()
    offset = None
    while True:
        records, offset = scroll_page(offset)
        for record in records:
            value = (record.payload or {}).get(key)
            counts.update(v for v in (value if isinstance(value, list) else [value]) if isinstance(v, (str, int, bool)))
        if offset is None:
            return top_facets(counts, limit)
