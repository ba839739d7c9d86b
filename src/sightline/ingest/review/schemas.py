"""Request bodies of the review routes."""

from __future__ import annotations

from pydantic import Field

from sightline.ingest.review.selection import MAX_SELECTION
from sightline.ingest.schemas import CollectionCreate, Strict
from sightline.ingest.vectors import COLLECTION_NAME_MAX_LENGTH

MAX_GROUP = 64  # ids in one "not duplicates" or "keep" decision


class FromPoints(Strict):
    collection: str = Field(min_length=1, max_length=COLLECTION_NAME_MAX_LENGTH, description="Source collection.")
    point_ids: list[str] = Field(min_length=1, max_length=MAX_SELECTION, description="The selected points.")


class CollectionCreateFrom(CollectionCreate):
    from_points: FromPoints | None = Field(default=None, description="Copy these points (vectors and payloads, "
                                           "not re-embedded) into the new collection, made for their model.")


class MergeRequest(Strict):
    into: str = Field(min_length=1, max_length=COLLECTION_NAME_MAX_LENGTH, description="Target collection.")


class DismissRequest(Strict):
    point_ids: list[str] = Field(min_length=2, max_length=MAX_GROUP, description="A group that is not one.")


class KeepRequest(Strict):
    keep: str = Field(description="The point to keep.")
    remove: list[str] = Field(min_length=1, max_length=MAX_GROUP, description="Points to remove from the index "
                              "(originals stay on disk; Sightline's own upload copies are deleted).")
