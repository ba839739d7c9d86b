"""A file's point id: the same file in the same collection is always the same point."""

from __future__ import annotations

import uuid

POINT_NAMESPACE = uuid.UUID("6f1c2b8e-3d4a-5e6f-8a9b-0c1d2e3f4a5b")


def point_id_for(collection: str, path: str) -> str:
    """Stable per (collection, file path): re-ingesting updates the same point, never duplicates it."""
    return str(uuid.uuid5(POINT_NAMESPACE, f"{collection}\x00{path}"))
