"""Text search: what the search box runs for a text query: meaning, words and facts in one ranking (issue 14).

The contract the search API codes against (`api/search.py`):
`await search_text(services, collection, info, text, filters=..., limit=..., offset=...)` → `TextResults`.
Each hit carries `score` (the ranking score, higher is better) and `similarity` (the vector similarity of the
image to the query, less its facts and folder words, or None if only its words matched and it could not be had),
`matched` (the fields whose words matched). `understood` lists what was read out of the query as facts
(`{"kind", "text", "filter"}` chips).

How: the facts are read out of the query (`understand.py`); the whole query's words are searched in the photos'
`words` (`words.py`, the store's full-text index); what is left of the query, less its words that name a folder
of the photos found (`content`), is embedded and searched by vector. The candidates of both searches are ranked
by a blend of their similarity and the share of the query's words they hold (`rank`), and a hit must meet every
fact. Both store back ends answer the same two searches, so the ranking is one piece of Python for both.

A folder's name says where a photo is, not what it shows (the walk-through's `dogs at home`: a daisy and a cat in
`Home` were its strong matches, above the golden retrievers). So a word of the query that names a folder is left
out of what is embedded (`dogs`), and a photo's folder words count for it only when they are the whole query
(`holiday`, `day trips`: the folder's photos are strong matches, first, whatever they look like); in part of a
query they count as much as the photo looks like the query, ordering the photos that look like `dogs` (those in
`Home` first), and never make a photo a strong match (`strong_by`): that is its similarity's to say. A photo's own
words (its file name, caption, camera, lens, date) say what it is and count in full (`coin collection.png` for
"a collection of ancient coins"). The strong matches rank before the others (`rank`), so a photo its folder lifts
never goes before one that looks like the query.

Facts are constraints, not meaning: every hit meets them, so the words they were read from neither rank a hit
nor count as `matched` (which keeps "dog 2019" from calling every photo of 2019 a strong match). They narrow the
vector search, but a hit is a strong match by the collection's standard, not the narrowed pool's: `best` is the
query's best similarity over the whole collection (in a pool of 2019 photos with no dog, the best of a bad lot is
no strong match for "dog"). A year or month matches a photo's date words only when the query has it as a word by
itself (`words.date_tokens`): `IMG_2019` is a file's number, not the photos of 2019.

A query made only of facts ("2019", "canon raw") is a listing (`only_facts`, no similarity), page after page as
browsing is: `fact_listing.list_facts`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import Any

import numpy as np

from sightline.ingest.fact_listing import TextHit, list_facts, with_facts, word_hits
from sightline.ingest.listing import is_weak, strong_cut
from sightline.ingest.model_match import check_query_dimension, check_query_model
from sightline.ingest.services import Services
from sightline.ingest.understand import Understanding, understand
from sightline.ingest.vectors import CollectionInfo, SearchFilters
from sightline.ingest.words import (asked_file, date_tokens, field_words, names_file, query_groups, tokens,
                                    without_extensions, without_words)

POOL = 100  # candidates taken from each search (more when a page reaches deeper)
# the ranking's weights, measured against rank fusion and other blends in bench/hybrid_quality.py
WORD_WEIGHT = 0.6
CAPTION_WEIGHT = 0.5
LEAST_WORD_MATCH = 0.5  # a photo holding fewer of the query's words than this gets nothing for them
CAMERA_FACET_LIMIT = 500
MAX_QUERY_TOKENS = 32  # words sent to the word search (a long description adds little beyond these)


@dataclass
class RankedHit(TextHit):
    """A hit `rank` ranked: with the share of the query's words its own words hold (`word_match` of its file
    name, caption, camera, lens, format and date: its folder's aside)."""

    by_own_words: float = 0.0


@dataclass
class TextResults:
    hits: list[TextHit]
    understood: list[dict[str, Any]] = field(default_factory=list)
    only_facts: bool = False  # the query was facts alone: the hits are a listing, none stronger than another
    best: float | None = None  # the query's best similarity in the whole collection (its filters and facts aside)
    meaning: str = ""  # the query without its facts: what the hits are to look like


@dataclass
class Candidates:
    """What the two searches found: ids best first, with the payloads and vector similarities known."""

    vector: list[str] = field(default_factory=list)
    words: list[str] = field(default_factory=list)
    payloads: dict[str, dict[str, Any]] = field(default_factory=dict)
    similarity: dict[str, float] = field(default_factory=dict)
    best: float | None = None  # the best similarity of the vector in the whole collection


async def read_query(services: Services, collection: str, text: str) -> Understanding:
    """The facts of `text`, the cameras among them those of the collection."""
    cameras = [name for name, _ in await services.call(services.vectors.facet, collection, "camera",
                                                        CAMERA_FACET_LIMIT)]
    return understand(text, cameras)


