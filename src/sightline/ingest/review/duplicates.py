"""Exact duplicates (same SHA-256, from the store's facet on `sha256`) and near-duplicates (vector similarity
within a collection: every point's nearest neighbours from the index's own search, asked for in batches; no
all-pairs loop), grouped transitively and ordered best-first."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal

from sightline.errors import ErrorCode, SightlineError
from sightline.ingest.review.groups import Pair, best_first, connected_groups, group_pairs, ordered
from sightline.ingest.review.tasks import Progress
from sightline.ingest.vectors import Point, SearchFilters, VectorStore

Kind = Literal["exact", "near", "all"]
DEFAULT_THRESHOLD = 0.95  # cosine similarity; see bench/duplicates.py for what each backend reaches
SCAN_FLOOR = 0.85  # a scan keeps pairs down to here, so moving the threshold above it needs no new scan
NEIGHBOURS = 10  # neighbours asked for per point (a group larger than this still joins through its members)
SCAN_PAGE = 256  # points per batched neighbour search
EXACT_GROUP_MAX = 100  # members listed per exact group
SIMILARITY_DISTANCES = ("Cosine", "Dot")  # scores where higher is more alike


@dataclass
class Group:
    kind: Literal["exact", "near"]
    point_ids: list[str]  # best first
    score: float | None = None  # the lowest similarity that joins the group (near groups)
    sha256: str | None = None  # exact groups
    count: int | None = None  # exact groups: every file with that content, even past EXACT_GROUP_MAX


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
        page, offset = vectors.scroll(name, limit=SCAN_PAGE, offset=offset, with_vectors=True)
        if page:
            yield page
        if offset is None:
            return


def scan_near(vectors: VectorStore, name: str, floor: float, progress: Progress) -> dict[Pair, float]:
    """Every pair of points at least `floor` alike among each point's `NEIGHBOURS` nearest. Blocking."""
    info = vectors.collection_info(name)
    if info.params.distance not in SIMILARITY_DISTANCES:
        raise SightlineError(ErrorCode.VALIDATION_ERROR, f"near-duplicates need a Cosine or Dot collection; "
                             f"{name!r} uses {info.params.distance}", where="collection", status=422)
    progress.start(info.points_count, "searching neighbours")
    pairs: dict[Pair, float] = {}
    for page in _pages(vectors, name):
        queries = [point.vector for point in page if point.vector is not None]
        page = [point for point in page if point.vector is not None]
        hits = vectors.search_batch(name, queries, limit=NEIGHBOURS + 1, score_threshold=floor)
        for point, found in zip(page, hits):
            for hit in found:
                if hit.id != point.id:
                    pair = ordered(point.id, hit.id)
                    pairs[pair] = max(pairs.get(pair, hit.score), hit.score)
        progress.advance(len(page))
    return pairs


def build_groups(kind: Kind, exact: list[tuple[str, int, list[str]]], near: dict[Pair, float],
                 dismissed: set[Pair], payloads: dict[str, dict[str, Any]]) -> list[Group]:
    """Groups of `kind` from exact id groups and near pairs (already at the threshold), without the dismissed
    pairs; each best-first, the largest groups first."""
    if kind == "exact":
        split = [_exact(sha, count, ids, dismissed, payloads) for sha, count, ids in exact]
        return _largest_first([group for groups in split for group in groups])
    pairs = dict(near)
    if kind == "all":
        for _, _, ids in exact:
            pairs.update({pair: 1.0 for pair in group_pairs(ids)})
    groups: list[Group] = []
    for ids in connected_groups(pairs, dismissed):
        shas = {payloads.get(i, {}).get("sha256") for i in ids}
        if kind == "near" and len(shas) == 1:
            continue  # the same bytes: an exact group, not a near one
        score = min(score for (a, b), score in pairs.items() if a in ids and b in ids)
        sha = next(iter(shas)) if len(shas) == 1 else None
        groups.append(Group("exact" if sha else "near", best_first(payloads, ids), round(score, 4), sha,
                            len(ids) if sha else None))
    return _largest_first(groups)


def _exact(sha: str, count: int, ids: list[str], dismissed: set[Pair],
           payloads: dict[str, dict[str, Any]]) -> list[Group]:
    kept = connected_groups(group_pairs(ids), dismissed) if dismissed else [ids]
    return [Group("exact", best_first(payloads, members), 1.0, sha, count if len(members) == len(ids)
                  else len(members)) for members in kept]


def _largest_first(groups: list[Group]) -> list[Group]:
    return sorted(groups, key=lambda g: (-len(g.point_ids), -(g.score or 0), g.point_ids[0]))


def member_ids(exact: list[tuple[str, int, list[str]]], near: dict[Pair, float]) -> set[str]:
    return {i for _, _, ids in exact for i in ids} | {i for pair in near for i in pair}
