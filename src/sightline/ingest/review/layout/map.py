"""A collection's map: read every vector (page by page, straight into one float32 matrix), lay it out, cluster
it, name the clusters. Blocking: the review tasks run it on their worker thread."""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from sightline.ingest.review.layout.labels import cluster_labels
from sightline.ingest.review.layout.project import cluster_ids, layout_2d
from sightline.ingest.review.tasks import Progress
from sightline.ingest.vectors import VectorStore

READ_PAGE = 1000


def read_vectors(vectors: VectorStore, name: str, progress: Progress) -> tuple[list[str], np.ndarray, list]:
    """Ids, an (n, d) float32 matrix and captions of every point."""
    info = vectors.collection_info(name)
    progress.start(info.points_count, "reading vectors")
    ids: list[str] = []
    captions: list[Any] = []
    rows: list[np.ndarray] = []
    offset = None
    while True:
        page, offset = vectors.scroll(name, limit=READ_PAGE, offset=offset, with_vectors=True)
        if page:
            ids.extend(point.id for point in page)
            captions.extend(point.payload.get("caption") for point in page)
            rows.append(np.asarray([point.vector for point in page], dtype=np.float32))
            progress.advance(len(page))
        if offset is None:
            break
    matrix = np.concatenate(rows) if rows else np.zeros((0, info.params.vector_size), dtype=np.float32)
    return ids, matrix, captions


def compute_map(vectors: VectorStore, name: str, progress: Progress) -> dict[str, Any]:
    """The map body the API answers with (without its `state`)."""
    started = time.perf_counter()
    ids, matrix, captions = read_vectors(vectors, name, progress)
    progress.start(len(ids), "laying out")
    coords, method = layout_2d(matrix)
    clusters = cluster_ids(matrix, coords, method)
    progress.advance(len(ids))
    labels = cluster_labels(captions, clusters.tolist())
    sizes = {cluster: int((clusters == cluster).sum()) for cluster in labels}
    return {
        "points": [{"id": point_id, "x": round(float(x), 5), "y": round(float(y), 5), "cluster": int(cluster)}
                   for point_id, (x, y), cluster in zip(ids, coords, clusters)],
        "clusters": [{"id": cluster, "label": label, "size": sizes[cluster]} for cluster, label in labels.items()],
        "method": method,
        "seconds": round(time.perf_counter() - started, 2),
    }
