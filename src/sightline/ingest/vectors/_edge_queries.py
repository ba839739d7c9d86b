"""The embedded store's ordered paging, word search, payload updates, sampling and batch search
(`EdgeQueries`, a part of `EdgeStore`)."""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import Any

import qdrant_edge as qe

from sightline.ingest.disk import check_free
from sightline.ingest.vectors import _ordered
from sightline.ingest.vectors._common import (
    build_filter,
    check_limit,
    checked_payload,
    checked_vectors,
    to_point,
    to_scored_point,
    unique_ids,
)
from sightline.ingest.vectors._edge_collection import EdgeCollection
from sightline.ingest.vectors._text import TEXT_FIELD, query_words
from sightline.ingest.vectors.base import SEARCH_HNSW_EF, SEARCH_OVERSAMPLING, Point, ScoredPoint, SearchFilters


def edge_filter(
    filters: SearchFilters | None, must: Sequence[Any] = (), must_not: Sequence[Any] = ()
) -> qe.Filter | None:
    return build_filter(filters, qe, qe.RangeFloat, must, must_not)


def search_params(col: EdgeCollection) -> qe.SearchParams:
    quantization = None
    if col.params.quantization:
        quantization = qe.QuantizationSearchParams(rescore=True, oversampling=SEARCH_OVERSAMPLING)
    return qe.SearchParams(hnsw_ef=SEARCH_HNSW_EF, quantization=quantization)


class EdgeOrderedSource:
    """`_ordered.OrderedSource` over one open shard."""

    def __init__(self, col: EdgeCollection, key: str, descending: bool, filters: SearchFilters | None):
        self.shard = col.shard
        self.key = key
        self.direction = qe.Direction.Desc if descending else qe.Direction.Asc
        self.filters = filters

    def range(self, **bounds: float) -> Any:
        return qe.FieldCondition(key=self.key, range=qe.RangeFloat(**bounds))

    def ordered(self, must: list[Any], limit: int) -> list[Point]:
        request = qe.ScrollRequest(limit=limit, filter=edge_filter(self.filters, must), with_payload=True,
                                   with_vector=False, order_by=qe.OrderBy(self.key, self.direction))
        return [to_point(r, False) for r in self.shard.scroll(request)[0]]

    def by_id(self, must: list[Any], must_not: list[Any], offset: str | None, limit: int) -> list[Point]:
        request = qe.ScrollRequest(offset=offset, limit=limit, filter=edge_filter(self.filters, must, must_not),
                                   with_payload=True, with_vector=False)
        return [to_point(r, False) for r in self.shard.scroll(request)[0]]


class EdgeQueries:
    """What `EdgeStore` adds to the basic operations; it supplies `_use` and `root`."""

    root: Any
    flush_interval_s: float

    @abstractmethod
    def _use(self, name: str) -> AbstractContextManager[EdgeCollection]: ...

    def scroll_ordered(
        self,
        name: str,
        *,
        order_key: str = "sort_ts",
        descending: bool = True,
        limit: int = 100,
        cursor: str | None = None,
        filters: SearchFilters | None = None,
    ) -> tuple[list[Point], str | None]:
        check_limit(limit)
        _ordered.check_order_key(order_key)
        with self._use(name) as col:
            source = EdgeOrderedSource(col, order_key, bool(descending), filters)
            return _ordered.page(source, order_key, bool(descending), limit, cursor)

    def search_text(
        self, name: str, text: str, *, limit: int = 20, filters: SearchFilters | None = None
    ) -> list[ScoredPoint]:
        check_limit(limit)
        words = query_words(text)
        with self._use(name) as col:
            if not words:
                return []
            request = qe.QueryRequest(limit=limit, query=qe.TextQuery(TEXT_FIELD, " ".join(words)),
                                      filter=edge_filter(filters), with_payload=True, with_vector=False)
            hits = [to_scored_point(hit) for hit in col.shard.query(request)]
            return sorted(hits, key=lambda h: (-h.score, h.id))

    def set_payload(self, name: str, ids: list[str], payload: dict) -> None:
        payload = checked_payload(payload)
        with self._use(name) as col:
            wanted: list[Any] = unique_ids(ids)
            if wanted and payload:
                check_free(self.root, 2 * len(wanted) * (len(str(payload)) + 256))
                # By filter: ids that do not exist are ignored (a list of ids fails on the first unknown one).
                selector = qe.Filter(must=[qe.HasIdCondition(set(wanted))])
                col.update(qe.UpdateOperation.set_payload_by_filter(selector, payload))
                col.written(self.flush_interval_s)

    def sample(self, name: str, limit: int, filters: SearchFilters | None = None) -> list[Point]:
        check_limit(limit)
        with self._use(name) as col:
            request = qe.QueryRequest(limit=limit, query=qe.Sample.Random, filter=edge_filter(filters),
                                      with_payload=True, with_vector=False)
            return [to_point(hit, False) for hit in col.shard.query(request)]

    def search_batch(
        self,
        name: str,
        vectors: list[list[float]],
        *,
        limit: int = 20,
        score_threshold: float | None = None,
        filters: SearchFilters | None = None,
    ) -> list[list[ScoredPoint]]:
        check_limit(limit)
        with self._use(name) as col:
            queries = checked_vectors(vectors, col.params.vector_size)
            if not queries:
                return []
            threshold = None if score_threshold is None else float(score_threshold)
            requests = [
                qe.QueryRequest(limit=limit, query=qe.Query.Nearest(q), filter=edge_filter(filters),
                                score_threshold=threshold, params=search_params(col), with_payload=True,
                                with_vector=False)
                for q in queries
            ]
            results = col.shard.query_batch(qe.QueryBatchRequest(requests))
            return [[to_scored_point(h) for h in hits] for hits in results]
