"""Embeddings → 2-D coordinates and clusters.

UMAP (`umap-learn`) lays out collections; it pays a numba JIT compile of about 25 CPU-seconds on the first
layout in a process, so collections under `UMAP_MIN_POINTS` are laid out by scikit-learn's t-SNE instead, which
needs no compile. t-SNE grows faster: at 2,000 points it took 39 CPU-s to UMAP's 11 (bench/map.py --compare).
Clusters are HDBSCAN's on UMAP's 2-D layout, so what the map shows together is what is grouped, and on the
embeddings below `UMAP_MIN_POINTS`; their sizes follow the collection's (`cluster_params`)."""

from __future__ import annotations

import math
import warnings

import numpy as np
from sklearn.cluster import HDBSCAN
from sklearn.decomposition import PCA
from sklearn.neighbors import NearestNeighbors
from sklearn.manifold import TSNE

UMAP_MIN_POINTS = 500
PCA_DIMENSIONS = 50
NEIGHBOURS = 15
SEED = 42  # the same collection gives the same map
MIN_CLUSTER = 3  # photos; fewer are no cluster


def layout_2d(matrix: np.ndarray) -> tuple[np.ndarray, str]:
    """(n, 2) coordinates scaled into [0, 1] (aspect kept), and the method that made them."""
    n = len(matrix)
    if n < 4:
        coords, method = np.column_stack([np.arange(n, dtype=float), np.zeros(n)]), "line"
    elif n < UMAP_MIN_POINTS:
        coords, method = _tsne(matrix), "tsne"
    else:
        coords, method = _umap(matrix), "umap"
    return _unit_square(np.asarray(coords, dtype=float)), method


def _tsne(matrix: np.ndarray) -> np.ndarray:
    perplexity = max(2.0, min(30.0, (len(matrix) - 1) / 3))
    return TSNE(2, perplexity=perplexity, init="pca", metric="cosine", random_state=SEED).fit_transform(matrix)


def _umap(matrix: np.ndarray) -> np.ndarray:
    """UMAP of the embeddings reduced to `PCA_DIMENSIONS` by PCA, over exact neighbours that scikit-learn finds
    (no NN-descent: its own JIT compile cost more than this search below ~50,000 points); PCA initialisation,
    200 epochs, all cores."""
    import umap  # imported here: its import takes seconds, and only large maps need it

    unit = _unit_rows(PCA(min(PCA_DIMENSIONS, matrix.shape[1]), random_state=SEED).fit_transform(matrix))
    neighbours = min(NEIGHBOURS, len(matrix) - 1)
    # Euclidean on unit vectors: the cosine neighbours, 40 % faster than scikit-learn's cosine metric.
    euclidean, indices = NearestNeighbors(n_neighbors=neighbours).fit(unit).kneighbors(unit)
    distances = euclidean**2 / 2  # the cosine distance
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # numba and sklearn notices, "no search index" (no transform needed)
        reducer = umap.UMAP(n_neighbors=neighbours, min_dist=0.05, metric="cosine", init="pca", n_epochs=200,
                            precomputed_knn=(indices, distances))
        return reducer.fit_transform(unit)


def _unit_rows(matrix: np.ndarray) -> np.ndarray:
    return matrix / np.maximum(np.linalg.norm(matrix, axis=1, keepdims=True), 1e-12)


def _unit_square(coords: np.ndarray) -> np.ndarray:
    if len(coords) == 0:
        return coords.reshape(0, 2)
    low = coords.min(axis=0)
    span = float((coords.max(axis=0) - low).max()) or 1.0
    return (coords - low) / span


def cluster_ids(matrix: np.ndarray, coords: np.ndarray, method: str) -> np.ndarray:
    """HDBSCAN clusters (-1: in no cluster): of a UMAP map's 2-D layout; of the embeddings themselves (unit
    vectors) for smaller maps, where t-SNE's layout of a few dozen photos moves with the order they are read in
    and its clusters with it (29 real photos: 2 to 6 clusters by order, against the same 4 from the vectors)."""
    n = len(coords)
    if n < 2 * MIN_CLUSTER:
        return np.full(n, -1)
    size, samples = cluster_params(n)
    space = coords if method == "umap" else _unit_rows(matrix)
    return HDBSCAN(min_cluster_size=size, min_samples=samples, copy=True).fit_predict(space)


def cluster_params(n: int) -> tuple[int, int]:
    """(min_cluster_size, min_samples) for `n` points: √n for both from about 225 points up (50,000 points: 223,
    as before); below, at most a tenth of the collection (and min_samples a fifteenth), never under 3 and 2, so
    that 30 photos of three kinds make three clusters rather than none."""
    size = max(MIN_CLUSTER, min(int(math.sqrt(n)), n // 10))
    return size, max(2, min(size, n // 15))
