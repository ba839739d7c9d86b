"""Validation in `vectors.base`: names, ids, collection parameters and filters, without a store."""

from __future__ import annotations

import math
import uuid

import pytest
from pydantic import BaseModel, Field, ValidationError

from sightline.errors import ErrorCode, SightlineError
from sightline.ingest.vectors import (
    COLLECTION_NAME_PATTERN,
    HNSW_EF_CONSTRUCT_RANGE,
    HNSW_M_RANGE,
    VECTOR_SIZE_RANGE,
    CollectionParams,
    SearchFilters,
    canonical_id,
    validate_collection_name,
)
from tests.ingest.vectors.data import BAD_NAMES, GOOD_NAMES


class NameModel(BaseModel):
    name: str = Field(pattern=COLLECTION_NAME_PATTERN)


@pytest.mark.parametrize("name", GOOD_NAMES)
def test_good_names_pass_here_and_in_pydantic(name: str):
    assert validate_collection_name(name) == name
    assert NameModel(name=name).name == name


@pytest.mark.parametrize("name", BAD_NAMES)
def test_bad_names_fail_here_and_in_pydantic(name: str):
    """The API validates names with the same pattern, so the two never disagree."""
    with pytest.raises(SightlineError) as exc:
        validate_collection_name(name)
    assert exc.value.code == ErrorCode.VALIDATION_ERROR and exc.value.where == "name"
    with pytest.raises(ValidationError):
        NameModel(name=name)


def test_canonical_id():
    u = uuid.uuid4()
    assert canonical_id(u) == str(u)
    assert canonical_id(str(u).upper()) == str(u)
    assert canonical_id(u.hex) == str(u)
    for bad in ("not-a-uuid", None, 42, ""):
        with pytest.raises(SightlineError) as exc:
            canonical_id(bad)
        assert exc.value.status == 422 and exc.value.where == "id"


def test_limits_are_inclusive():
    for field_name, bounds in (
        ("vector_size", VECTOR_SIZE_RANGE),
        ("hnsw_m", HNSW_M_RANGE),
        ("hnsw_ef_construct", HNSW_EF_CONSTRUCT_RANGE),
    ):
        for value in bounds:
            params = CollectionParams(**{"vector_size": 8, field_name: value})
            assert params.validate() is params
        for value in (bounds.min - 1, bounds.max + 1):
            with pytest.raises(SightlineError) as exc:
                CollectionParams(**{"vector_size": 8, field_name: value}).validate()
            assert exc.value.where == field_name


@pytest.mark.parametrize(
    "changes, where",
    [
        ({"vector_size": True}, "vector_size"),
        ({"vector_size": 8.0}, "vector_size"),
        ({"distance": "cosine"}, "distance"),
        ({"on_disk": "yes"}, "on_disk"),
        ({"hnsw_m": False}, "hnsw_m"),
        ({"hnsw_ef_construct": "100"}, "hnsw_ef_construct"),
        ({"quantization": "pq"}, "quantization"),
        ({"metadata": []}, "metadata"),
    ],
)
def test_bad_params(changes: dict, where: str):
    with pytest.raises(SightlineError) as exc:
        CollectionParams(**{"vector_size": 8, **changes}).validate()
    assert exc.value.status == 422 and exc.value.where == where


def test_params_round_trip_and_copy():
    params = CollectionParams(vector_size=8, quantization="int8", metadata={"nested": {"a": [1]}})
    assert CollectionParams.from_dict({**params.to_dict(), "unknown": 1}) == params
    copy = params.copy()
    copy.metadata["nested"]["a"].append(2)
    assert params.metadata == {"nested": {"a": [1]}}


def test_filter_conditions():
    filters = SearchFilters(
        taken_after=1, taken_before=2.5, camera="c", folder="/f", format="png", sha256="s", path="/p"
    )
    assert filters.conditions() == [
        ("range", "sort_ts", (1.0, 2.5)),
        ("match", "camera", "c"),
        ("match", "folder_prefixes", "/f"),
        ("match", "format", "png"),
        ("match", "sha256", "s"),
        ("match", "path", "/p"),
    ]
    assert SearchFilters(taken_before=3).conditions() == [("range", "sort_ts", (None, 3.0))]
    assert SearchFilters().conditions() == []


@pytest.mark.parametrize(
    "filters, where",
    [
        (SearchFilters(taken_after=math.inf), "taken_after"),
        (SearchFilters(taken_before="soon"), "taken_before"),  # type: ignore[arg-type]
        (SearchFilters(camera=3), "camera"),  # type: ignore[arg-type]
    ],
)
def test_bad_filters(filters: SearchFilters, where: str):
    with pytest.raises(SightlineError) as exc:
        filters.conditions()
    assert exc.value.status == 422 and exc.value.where == where
