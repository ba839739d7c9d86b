"""Text search: what the search box runs for a text query: meaning, words and facts in one ranking (issue 14).

The contract the search API codes against (`api/search.py`):
`await search_text(services, collection, info, text, filters=..., limit=..., offset=...)` → `TextResults`.
Each hit carries `score` (the ranking score, higher is better) and `similarity` (the vector similarity of the
image to the query, or None if only its words matched and it could not be had), `matched` (the fields whose
words matched). `understood` lists what was read out of the query as facts (`{"kind", "text", "filter"}` chips).

How: the facts are read out of the query (`understand.py`); what is left is embedded and searched by vector;
the whole query's words are searched in the photos' `words` (`words.py`, the store's full-text index). The
candidates of both searches are ranked by a blend of their similarity and the share of the query's words they
hold (`rank`), and a hit must meet every fact. Both store back ends answer the same two searches, so the
ranking is one piece of Python for both.

Facts are constraints, not meaning: every hit meets them, so the words they were read from neither rank a hit
nor count as `matched` (which keeps "dog 2019" from calling every photo of 2019 a strong match). A query made
only of facts ("2019", "canon raw") is a filtered listing: `only_facts`, newest first, no similarity.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import PurePath
from typing import Any

import numpy as np

from sightline.ingest.model_match import check_query_dimension, check_query_model
from sightline.ingest.services import Services
from sightline.ingest.understand import Understanding, understand
from sightline.ingest.vectors import CollectionInfo, ScoredPoint, SearchFilters
from sightline.ingest.words import distinctive, field_words, token_groups, tokens

logger = logging.getLogger(__name__)

POOL = 100  # candidates taken from each search (more when a page reaches deeper)
# the ranking's weights, measured against rank fusion and other blends in bench/hybrid_quality.py
WORD_WEIGHT = 0.6
CAPTION_WEIGHT = 0.5
LEAST_WORD_MATCH = 0.5  # a photo holding fewer of the query's words than this gets nothing for them
CAMERA_FACET_LIMIT = 500
# the photos a query made only of facts lists, newest first: one fixed pool, so that its pages never overlap
FACT_LISTING = 1000
MAX_QUERY_TOKENS = 32  # words sent to the word search (a long description adds little beyond these)


@dataclass
class TextHit:
    id: str
    score: float
    payload: dict[str, Any]
    similarity: float | None = None
    matched: list[str] = field(default_factory=list)


@dataclass
class TextResults:
    hits: list[TextHit]
    understood: list[dict[str, Any]] = field(default_factory=list)
    only_facts: bool = False  # the query was facts alone: the hits are a listing, none stronger than another


@dataclass
class Candidates:
    """What the two searches found: ids best first, with the payloads and vector similarities known."""

    vector: list[str] = field(default_factory=list)
    words: list[str] = field(default_factory=list)
    payloads: dict[str, dict[str, Any]] = field(default_factory=dict)
    similarity: dict[str, float] = field(default_factory=dict)


async def search_text(
    services: Services, collection: str, info: CollectionInfo, text: str, *,
    filters: SearchFilters | None, limit: int, offset: int = 0, threshold: float | None = None,
) -> TextResults:
    """The best `limit` hits after the first `offset`."""
    cameras = [name for name, _ in await services.call(services.vectors.facet, collection, "camera",
                                                        CAMERA_FACET_LIMIT)]
    understanding = understand(text, cameras)
    only_facts = bool(understanding.facts) and not tokens(understanding.rest)
    pool = FACT_LISTING if only_facts else max(POOL, offset + limit)
    found = await candidates(services, collection, info, understanding, text, filters, pool,
                             similar=not only_facts)
    if only_facts:
        return TextResults(newest_first(found, understanding)[offset:offset + limit], understanding.chips(), True)
    # the meaning words: what is left once the facts are read (every hit meets those)
    groups, roots = distinctive(token_groups(understanding.rest)), services.settings.roots
    hits = []
    for hit in rank(found, groups, roots, info.params.distance):
        if understanding.holds(hit.payload) and (
                _passes(hit.similarity, threshold, info.params.distance)
                or word_match(groups, field_words(hit.payload, roots)) >= LEAST_WORD_MATCH):
            hits.append(hit)
    return TextResults(hits[offset:offset + limit], understanding.chips())


def newest_first(found: Candidates, understanding: Understanding) -> list[TextHit]:
    """What a query made only of facts lists: the candidates that meet them, newest first (as browsing lists),
    with no similarity (there is no meaning to be similar to)."""
    def when(point_id: str) -> float:
        moment = found.payloads[point_id].get("sort_ts")
        return float(moment) if isinstance(moment, (int, float)) else float("-inf")

    kept = [i for i in dict.fromkeys([*found.vector, *found.words]) if understanding.holds(found.payloads[i])]
    return [TextHit(i, 0.0, found.payloads[i]) for i in sorted(kept, key=lambda i: (-when(i), i))]


def rank(found: Candidates, groups: Sequence[Sequence[str]], roots: Sequence[PurePath | str] = (),
         distance: str = "Cosine") -> list[TextHit]:
    """Every candidate, best first, by `(1 - WORD_WEIGHT) * closeness + WORD_WEIGHT * word_match`.

    closeness: the similarity scaled to 0..1 over the vector's candidates (the best 1, the worst 0); word_match: the
    share of the query's words the photo holds (`word_match`), 0 below LEAST_WORD_MATCH. So a photo holding
    every word of a short query ("kyoto", "IMG_4411") beats any photo that only looks right, while one word of a
    long description ("a pagoda overlooking a *lake*") changes nothing: a query no photo's words match well
    ranks by similarity alone, as vector search does."""
    known = found.similarity
    # the scale: from the best vector hit to the POOL-th, however deep a page reaches (pages stay in one order)
    scale = [known[i] for i in found.vector[:POOL]] or list(known.values()) or [0.0]
    low, high = min(scale), max(scale)
    span, lower_is_better = (high - low) or 1.0, distance in ("Euclid", "Manhattan")
    query = {token for group in groups for token in group}
    hits = []
    for point_id in dict.fromkeys([*found.vector, *found.words]):
        payload = found.payloads[point_id]
        fields = field_words(payload, roots) if _may_match(query, payload) else {}
        similarity = known.get(point_id)
        closeness = 0.0
        if similarity is not None:
            closeness = ((high - similarity) if lower_is_better else (similarity - low)) / span
        match = word_match(groups, fields)
        score = (1 - WORD_WEIGHT) * closeness + WORD_WEIGHT * (match if match >= LEAST_WORD_MATCH else 0.0)
        matched = [name for name, words in fields.items() if query.intersection(words)]
        hits.append(TextHit(point_id, score, payload, similarity, matched))
    return sorted(hits, key=lambda hit: -hit.score)


def _may_match(query: set[str], payload: dict[str, Any]) -> bool:
    """Whether the photo's words (all of them, in one string) hold one of the query's: when they do not, its
    fields are not worth splitting. A point stored before `words` existed is always split."""
    words = payload.get("words")
    return not isinstance(words, str) or not query.isdisjoint(words.split())


def word_match(groups: Sequence[Sequence[str]], fields: dict[str, list[str]]) -> float:
    """The share of the query's words (`token_groups`) found in the photo's fields, a word found only in the
    caption counting CAPTION_WEIGHT (the caption is the model's guess, which the vector already says)."""
    if not groups:
        return 0.0
    caption = set(fields.get("caption", ()))
    known = {token for name, words in fields.items() if name != "caption" for token in words}
    return sum(1.0 if known.intersection(group) else CAPTION_WEIGHT if caption.intersection(group) else 0.0
               for group in groups) / len(groups)


async def candidates(
    services: Services, collection: str, info: CollectionInfo, understanding: Understanding, text: str,
    filters: SearchFilters | None, pool: int, *, similar: bool = True,
) -> Candidates:
    """The vector search of what is left of the query once its facts are read (all of it when only facts
    were), and the word search of the whole query (`similar`: with the similarity of what only it found)."""
    found = Candidates()
    vector = await query_vector(services, info, understanding.rest if tokens(understanding.rest) else text)
    within = with_facts(filters, understanding)
    for hit in await services.call(services.vectors.search, collection, vector, limit=pool, filters=within):
        found.vector.append(hit.id)
        found.payloads[hit.id] = hit.payload
        found.similarity[hit.id] = hit.score
    for hit in await word_hits(services, collection, tokens(text)[:MAX_QUERY_TOKENS], pool, filters):
        found.words.append(hit.id)
        found.payloads.setdefault(hit.id, hit.payload)
    missing = [point_id for point_id in found.words if point_id not in found.similarity]
    if similar:
        found.similarity.update(await similarities(services, collection, info, vector, missing))
    return found


def with_facts(filters: SearchFilters | None, understanding: Understanding) -> SearchFilters | None:
    """`filters` narrowed by the facts a store filter can say (a date range, one camera, one format), so that
    the vector search looks among the photos that can meet them. (A fact also holds by a photo's words, as a
    `2019 Kyoto trip` folder: the word search, unnarrowed, finds those.)"""
    narrowed = replace(filters) if filters is not None else SearchFilters()
    for fact in understanding.facts:
        if fact.kind == "date" and fact.span is not None:
            after, before = narrowed.taken_after, narrowed.taken_before
            narrowed.taken_after = fact.span[0] if after is None else max(after, fact.span[0])
            narrowed.taken_before = fact.span[1] if before is None else min(before, fact.span[1])
        elif fact.kind == "camera" and len(fact.values) == 1 and narrowed.camera is None:
            narrowed.camera = next(iter(fact.values))
        elif fact.kind == "format" and len(fact.values) == 1 and narrowed.format is None:
            narrowed.format = next(iter(fact.values))
    return filters if narrowed == (filters or SearchFilters()) else narrowed


async def query_vector(services: Services, info: CollectionInfo, text: str) -> list[float]:
    vectors, model = await services.ml.embed_texts([text], interactive=True)
    check_query_model(info.params.metadata, model)
    check_query_dimension(vectors[0], info.params.vector_size)
    return vectors[0]


async def word_hits(
    services: Services, collection: str, query_tokens: list[str], pool: int, filters: SearchFilters | None,
) -> list[ScoredPoint]:
    """The store's full-text search over `words` (nothing for a query with no words, or a store without it)."""
    if not query_tokens:
        return []
    try:
        return await services.call(services.vectors.search_text, collection, " ".join(query_tokens),
                                   limit=pool, filters=filters)
    except NotImplementedError:
        logger.warning("the vector store has no word search: text search uses the vector alone")
        return []


async def similarities(
    services: Services, collection: str, info: CollectionInfo, vector: list[float], ids: list[str],
) -> dict[str, float]:
    """The vector similarity of points the vector search did not return (Cosine and Dot collections)."""
    if not ids or info.params.distance not in ("Cosine", "Dot"):
        return {}
    points = await services.call(services.vectors.retrieve, collection, ids, True)
    points = [point for point in points if point.vector is not None]
    if not points:
        return {}
    matrix = np.asarray([point.vector for point in points], dtype=np.float64)
    query = np.asarray(vector, dtype=np.float64)
    if info.params.distance == "Cosine":
        matrix /= np.maximum(np.linalg.norm(matrix, axis=1, keepdims=True), 1e-12)
        query /= max(float(np.linalg.norm(query)), 1e-12)
    return {point.id: float(score) for point, score in zip(points, matrix @ query)}


def _passes(similarity: float | None, threshold: float | None, distance: str) -> bool:
    """The threshold is a minimum similarity (a maximum distance for Euclid and Manhattan). (A hit whose words
    count in its ranking is kept whatever its similarity: `search_text`.)"""
    if threshold is None:
        return True
    if similarity is None:
        return False
    return similarity <= threshold if distance in ("Euclid", "Manhattan") else similarity >= threshold
