"""The vector store: one small interface (`base`), the embedded engine (`edge`) and a Qdrant server (`qdrant`)."""

from sightline.ingest.vectors.base import (
    CollectionExists,
    CollectionInfo,
    CollectionNotFound,
    CollectionParams,
    Point,
    ScoredPoint,
    SearchFilters,
    StoreError,
    VectorStore,
    canonical_id,
    open_store,
    validate_collection_name,
)

__all__ = [
    "CollectionExists",
    "CollectionInfo",
    "CollectionNotFound",
    "CollectionParams",
    "Point",
    "ScoredPoint",
    "SearchFilters",
    "StoreError",
    "VectorStore",
    "canonical_id",
    "open_store",
    "validate_collection_name",
]
