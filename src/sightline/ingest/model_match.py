"""Which vectors may meet: a collection is bound to the model that made its vectors.

Vectors of two models are not comparable, even at the same dimension. A collection records the model's
signature (backend, embedding model, dimension) when it is created; ingest jobs, searches and unchanged-file
detection all check against it here. Every mismatch is a MODEL_MISMATCH error.
"""

from __future__ import annotations

from typing import Any

from sightline.errors import ErrorCode, SightlineError

SIGNATURE_KEYS = ("backend", "embedding_model", "dimension")


def model_signature(capabilities: dict[str, Any]) -> dict[str, Any]:
    """The model that the ML service runs, as a collection records it."""
    return {key: capabilities[key] for key in SIGNATURE_KEYS}


def collection_metadata(capabilities: dict[str, Any]) -> dict[str, Any]:
    """What a new collection records about the model it is bound to."""
    return {**model_signature(capabilities), "caption_kind": capabilities.get("caption_kind")}


def check_vector_size(requested: int | None, capabilities: dict[str, Any]) -> int:
    """The vector size of a new collection: the model's dimension, which a requested size must equal."""
    dimension = int(capabilities["dimension"])
    if requested is not None and requested != dimension:
        raise SightlineError(
            ErrorCode.MODEL_MISMATCH,
            f"vector_size {requested} does not match the ML model {capabilities['embedding_model']} "
            f"({dimension}-d). Leave it out to use {dimension}.",
            where="vector_size",
            status=422,
        )
    return dimension


def check_model_matches(collection: str, metadata: dict[str, Any], capabilities: dict[str, Any]) -> None:
    """Before ingesting: the ML service must run the model the collection was built with."""
    expected = {key: metadata.get(key) for key in SIGNATURE_KEYS}
    actual = model_signature(capabilities)
    if all(value is None for value in expected.values()):
        return  # made outside Sightline: only the dimension can be checked, by the store on upsert
    if expected != actual:
        raise SightlineError(
            ErrorCode.MODEL_MISMATCH,
            f"Collection {collection!r} was built with {expected['embedding_model']} "
            f"({expected['backend']}, {expected['dimension']}-d) but the ML service runs "
            f"{actual['embedding_model']} ({actual['backend']}, {actual['dimension']}-d). "
            "Ingest into a new collection, or run the ML service with the collection's model.",
            where="collection",
            status=409,
        )


def check_query_model(metadata: dict[str, Any], model: str | None) -> None:
    """A query vector must come from the model the collection was built with (when both are known)."""
    expected = metadata.get("embedding_model")
    if expected and model and expected != model:
        raise SightlineError(ErrorCode.MODEL_MISMATCH, f"The collection was built with {expected} but the ML "
                             f"service runs {model}: its query vectors would not be comparable.",
                             where="collection", status=409)


def check_query_dimension(vector: list[float], size: int) -> None:
    if len(vector) != size:
        raise SightlineError(ErrorCode.MODEL_MISMATCH, f"The query vector has {len(vector)} dimensions but the "
                             f"collection holds {size}-d vectors: the ML service runs another model.",
                             where="collection", status=409)


def made_by(payload: dict[str, Any], capabilities: dict[str, Any]) -> bool:
    """Whether a stored point was embedded by the model the ML service runs now (so it can be reused)."""
    return payload.get("embedding_model") == capabilities["embedding_model"]
