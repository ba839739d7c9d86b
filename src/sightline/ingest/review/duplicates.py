"""Exact duplicates (same SHA-256, from the store's facet on `sha256`) and near-duplicates: vector similarity
within a collection (every point's nearest neighbours from the index's own search, asked for in batches; no
all-pairs loop), confirmed by the photos' perceptual hashes (`hashes.py`), grouped so that every member is near
the group's centre (star linkage: look-alikes do not chain), ordered best-first. Exact copies inside a near
group are marked (`exact_of`)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from itertools import combinations
from pathlib import Path
from typing import Any, Literal

from sightline.errors import ErrorCode, SightlineError
from sightline.ingest.review import hashes
from sightline.ingest.review.groups import Linkage, Pair, best_first, best_first_key, connected_groups, group_pairs, \
    linked_groups, ordered
from sightline.ingest.review.tasks import Progress
from sightline.ingest.vectors import Point, SearchFilters, VectorStore

Kind = Literal["exact", "near", "all"]
DEFAULT_THRESHOLD = 0.90  # cosine similarity; with the hash check lite is best here (bench/duplicates.py)
LINKAGE: Linkage = "star"  # see bench/duplicates.py: single linkage chains look-alikes
SCAN_FLOOR = 0.85  # a scan keeps pairs down to here, so moving the threshold above it needs no new scan
NEIGHBOURS = 10  # neighbours asked for per point (a group larger than this still joins through its members)
SCAN_PAGE = 256  # points per batched neighbour search
EXACT_GROUP_MAX = 100  # members listed per exact group
SIMILARITY_DISTANCES = ("Cosine", "Dot")  # scores where higher is more alike
SCAN_KEYS = ["phash", "path"]  # what the scan reads of each payload


@dataclass
class Group:
    kind: Literal["exact", "near"]
    point_ids: list[str]  # best first
    score: float | None = None  # the lowest similarity that joins the group (near groups)
    sha256: str | None = None  # exact groups
    count: int | None = None  # exact groups: every file with that content, even past EXACT_GROUP_MAX
    checked: bool = True  # every member has a hash, so each pair was checked (False: some taken on vectors alone)
    exact_of: dict[str, str] = field(default_factory=dict)  # member → the better member with the same bytes
    hash_bits: dict[str, int | None] = field(default_factory=dict)  # member → bits differing from the first's

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "point_ids": self.point_ids, "score": self.score, "sha256": self.sha256,
                "count": self.count or len(self.point_ids), "checked": self.checked, "exact_of": self.exact_of,
                "hash_max_bits": hashes.HASH_MAX_BITS}

    def member(self, point_id: str) -> dict[str, Any]:
        """What the group says of one member: the better member it is a byte-identical copy of, and how many
        of its perceptual hash's 64 bits differ from the first member's (None: a hash is missing)."""
        return {"exact_of": self.exact_of.get(point_id), "hash_bits": self.hash_bits.get(point_id)}


def exact_id_groups(vectors: VectorStore, name: str, limit: int) -> list[tuple[str, int, list[str]]]:
    """(sha256, count, ids) of the contents held by two points or more, most copies first."""
    found = []
    for sha256, count in vectors.facet(name, "sha256", limit):
        if count < 2:
            break
        points, _ = vectors.scroll(name, limit=min(count, EXACT_GROUP_MAX), filters=SearchFilters(sha256=sha256))
        found.append((sha256, count, [point.id for point in points]))
    return found


def _pages(vectors: VectorStore, name: str) -> Iterator[list[Point]]:
    offset = None
    while True:
        page, offset = vectors.scroll(name, limit=SCAN_PAGE, offset=offset, with_vectors=True,
                                      payload_keys=SCAN_KEYS)
        if page:
            yield page
        if offset is None:
            return


def scan_near(vectors: VectorStore, name: str, floor: float, progress: Progress,
              roots: Sequence[Path] = ()) -> dict[Pair, float]:
    """Every pair of points at least `floor` alike among each point's `NEIGHBOURS` nearest; then the
    perceptual hash of each point in a pair that has none is computed from its original (under `roots`) and
    stored. Blocking."""
    info = vectors.collection_info(name)
    if info.params.distance not in SIMILARITY_DISTANCES:
        raise SightlineError(ErrorCode.VALIDATION_ERROR, f"near-duplicates need a Cosine or Dot collection; "
                             f"{name!r} uses {info.params.distance}", where="collection", status=422)
    progress.start(info.points_count, "searching neighbours")
    pairs: dict[Pair, float] = {}
    payloads: dict[str, dict[str, Any]] = {}
    for page in _pages(vectors, name):
        queries = [point.vector for point in page if point.vector is not None]
        page = [point for point in page if point.vector is not None]
        hits = vectors.search_batch(name, queries, limit=NEIGHBOURS + 1, score_threshold=floor)
        for point, found in zip(page, hits):
            payloads[point.id] = point.payload
            for hit in found:
                if hit.id != point.id:
                    pair = ordered(point.id, hit.id)
                    pairs[pair] = max(pairs.get(pair, hit.score), hit.score)
        progress.advance(len(page))
    hashes.fill_missing(vectors, name, {i for pair in pairs for i in pair}, payloads, roots, progress)
    return pairs


def build_groups(kind: Kind, exact: list[tuple[str, int, list[str]]], near: dict[Pair, float],
                 dismissed: set[Pair], payloads: dict[str, dict[str, Any]],
                 linkage: Linkage = LINKAGE) -> list[Group]:
    """Groups of `kind` from exact id groups and near pairs (already at the threshold; those whose hashes
    disagree are dropped), without the dismissed pairs; each best-first, the largest groups first."""
    if kind == "exact":
        split = [_exact(sha, count, ids, dismissed, payloads) for sha, count, ids in exact]
        return _largest_first([group for groups in split for group in groups])
    pairs = {pair: score for pair, score in near.items() if hashes.check(payloads, *pair).agrees}
    if kind == "all":
        for _, _, ids in exact:
            pairs.update({pair: 1.0 for pair in group_pairs(ids)})
    groups: list[Group] = []
    rank = {i: best_first_key(payloads.get(i, {})) for pair in pairs for i in pair}
    for ids in linked_groups(pairs, dismissed, linkage, rank.__getitem__):
        shas = {payloads.get(i, {}).get("sha256") for i in ids}
        if kind == "near" and len(shas) == 1:
            continue  # the same bytes: an exact group, not a near one
        groups.append(_near(ids, pairs, payloads, next(iter(shas)) if len(shas) == 1 else None))
    return _largest_first(groups)


def _near(ids: list[str], pairs: dict[Pair, float], payloads: dict[str, dict[str, Any]], sha: str | None) -> Group:
    """A group of `ids` (exact when they all hold the same bytes `sha`), with its hash check and exact copies."""
    ordered_ids = best_first(payloads, ids)
    score = min(pairs[pair] for pair in combinations(sorted(ids), 2) if pair in pairs)
    first = ordered_ids[0]
    bits = {i: hashes.check(payloads, first, i).distance for i in ordered_ids[1:]}
    exact_of: dict[str, str] = {}
    for index, point_id in enumerate(ordered_ids):
        sha_here = payloads.get(point_id, {}).get("sha256")
        better = next((i for i in ordered_ids[:index] if payloads.get(i, {}).get("sha256") == sha_here), None)
        if sha_here and better:
            exact_of[point_id] = better
    return Group("exact" if sha else "near", ordered_ids, round(score, 4), sha, len(ids) if sha else None,
                 checked=all(bit is not None for bit in bits.values()), exact_of=exact_of, hash_bits=bits)


def _exact(sha: str, count: int, ids: list[str], dismissed: set[Pair],
           payloads: dict[str, dict[str, Any]]) -> list[Group]:
    kept = connected_groups(group_pairs(ids), dismissed) if dismissed else [ids]
    return [Group("exact", best_first(payloads, members), 1.0, sha, count if len(members) == len(ids)
                  else len(members)) for members in kept]


def _largest_first(groups: list[Group]) -> list[Group]:
    return sorted(groups, key=lambda g: (-len(g.point_ids), -(g.score or 0), g.point_ids[0]))


def member_ids(exact: list[tuple[str, int, list[str]]], near: dict[Pair, float]) -> set[str]:
    return {i for _, _, ids in exact for i in ids} | {i for pair in near for i in pair}
