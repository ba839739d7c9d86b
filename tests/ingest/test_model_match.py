"""Collection-vs-model compatibility: the one module deciding it."""

from __future__ import annotations

import pytest

from sightline.errors import ErrorCode, SightlineError
from sightline.ingest.model_match import (
    check_model_matches,
    check_query_dimension,
    check_query_model,
    check_vector_size,
    collection_metadata,
    made_by,
    model_signature,
)

CAPABILITIES = {
    "backend": "tiny", "embedding_model": "tiny-random-clip", "dimension": 32, "caption_kind": "generated",
    "max_batch_size": 64,
}


def mismatch(call, *args) -> SightlineError:
    with pytest.raises(SightlineError) as info:
        call(*args)
    assert info.value.code == ErrorCode.MODEL_MISMATCH
    return info.value


def test_signature_and_metadata() -> None:
    assert model_signature(CAPABILITIES) == {"backend": "tiny", "embedding_model": "tiny-random-clip", "dimension": 32}
    assert collection_metadata(CAPABILITIES) == {**model_signature(CAPABILITIES), "caption_kind": "generated"}


def test_vector_size_defaults_to_the_model_dimension() -> None:
    assert check_vector_size(None, CAPABILITIES) == 32


def test_vector_size_equal_to_the_dimension_is_accepted() -> None:
    assert check_vector_size(32, CAPABILITIES) == 32


def test_another_vector_size_is_refused() -> None:
    error = mismatch(check_vector_size, 64, CAPABILITIES)
    assert (error.status, error.where) == (422, "vector_size")


def test_a_collection_of_the_same_model_matches() -> None:
    check_model_matches("c", collection_metadata(CAPABILITIES), CAPABILITIES)


def test_a_collection_made_outside_sightline_is_not_checked() -> None:
    check_model_matches("c", {}, CAPABILITIES)


def test_a_collection_of_another_model_does_not_match() -> None:
    metadata = {**model_signature(CAPABILITIES), "embedding_model": "clip-vit-b32", "backend": "clip"}
    error = mismatch(check_model_matches, "photos", metadata, CAPABILITIES)
    assert (error.status, error.where) == (409, "collection")
    assert error.message.startswith("Collection 'photos' was built with clip-vit-b32 (clip, 32-d)")


def test_query_from_another_model_is_refused() -> None:
    error = mismatch(check_query_model, {"embedding_model": "clip-vit-b32"}, "tiny-random-clip")
    assert error.status == 409


@pytest.mark.parametrize("metadata, model", [
    ({"embedding_model": "m"}, "m"),
    ({}, "m"),  # the collection does not say
    ({"embedding_model": "m"}, None),  # the query does not say (a stored point's vector)
])
def test_query_model_accepted(metadata: dict, model: str | None) -> None:
    check_query_model(metadata, model)


def test_query_dimension() -> None:
    check_query_dimension([0.0] * 32, 32)
    assert mismatch(check_query_dimension, [0.0] * 16, 32).status == 409


def test_made_by_compares_the_embedding_model() -> None:
    assert made_by({"embedding_model": "tiny-random-clip"}, CAPABILITIES) is True
    assert made_by({"embedding_model": "other"}, CAPABILITIES) is False
