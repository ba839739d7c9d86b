"""Generated vector sets with known answers: photos (random unit vectors, nearly orthogonal in 64-d) and
copies of them (the photo's vector moved a little, as a re-encode or resize moves it)."""

from __future__ import annotations

import uuid

import numpy as np

from sightline.ingest.vectors import CollectionParams, Point, VectorStore

DIM = 64


def pid(label: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, label))


def unit(vector: np.ndarray) -> list[float]:
    return (vector / np.linalg.norm(vector)).tolist()


def moved(vector: np.ndarray, similarity: float, rng: np.random.Generator,
          away_from: np.ndarray | None = None) -> np.ndarray:
    """A unit vector whose cosine similarity to `vector` (a unit vector) is `similarity`, moved at random or
    straight away from `away_from`."""
    noise = rng.normal(size=vector.shape) if away_from is None else -away_from
    noise -= noise.dot(vector) * vector
    noise /= np.linalg.norm(noise)
    return similarity * vector + np.sqrt(1 - similarity**2) * noise


def payload(label: str, *, width: int = 100, height: int = 100, fmt: str = "jpeg", ts: float = 0.0,
            sha: str | None = None, caption: str | None = None, **extra) -> dict:
    return {"path": f"/photos/{label}.{fmt}", "filename": f"{label}.{fmt}", "width": width, "height": height,
            "format": fmt, "sort_ts": ts, "sha256": sha or label, "caption": caption, "bytes": width * height,
            **extra}


def known_set(store: VectorStore, name: str = "photos", create: bool = True) -> dict[str, str]:
    """The collection `name` with:
    - a: an original 400x300 JPEG (with camera), a 200x150 resize, a PNG re-encode at 400x300 (cos 0.98)
    - b: a chain b0-b1-b2 (b0~b1 0.97, b1~b2 0.97, so b0~b2 lower): one group, only transitively
    - c: two byte-identical copies (same sha256, same vector)
    - d: a burst pair at 0.87 (a group at threshold 0.85, not at the default 0.90)
    - ten distinct photos. Returns label → point id."""
    rng = np.random.default_rng(7)
    base = {key: np.asarray(unit(rng.normal(size=DIM))) for key in "abcd"}
    b1 = moved(base["b"], 0.97, rng)
    vectors = {
        "a-original": (base["a"], payload("a-original", width=400, height=300, ts=10, camera="Canon EOS R5")),
        "a-resized": (moved(base["a"], 0.98, rng), payload("a-resized", width=200, height=150, ts=5)),
        "a-png": (moved(base["a"], 0.98, rng), payload("a-png", width=400, height=300, fmt="png", ts=1)),
        "b0": (base["b"], payload("b0", ts=1)),
        "b1": (b1, payload("b1", ts=2)),
        "b2": (moved(b1, 0.97, rng, away_from=base["b"]), payload("b2", ts=3)),  # b0~b2: 0.88
        "c0": (base["c"], payload("c0", sha="same", ts=2)),
        "c1": (base["c"], payload("c1", sha="same", ts=1)),
        "d0": (base["d"], payload("d0", ts=1)),
        "d1": (moved(base["d"], 0.87, rng), payload("d1", ts=2)),
    }
    for index in range(10):
        vectors[f"distinct{index}"] = (rng.normal(size=DIM), payload(f"distinct{index}"))
    if create:
        store.create_collection(name, CollectionParams(vector_size=DIM))
    store.upsert(name, [Point(pid(label), unit(np.asarray(v)), p) for label, (v, p) in vectors.items()])
    return {label: pid(label) for label in vectors}
