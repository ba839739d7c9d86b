"""The vector store: one small interface and its types (`base`), the embedded engine (`edge`), a Qdrant
server (`qdrant`), and `open_store()` (`factory`), which picks one from the settings."""

from sightline.ingest.vectors.base import (
    COLLECTION_NAME_MAX_LENGTH,
    COLLECTION_NAME_PATTERN,
    DISTANCES,
    HNSW_EF_CONSTRUCT_RANGE,
    HNSW_M_RANGE,
    VECTOR_SIZE_RANGE,
    CollectionDamaged,
    CollectionExists,
    CollectionInfo,
    CollectionNotFound,
    CollectionParams,
    Distance,
    Point,
    Quantization,
    ScoredPoint,
    SearchFilters,
    StoreError,
    VectorStore,
    canonical_id,
    validate_collection_name,
)
from sightline.ingest.vectors.factory import open_store
from sightline.ingest.vectors.ids import point_id_for

__all__ = [
    "COLLECTION_NAME_MAX_LENGTH",
    "COLLECTION_NAME_PATTERN",
    "DISTANCES",
    "HNSW_EF_CONSTRUCT_RANGE",
    "HNSW_M_RANGE",
    "VECTOR_SIZE_RANGE",
    "CollectionDamaged",
    "CollectionExists",
    "CollectionInfo",
    "CollectionNotFound",
    "CollectionParams",
    "Distance",
    "Point",
    "Quantization",
    "ScoredPoint",
    "SearchFilters",
    "StoreError",
    "VectorStore",
    "canonical_id",
    "point_id_for",
    "open_store",
    "validate_collection_name",
]