async def search_text(
    services: Services, collection: str, info: CollectionInfo, text: str, *,
    filters: SearchFilters | None, limit: int, offset: int = 0, threshold: float | None = None,
    understanding: Understanding | None = None,
) -> TextResults:
    """The best `limit` hits after the first `offset` (`understanding`: `text` already read by `read_query`)."""
    understanding = understanding or await read_query(services, collection, text)
    if understanding.only_facts:
        listing = await list_facts(services, collection, understanding, filters, offset + limit)
        return TextResults(listing.hits[offset:], understanding.chips(), True)
    found = await candidates(services, collection, info, understanding, text, filters, max(POOL, offset + limit))
    # the meaning words: what is left once the facts are read (every hit meets those)
    rest, roots = understanding.rest, services.settings.roots
    strong_from = strong_cut(info.params.metadata.get("backend"), found.best)
    hits: list[TextHit] = []
    for hit in rank(found, query_groups(rest), roots, info.params.distance, date_tokens(rest), asked_file(rest),
                    strong_from):
        if understanding.holds(hit.payload) and (
                _passes(hit.similarity, threshold, info.params.distance) or strong_by(hit)):
            hits.append(hit)
    return TextResults(hits[offset:offset + limit], understanding.chips(), best=found.best,
                       meaning=understanding.rest)


def rank(found: Candidates, groups: Sequence[Sequence[str]], roots: Sequence[PurePath | str] = (),
         distance: str = "Cosine", dates: frozenset[str] = frozenset(),
         asked: tuple[str, ...] | None = None, strong_from: float | None = None) -> list[RankedHit]:
    """Every candidate, the strong matches first (`is_strong`: the search API's line, `strong_from`), each part
    by `(1 - WORD_WEIGHT) * closeness + WORD_WEIGHT * words_part(...)`.

    closeness: the similarity scaled to 0..1 over the vector's first POOL candidates (the best 1, the worst 0, and
    0 too for a photo below them that its words found: negative, it cancelled a full word match); the words: the
    share of the query's words the photo holds (`word_match`), counted as `words_part` says: in full when they
    name it whole ("kyoto", "IMG_4411", "coffee at home" for `Home/coffee.png`) or are its own (file name,
    caption, camera...), a folder's as much as the photo looks like the query. So a photo holding every word of a
    short query beats any photo that only looks right; a folder word of a longer query ("dogs at *home*") orders
    the photos that look like the rest, and never lifts one that does not; one word of a long description ("a
    pagoda overlooking a *lake*") changes nothing: a query no photo's words match well ranks by similarity
    alone, as vector search does. A photo's words count as `_fields` says (`dates`: the query's years and months
    by themselves; `asked`: the file a query of one file name asks for)."""
    known = found.similarity
    # the scale: from the best vector hit to the POOL-th, however deep a page reaches (pages stay in one order)
    scale = [known[i] for i in found.vector[:POOL]] or list(known.values()) or [0.0]
    low, high = min(scale), max(scale)
    span, lower_is_better = (high - low) or 1.0, distance in ("Euclid", "Manhattan")
    query = {token for group in groups for token in group}
    hits = []
    for point_id in dict.fromkeys([*found.vector, *found.words]):
        payload = found.payloads[point_id]
        fields = _fields(payload, query, roots, dates, asked)
        similarity = known.get(point_id)
        closeness = 0.0
        if similarity is not None:  # held to 0..1: a photo its words found far below the pool stays a word match
            closeness = min(1.0, max(0.0, ((high - similarity) if lower_is_better else (similarity - low)) / span))
        match = word_match(groups, fields)
        own = word_match(groups, {name: words for name, words in fields.items() if name != "folder"})
        score = (1 - WORD_WEIGHT) * closeness + WORD_WEIGHT * words_part(match, own, closeness)
        matched = [name for name, words in fields.items() if query.intersection(words)]
        hits.append(RankedHit(point_id, score, payload, similarity, matched, match, own))
    # the strong matches first: a photo that only its folder's words lift never goes before one that looks right;
    # equal scores (below the pool, closeness 0 for all) go by similarity, as a deeper vector search would
    return sorted(hits, key=lambda hit: (not is_strong(hit, strong_from), -hit.score,
                                         _farness(hit.similarity, lower_is_better)))


def words_part(match: float, own: float, closeness: float) -> float:
    """What a photo's words add to its rank, from the share of the query's words it holds (`match`) and the share
    its own words hold (`own`: its folder's aside). All of it when they name it whole (every word), nothing
    below LEAST_WORD_MATCH; else its own words in full and its folder's as much as the photo looks like the query
    (`closeness`): a folder's name says where a photo is, not what it shows (`home` puts the photos that look
    like `dogs` in `Home` before the other dogs; a daisy in `Home` stays where its looks put it)."""
    if match >= 1.0:
        return match
    if match < LEAST_WORD_MATCH:
        return 0.0
    return own + (match - own) * closeness


