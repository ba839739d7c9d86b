"""Duplicate groups from pairs and the best-first order inside a group. Two groupings: transitive (union-find,
single linkage: A~B and B~C make one group even when A and C are far apart) and star (each member is near the
group's centre: look-alikes do not chain; see bench/duplicates.py for what each measures)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Set
from pathlib import PurePath
from typing import Any, Literal

import numpy as np

COPY_NAME = re.compile(r"(?i)\bcopy\b|\(\d+\)$| [2-9]$")  # what file managers add to a copy's name
# Formats cameras write, ahead of the ones copies are usually re-encoded to (lower is more original).
FORMAT_RANK = {"dng": 0, "raw": 0, "heif": 1, "jpeg": 2, "tiff": 3, "png": 4, "webp": 5, "gif": 6}

Pair = tuple[str, str]
Linkage = Literal["single", "star"]


def ordered(a: str, b: str) -> Pair:
    """A pair's one spelling: the smaller id first."""
    return (a, b) if a < b else (b, a)


def connected_groups(pairs: Iterable[Pair], dismissed: Set[Pair] = frozenset()) -> list[list[str]]:
    """Groups of ids joined, directly or through others, by a pair that was not dismissed (2 ids or more)."""
    from scipy.cluster.hierarchy import DisjointSet  # SciPy loads with the first review, not at every start

    forest = DisjointSet()
    for a, b in pairs:
        if ordered(a, b) in dismissed:
            continue
        forest.add(a)
        forest.add(b)
        forest.merge(a, b)
    return [sorted(subset) for subset in forest.subsets() if len(subset) > 1]


def star_groups(pairs: Iterable[Pair], dismissed: Set[Pair] = frozenset(),
                rank: Callable[[str], Any] = str) -> list[tuple[str, list[str]]]:
    """(centre, members) groups in which every member is paired directly with the centre (2 ids or more):
    within each transitive group, the id with the most pairs among those left (ties: the lowest `rank`) takes
    its partners, again until no pair is left. Members are sorted; the centre is one of them."""
    kept = [pair for pair in pairs if ordered(*pair) not in dismissed]
    partners: dict[str, set[str]] = {}
    for a, b in kept:
        partners.setdefault(a, set()).add(b)
        partners.setdefault(b, set()).add(a)
    grouped = []
    for left in map(set, connected_groups(kept)):
        while linked := [i for i in left if partners[i] & left]:
            centre = min(linked, key=lambda i: (-len(partners[i] & left), rank(i)))
            members = (partners[centre] & left) | {centre}
            grouped.append((centre, sorted(members)))
            left -= members
    return grouped


def linked_groups(pairs: Iterable[Pair], dismissed: Set[Pair], linkage: Linkage,
                  rank: Callable[[str], Any] = str) -> list[list[str]]:
    """The groups of `linkage` (members sorted)."""
    if linkage == "single":
        return connected_groups(pairs, dismissed)
    return [members for _, members in star_groups(pairs, dismissed, rank)]


def best_first_key(payload: dict[str, Any]) -> tuple:
    """Largest first (pixels), then the original over a re-encode (camera metadata kept, camera format),
    then the earliest, then the largest file, then a name that does not say it is a copy ("IMG_1 copy.jpg",
    "IMG_1 (2).jpg", "IMG_1 2.jpg"), then the older file; the path breaks ties so the order is stable."""
    pixels = (payload.get("width") or 0) * (payload.get("height") or 0)
    has_camera = bool(payload.get("camera") or payload.get("taken_at_ts"))
    format_rank = FORMAT_RANK.get(str(payload.get("format")), len(FORMAT_RANK))
    earliest = payload.get("sort_ts")
    path = str(payload.get("path", ""))
    return (-pixels, not has_camera, format_rank, earliest if earliest is not None else float("inf"),
            -(payload.get("bytes") or 0), bool(COPY_NAME.search(PurePath(path).stem)),
            payload.get("mtime_ns") or 0, path)


def best_first(payloads: dict[str, dict[str, Any]], ids: Iterable[str]) -> list[str]:
    return sorted(ids, key=lambda point_id: best_first_key(payloads.get(point_id, {})))


def group_pairs(ids: list[str], limit: int = 64) -> list[Pair]:
    """Every pair among `ids` (what dismissing a group remembers); at most `limit` ids are paired."""
    ids = sorted(set(ids))[:limit]
    upper = np.triu_indices(len(ids), k=1)
    return [(ids[i], ids[j]) for i, j in zip(*upper)]
