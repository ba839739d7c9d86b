"""Request bodies of the ingestion API (responses are plain dicts built by the store and job store)."""

from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Annotated, Literal

from fastapi import Query
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, model_validator
from pydantic_core import PydanticCustomError

from sightline.imaging.formats import SUPPORTED_FORMATS

from sightline.ingest.vectors import (
    COLLECTION_NAME_MAX_LENGTH,
    COLLECTION_NAME_PATTERN,
    HNSW_EF_CONSTRUCT_RANGE,
    HNSW_M_RANGE,
    VECTOR_SIZE_RANGE,
    Distance,
    Quantization,
)

# Offsets and record ids in query strings: far beyond any real job, well inside SQLite's 64-bit integers (and
# exact in JavaScript), so a huge value is a VALIDATION_ERROR, never an overflow.
RECORD_INDEX_MAX = 2**53 - 1
Offset = Annotated[int, Query(ge=0, le=RECORD_INDEX_MAX, description="Records to skip.")]
AfterId = Annotated[int, Query(ge=0, le=RECORD_INDEX_MAX, description="Only records after this id.")]
SCORE_BOUND = 1e6  # scores are similarities; a threshold beyond this is a mistake, not a filter


def record_index(raw: str | None) -> int:
    """A client-sent record id (e.g. `Last-Event-ID`) as an int; 0 unless it is plain digits within range."""
    if raw and raw.isascii() and raw.isdigit() and len(raw) <= 16 and int(raw) <= RECORD_INDEX_MAX:
        return int(raw)
    return 0


FORMAT_ALIASES = {"jpg": "jpeg", "jpe": "jpeg", "jfif": "jpeg", "tif": "tiff", "heic": "heif", "hif": "heif"}
COLLECTION_NAME_RULE = (f"letters, digits, '-' and '_', starting with a letter or digit, at most "
                        f"{COLLECTION_NAME_MAX_LENGTH} characters")


def format_name(value: object) -> object:
    """A format as people write it (`HEIC`, `jpg`, `Tif`) as the payload stores it (`heif`, `jpeg`, `tiff`)."""
    if not isinstance(value, str):
        return value  # pydantic says what is wrong with it
    name = value.strip().lower().lstrip(".")
    name = FORMAT_ALIASES.get(name, name)
    if name not in SUPPORTED_FORMATS:
        raise PydanticCustomError("format_name", "one of {formats} (or jpg, tif, heic)",
                                  {"formats": ", ".join(SUPPORTED_FORMATS)})
    return name


def _collection_name(value: str) -> str:
    if re.fullmatch(COLLECTION_NAME_PATTERN, value) is None:
        raise PydanticCustomError("collection_name", f"a collection name has {COLLECTION_NAME_RULE}")
    return value


# A new collection's name: the rule in words rather than the raw pattern (the schema still shows the pattern).
CollectionName = Annotated[str, AfterValidator(_collection_name), Field(
    json_schema_extra={"pattern": COLLECTION_NAME_PATTERN, "minLength": 1,
                       "maxLength": COLLECTION_NAME_MAX_LENGTH})]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class HnswParams(Strict):
    m: int = Field(default=16, ge=HNSW_M_RANGE.min, le=HNSW_M_RANGE.max,
                   description="Edges per node; 0 disables the graph.")
    ef_construct: int = Field(default=100, ge=HNSW_EF_CONSTRUCT_RANGE.min, le=HNSW_EF_CONSTRUCT_RANGE.max,
                              description="Build-time search width.")


class CollectionCreate(Strict):
    name: CollectionName = Field(description=COLLECTION_NAME_RULE[0].upper() + COLLECTION_NAME_RULE[1:] + ".")
    vector_size: int | None = Field(default=None, ge=VECTOR_SIZE_RANGE.min, le=VECTOR_SIZE_RANGE.max,
                                    description="Default: the ML service's embedding dimension.")
    distance: Distance = "Cosine"
    on_disk: bool = Field(default=False, description="Keep vectors and payload on disk instead of RAM.")
    hnsw: HnswParams = Field(default_factory=HnswParams)
    quantization: Quantization | None = Field(default=None, description="Scalar int8 quantization.")


class Filters(Strict):
    taken_after: datetime | None = Field(default=None, description="Taken at or after (ISO 8601).")
    taken_before: datetime | None = Field(default=None, description="Taken at or before (ISO 8601).")
    camera: str | None = Field(default=None, max_length=200, description='"Make Model", as in facets.')
    folder: str | None = Field(default=None, max_length=4096, description="A folder; includes subfolders.")
    format: Annotated[str | None, BeforeValidator(format_name)] = Field(
        default=None, max_length=20, description="jpeg, png, heif, dng, ... (any case; jpg, tif, heic too)")

    @model_validator(mode="after")
    def _dates_in_order(self) -> Filters:
        after, before = self.taken_after, self.taken_before
        if after is not None and before is not None and as_utc(after) > as_utc(before):
            raise PydanticCustomError("date_range", "taken_after is later than taken_before")
        return self


def as_utc(moment: datetime) -> datetime:
    """Times without a zone are UTC, as EXIF times without an offset are stored."""
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


Order = Literal["newest", "oldest"]
CURSOR_MAX_LENGTH = 2000


class SearchRequest(Strict):
    collection: str = Field(min_length=1, max_length=COLLECTION_NAME_MAX_LENGTH)
    text: str | None = Field(default=None, min_length=1, max_length=2000,
                             description="Search by meaning; with neither text nor point_id, list the collection.")
    point_id: str | None = Field(default=None, description='"More like this" point.')
    limit: int = Field(default=20, ge=1, le=500)
    score_threshold: float | None = Field(default=None, ge=-SCORE_BOUND, le=SCORE_BOUND)
    filters: Filters | None = None
    cursor: str | None = Field(default=None, min_length=1, max_length=CURSOR_MAX_LENGTH,
                               description="The `next_cursor` of the previous page.")
    order: Order = Field(default="newest", description="Listing order (without text or point_id): by date taken, "
                                                       "else the file's time.")


class ScanRequest(Strict):
    collection: str = Field(min_length=1, max_length=COLLECTION_NAME_MAX_LENGTH)
    directory_path: str = Field(min_length=1, max_length=4096, description="Folder inside the ingest roots.")
    recursive: bool = True
    caption: bool = True


class SessionRequest(Strict):
    token: str = Field(min_length=1, max_length=1000)
