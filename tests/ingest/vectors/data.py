"""Data of the vector store tests: 24 points of 8 dimensions with payloads that every filter field can
tell apart, and collection names good and bad."""

from __future__ import annotations

import math
import uuid
from collections.abc import Callable

from sightline.ingest.vectors import Point

DIM = 8
N = 24
CAMERAS = ["Canon EOS R5", "Nikon Z6", "Apple iPhone 13"]
FORMATS = ["jpeg", "png", "heic"]
FOLDERS = ["/photos/2021", "/photos/2021/summer", "/photos/2022", "/scans"]
DAY = 86_400.0
T0 = 1_600_000_000.0  # taken_at_ts of point 0; point i was taken i days later
NO_SORT_TS = {5, 16}  # points without "sort_ts": browsing lists them last


def pid(i: int) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"sightline-test-{i}"))


def unit(v: list[float]) -> list[float]:
    n = math.sqrt(sum(x * x for x in v))
    return [x / n for x in v]


def vec(i: int) -> list[float]:
    """Point i lies near axis i % DIM, tilted a little towards the next axis by i // DIM."""
    v = [0.0] * DIM
    v[i % DIM] = 1.0
    v[(i + 1) % DIM] = 0.1 * (i // DIM)
    return unit(v)


def ancestors(folder: str) -> list[str]:
    parts = folder.strip("/").split("/")
    return ["/" + "/".join(parts[: k + 1]) for k in range(len(parts))]


def payload(i: int) -> dict:
    folder = FOLDERS[i % len(FOLDERS)]
    return {
        "path": f"{folder}/img_{i:03d}.{FORMATS[i % 3]}",
        "folder": folder,
        "folder_prefixes": ancestors(folder),
        "camera": CAMERAS[i % 3],
        "format": FORMATS[(i // 2) % 3],
        "taken_at_ts": T0 + DAY * i,
        "sha256": f"{i % 10:064x}",  # points i and i + 10 have the same content
        "lens": "50mm" if i % 4 == 0 else "35mm",
        "caption": f"photo number {i}",
        **({} if i in NO_SORT_TS else {"sort_ts": T0 + DAY * (i // 3)}),  # runs of three equal values
        "words": f"photo {CAMERAS[i % 3].lower()} {FORMATS[(i // 2) % 3]}",
    }


POINTS = [Point(id=pid(i), vector=vec(i), payload=payload(i)) for i in range(N)]


def ids_where(pred: Callable[[dict], bool]) -> set[str]:
    return {p.id for p in POINTS if pred(p.payload)}


GOOD_NAMES = ["a" * 64, "0", "My_Photos-2024", "x-_"]
BAD_NAMES = ["../x", "..", "", "a" * 65, "has space", "a/b", "x\n", ".hidden", "-x", "_x", "naïve", "a\\b"]