def strong_by(hit: TextHit) -> list[str]:
    """The fields whose words make the hit a strong match (`listing.is_weak`): every field that matched when they
    name it whole (every word of the query: `holiday` for the photos of `2023 Summer Holiday`); else its own
    fields when they hold LEAST_WORD_MATCH of the query (`coin collection.png` for "a collection of ancient
    coins"); never its folder alone (`Home` for "dogs at home": its similarity alone says whether it is strong)."""
    if hit.by_words >= 1.0:
        return hit.matched
    if isinstance(hit, RankedHit) and hit.by_own_words >= LEAST_WORD_MATCH:
        return [name for name in hit.matched if name != "folder"]
    return []


def is_strong(hit: TextHit, strong_from: float | None) -> bool:
    """A strong match by the search API's rule (`listing.is_weak` with `strong_by`); none without a line."""
    return strong_from is not None and not is_weak(hit.similarity, strong_by(hit), strong_from)


def _farness(similarity: float | None, lower_is_better: bool) -> float:
    """A sort key: the closer to the query the lower, a photo of no known similarity last."""
    if similarity is None:
        return float("inf")
    return similarity if lower_is_better else -similarity


def _fields(payload: dict[str, Any], query: set[str], roots: Sequence[PurePath | str], dates: frozenset[str],
            asked: tuple[str, ...] | None) -> dict[str, list[str]]:
    """The photo's words that may match the query: its date words only for the query's `dates` (years and months
    by themselves); for a query of one file name (`asked`), its file name only, and only when it is that file
    (`IMG_0022` asks for `IMG_0022.jpg`, not for `BURST_0022.jpg`, which shares its number)."""
    if asked is not None:
        named = _may_match(query, payload) and names_file(asked, str(payload.get("filename") or ""))
        return {"filename": field_words(payload, roots)["filename"]} if named else {}
    fields = field_words(payload, roots) if _may_match(query, payload) else {}
    if "date" in fields:
        fields["date"] = [word for word in fields["date"] if word in dates]
    return fields


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
    filters: SearchFilters | None, pool: int,
) -> Candidates:
    """The word search of the whole query and the vector search of its content (`content`: what is left once
    its facts and the words that name folders are read), with the similarity of what only the words found."""
    found = Candidates()
    for hit in await word_hits(services, collection, tokens(without_extensions(text))[:MAX_QUERY_TOKENS], pool,
                               filters):
        found.words.append(hit.id)
        found.payloads[hit.id] = hit.payload
    # the folders of the first POOL photos only, however deep a page reaches: every page embeds the same text
    meaning = content(understanding.rest if tokens(understanding.rest) else text,
                      [found.payloads[point_id] for point_id in found.words[:POOL]], services.settings.roots)
    vector = await query_vector(services, info, meaning)
    within = with_facts(filters, understanding)
    for hit in await services.call(services.vectors.search, collection, vector, limit=pool, filters=within):
        found.vector.append(hit.id)
        found.payloads[hit.id] = hit.payload
        found.similarity[hit.id] = hit.score
    found.best = await whole_best(services, collection, vector) if within is not None else (
        found.similarity[found.vector[0]] if found.vector else None)
    missing = [point_id for point_id in found.words if point_id not in found.similarity]
    found.similarity.update(await similarities(services, collection, info, vector, missing))
    return found


def content(meaning: str, found_by_words: Sequence[dict[str, Any]], roots: Sequence[PurePath | str]) -> str:
    """What the photos are to look like: `meaning` without the words that name a folder of the photos its words
    found (`dogs at home` → `dogs`: `home` says where, `Home`, not what), all of it when nothing else is left
    (`holiday`, `day trips`: a query of folder names is matched by them, `rank`)."""
    folders = {token for payload in found_by_words for token in field_words(payload, roots)["folder"]}
    return without_words(meaning, folders) if folders else meaning


async def whole_best(services: Services, collection: str, vector: list[float]) -> float | None:
    """The similarity of the collection's best match for `vector`, no filter applied: the standard a narrowed
    search's strong matches are held to."""
    best = await services.call(services.vectors.search, collection, vector, limit=1, filters=None)
    return best[0].score if best else None


async def query_vector(services: Services, info: CollectionInfo, text: str) -> list[float]:
    # A file name's extension is no meaning: embedded, `.jpg` lifted every photo's similarity by about 0.1
    meaning = without_extensions(text).strip() or text
    vectors, model = await services.ml.embed_texts([meaning], interactive=True)
    check_query_model(info.params.metadata, model)
    check_query_dimension(vectors[0], info.params.vector_size)
    return vectors[0]


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
