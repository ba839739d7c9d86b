"""qdrant-client's ordered paging, word search, payload updates, sampling and batch search
(`QdrantQueries`, a part of `QdrantStore`), and the payload indexes of a server's collections."""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Collection, Sequence
from typing import Any

from qdrant_client import QdrantClient
from qdrant_client import models as qm

from sightline.ingest.vectors import _ordered
from sightline.ingest.vectors._common import (
    SCROLL_PAGE,
    build_filter,
    check_limit,
    checked_payload,
    checked_vectors,
    to_point,
    to_scored_point,
    unique_ids,
)
from sightline.ingest.vectors._text import TEXT_FIELD, matched_fraction, query_words
from sightline.ingest.vectors.base import (
    INDEXED_FLOAT_FIELDS,
    INDEXED_KEYWORD_FIELDS,
    INDEXED_TEXT_FIELDS,
    SEARCH_HNSW_EF,
    SEARCH_OVERSAMPLING,
    CollectionParams,
    Point,
    ScoredPoint,
    SearchFilters,
)


def qdrant_filter(
    filters: SearchFilters | None, must: Sequence[Any] = (), must_not: Sequence[Any] = ()
) -> qm.Filter | None:
    return build_filter(filters, qm, qm.Range, must, must_not)


SEARCH_PARAMS = qm.SearchParams(
    hnsw_ef=SEARCH_HNSW_EF, quantization=qm.QuantizationSearchParams(rescore=True, oversampling=SEARCH_OVERSAMPLING))
"""What every vector search asks of the server (quantization's part applies to quantized collections only)."""


def _index_schemas() -> dict[str, Any]:
    text = qm.TextIndexParams(type=qm.TextIndexType.TEXT, tokenizer=qm.TokenizerType.WORD, lowercase=True)
    return {
        **{key: qm.PayloadSchemaType.KEYWORD for key in INDEXED_KEYWORD_FIELDS},
        **{key: qm.PayloadSchemaType.FLOAT for key in INDEXED_FLOAT_FIELDS},
        **{key: text for key in INDEXED_TEXT_FIELDS},
    }


def add_missing_indexes(client: QdrantClient, name: str, existing: Collection[str] = ()) -> None:
    """Create the payload indexes a server collection lacks (all of them for a new one). Not for local
    mode, which has no payload indexes (it warns about each)."""
    for key, schema in _index_schemas().items():
        if key not in existing:
            client.create_payload_index(name, key, field_schema=schema, wait=True)


class QdrantOrderedSource:
    """`_ordered.OrderedSource` over one collection."""

    def __init__(self, store: QdrantQueries, name: str, key: str, descending: bool, filters: SearchFilters | None):
        self.store = store
        self.name = name
        self.order_by = qm.OrderBy(key=key, direction=qm.Direction.DESC if descending else qm.Direction.ASC)
        self.filters = filters

    def range(self, **bounds: float) -> Any:
        return qm.FieldCondition(key=self.order_by.key, range=qm.Range(**bounds))

    def ordered(self, must: list[Any], limit: int) -> list[Point]:
        return self._scroll(qdrant_filter(self.filters, must), limit, order_by=self.order_by)

    def by_id(self, must: list[Any], must_not: list[Any], offset: str | None, limit: int) -> list[Point]:
        return self._scroll(qdrant_filter(self.filters, must, must_not), limit, offset=offset)

    def _scroll(self, scroll_filter: qm.Filter | None, limit: int, **kwargs: Any) -> list[Point]:
        records, _ = self.store._call(self.name, self.store._client.scroll, collection_name=self.name,
                                      scroll_filter=scroll_filter, limit=limit, with_payload=True,
                                      with_vectors=False, **kwargs)
        return [to_point(r, False) for r in records]


class QdrantQueries:
    """What `QdrantStore` adds to the basic operations; it supplies the client and the plumbing."""

    _client: QdrantClient
    local: bool  # qdrant-client's local mode: exact search, no search parameters

    @abstractmethod
    def _call(self, name: str | None, fn: Any, *args: Any, **kwargs: Any) -> Any: ...

    @abstractmethod
    def _require(self, name: str) -> None: ...

    @abstractmethod
    def _collection_params(self, name: str) -> CollectionParams: ...

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
        self._require(name)
        source = QdrantOrderedSource(self, name, order_key, bool(descending), filters)
        return _ordered.page(source, order_key, bool(descending), limit, cursor)

    def search_text(
        self, name: str, text: str, *, limit: int = 20, filters: SearchFilters | None = None
    ) -> list[ScoredPoint]:
        check_limit(limit)
        words = query_words(text)
        self._require(name)
        if not words:
            return []
        scores = self._text_scores(name, words, filters)
        best = sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))[:limit]
        points = {p.id: p for p in self._retrieve_points(name, [pid for pid, _ in best])}
        return [ScoredPoint(pid, score, points[pid].payload) for pid, score in best if pid in points]

    def _text_scores(self, name: str, words: list[str], filters: SearchFilters | None) -> dict[str, float]:
        """The matched fraction of every point that has one of ``words`` (read page by page)."""
        condition = qm.FieldCondition(key=TEXT_FIELD, match=qm.MatchTextAny(text_any=" ".join(words)))
        scores: dict[str, float] = {}
        offset = None
        while True:
            records, offset = self._call(name, self._client.scroll, collection_name=name, limit=SCROLL_PAGE,
                                         scroll_filter=qdrant_filter(filters, [condition]), offset=offset,
                                         with_payload=[TEXT_FIELD], with_vectors=False)
            for record in records:
                score = matched_fraction(words, (record.payload or {}).get(TEXT_FIELD))
                if score > 0:
                    scores[to_point(record, False).id] = score
            if offset is None:
                return scores

    def _retrieve_points(self, name: str, ids: list[str]) -> list[Point]:
        if not ids:
            return []
        records = self._call(name, self._client.retrieve, collection_name=name, ids=ids, with_payload=True,
                             with_vectors=False)
        return [to_point(r, False) for r in records]

    def set_payload(self, name: str, ids: list[str], payload: dict) -> None:
        payload = checked_payload(payload)
        self._require(name)
        wanted: list[Any] = unique_ids(ids)
        if wanted and payload:
            # By filter: ids that do not exist are ignored (a list of ids fails on the first unknown one).
            selector = qm.Filter(must=[qm.HasIdCondition(has_id=wanted)])
            self._call(name, self._client.set_payload, collection_name=name, payload=payload, points=selector,
                       wait=True)

    def sample(self, name: str, limit: int, filters: SearchFilters | None = None) -> list[Point]:
        check_limit(limit)
        self._require(name)
        response = self._call(name, self._client.query_points, collection_name=name,
                              query=qm.SampleQuery(sample=qm.Sample.RANDOM), query_filter=qdrant_filter(filters),
                              limit=limit, with_payload=True, with_vectors=False)
        return [to_point(hit, False) for hit in response.points]

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
        self._require(name)
        queries = checked_vectors(vectors, self._collection_params(name).vector_size)
        if not queries:
            return []
        threshold = None if score_threshold is None else float(score_threshold)
        requests = [
            qm.QueryRequest(query=q, filter=qdrant_filter(filters), limit=limit, score_threshold=threshold,
                            params=None if self.local else SEARCH_PARAMS, with_payload=True, with_vector=False)
            for q in queries
        ]
        responses = self._call(name, self._client.query_batch_points, collection_name=name, requests=requests)
        return [[to_scored_point(hit) for hit in response.points] for response in responses]
