"""Embeddings → 2-D coordinates and clusters.

UMAP (`umap-learn`) lays out collections; it pays a numba JIT compile of about 25 CPU-seconds on the first
layout in a process, so collections under `UMAP_MIN_POINTS` are laid out by scikit-learn's t-SNE instead, which
needs no compile. t-SNE grows faster: at 2,000 points it took 39 CPU-s to UMAP's 11 (bench/map.py --compare). Clusters are HDBSCAN's on the 2-D layout, so
what the map shows together is what is grouped."""

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

    reduced = PCA(min(PCA_DIMENSIONS, matrix.shape[1]), random_state=SEED).fit_transform(matrix)
    unit = reduced / np.maximum(np.linalg.norm(reduced, axis=1, keepdims=True), 1e-12)
    neighbours = min(NEIGHBOURS, len(matrix) - 1)
    # Euclidean on unit vectors: the cosine neighbours, 40 % faster than scikit-learn's cosine metric.
    euclidean, indices = NearestNeighbors(n_neighbors=neighbours).fit(unit).kneighbors(unit)
    distances = euclidean**2 / 2  # the cosine distance
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # numba and sklearn notices, "no search index" (no transform needed)
        reducer = umap.UMAP(n_neighbors=neighbours, min_dist=0.05, metric="cosine", init="pca", n_epochs=200,
                            precomputed_knn=(indices, distances))
        return reducer.fit_transform(unit)


def _unit_square(coords: np.ndarray) -> np.ndarray:
    if len(coords) == 0:
        return coords.reshape(0, 2)
    low = coords.min(axis=0)
    span = float((coords.max(axis=0) - low).max()) or 1.0
    return (coords - low) / span


def cluster_ids(coords: np.ndarray) -> np.ndarray:
    """HDBSCAN clusters of the layout (-1: in no cluster)."""
    n = len(coords)
    if n < 10:
        return np.full(n, -1)
    size = max(5, int(math.sqrt(n)))
    return HDBSCAN(min_cluster_size=size, copy=True).fit_predict(coords)
