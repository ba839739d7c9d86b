"""A file-name search in a collection larger than the vector search's pool (`hybrid.POOL`), through the search API
(in-process apps, tiny models, the embedded store): the walk-through's `P0022.jpg` (521 photos) ranked 156th with a
negative score, its similarity far below the pool's lowest one cancelling its word match."""

from __future__ import annotations

import uuid

import numpy as np

from sightline.ingest.hybrid import POOL, query_vector
from sightline.ingest.vectors import Point
from sightline.ingest.words import photo_words
from tests.ingest.api.helpers import create

PHOTOS = POOL + 20


def payload(filename: str) -> dict:
    data = {"folder": "/lib/bulk", "filename": filename, "path": f"/lib/bulk/{filename}", "format": "jpeg"}
    return {**data, "words": photo_words(data, ["/lib"])}


async def fill(api, services, named: str, target: str) -> None:
    """PHOTOS photos `P0000.jpg`…, each close to the query `named` but `target`, as far from it as can be."""
    await create(api, "bulk")
    info = await services.call(services.vectors.collection_info, "bulk")
    query = np.asarray(await query_vector(services, info, named))
    rng = np.random.default_rng(7)
    points = []
    for index in range(PHOTOS):
        filename = f"P{index:04d}.jpg"
        vector = -query if filename == target else query + 0.3 * rng.standard_normal(query.shape)
        points.append(Point(str(uuid.uuid4()), [float(v) for v in vector], payload(filename)))
    await services.call(services.vectors.upsert, "bulk", points)


async def test_a_named_file_far_below_the_vector_pool_comes_first_and_strong(api, services):
    await fill(api, services, "P0022", "P0022.jpg")
    for text in ("P0022", "P0022.jpg"):
        response = await api.post("/api/v1/search", json={"collection": "bulk", "text": text, "limit": 5})
        assert response.status_code == 200, response.text
        first = response.json()["results"][0]
        assert first["payload"]["filename"] == "P0022.jpg", (text, first)
        assert first["matched"] == ["filename"] and first["weak"] is False
        assert first["similarity"] < 0 and first["score"] >= 0.6  # found by its name alone: a full word match
