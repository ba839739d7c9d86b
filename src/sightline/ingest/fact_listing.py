"""A query of facts alone ("2019", "canon raw") as a listing, and the pieces text search shares with it.

`list_facts` lists what `hybrid.search_text` answers with `only_facts` (no similarity), page after page as
browsing is: the photos that meet the facts by their own date, camera and format, newest first (the store's
ordered listing), then those that meet one only by their words, newest first (a `2019 Kyoto trip` folder of photos
taken later: at most FACT_WORD_POOL, from the word search), which say by which field (`matched`).

Shared with the ranked search (`hybrid.py`, which imports them from here): the hit both answer with (`TextHit`),
the store's word search (`word_hits`) and the facts a store filter can say (`with_facts`).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import PurePath
from typing import Any

from sightline.ingest.services import Services
from sightline.ingest.understand import Understanding
from sightline.ingest.vectors import ScoredPoint, SearchFilters
from sightline.ingest.words import field_words

logger = logging.getLogger(__name__)

# the photos meeting a fact only by their words a listing takes from the word search (at most)
FACT_WORD_POOL = 1000
FACT_SCAN = 2000  # the store's points one page of it reads at most (a page ends early, with a cursor, past that)
FACT_COUNTS = 32  # the store counts (one per camera and format the facts allow) its total takes at most
STORE_DONE = ""  # a facts-only listing's store cursor once the store's part is all listed


@dataclass
class TextHit:
    """A photo a text search found (`hybrid.rank`) or a facts listing lists (score 0, no similarity)."""

    id: str
    score: float
    payload: dict[str, Any]
    similarity: float | None = None
    matched: list[str] = field(default_factory=list)
    by_words: float = 0.0  # the share of the query's words it holds (`hybrid.word_match`)


@dataclass
class FactPage:
    """A page of a facts-only listing, and where the next one starts (`more`): the store's cursor (None: from the
    start, STORE_DONE: its part is listed) and how many photos that meet a fact only by their words were listed."""

    hits: list[TextHit]
    store: str | None
    by_words_shown: int
    more: bool
    total: int | None = None  # every photo the listing holds; None when not asked for or not known


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


async def list_facts(
    services: Services, collection: str, understanding: Understanding, filters: SearchFilters | None, limit: int,
    *, store: str | None = None, by_words_shown: int = 0, count: bool = False,
) -> FactPage:
    """A page of what a query of facts alone lists (`_listing_page`), from `store` and `by_words_shown` (a
    `FactPage`'s; the first page: neither); `count`: with the listing's `total`."""
    by_words, whole = await held_by_words(services, collection, understanding, filters)
    narrowed = with_facts(filters, understanding) or SearchFilters()
    hits, store, taken = await _listing_page(services, collection, understanding, narrowed, store,
                                             by_words[by_words_shown:], limit)
    shown = by_words_shown + taken
    total = await _fact_total(services, collection, understanding, narrowed) if count and whole else None
    return FactPage(hits, store, shown, store != STORE_DONE or shown < len(by_words),
                    None if total is None else total + len(by_words))


async def held_by_words(services: Services, collection: str, understanding: Understanding,
                        filters: SearchFilters | None) -> tuple[list[TextHit], bool]:
    """The photos that meet every fact, one at least only by their words, newest first; and whether they are
    all there (no word search filled its pool). The word search looks for the facts' words (a format has none);
    a date's own photos hold its words too (their date words): it looks before and after the date, so that
    they leave the pool to the others."""
    query = list(dict.fromkeys(word for fact in understanding.facts for word in fact.words))
    found: dict[str, dict[str, Any]] = {}
    whole = True
    for within in _outside_dates(filters, understanding) if query else []:
        hits = await word_hits(services, collection, query, FACT_WORD_POOL, within)
        whole = whole and len(hits) < FACT_WORD_POOL
        found.update((hit.id, hit.payload) for hit in hits)
    kept = [TextHit(point_id, 0.0, payload, matched=fact_fields(understanding, payload, services.settings.roots))
            for point_id, payload in found.items()
            if understanding.holds(payload) and not understanding.holds_by_value(payload)]
    return sorted(kept, key=lambda hit: _newest_first(hit.id, hit.payload)), whole


def fact_fields(understanding: Understanding, payload: dict[str, Any], roots: Sequence[PurePath | str]) -> list[str]:
    """The fields whose words meet a fact the photo does not meet by value (`2019 Kyoto trip`: its folder)."""
    words = {word for fact in understanding.facts if not fact.holds_by_value(payload) for word in fact.words}
    return [name for name, held in field_words(payload, roots).items() if words.intersection(held)]


def _outside_dates(filters: SearchFilters | None, understanding: Understanding) -> list[SearchFilters | None]:
    """`filters`, and for a date fact: before its range, and after it."""
    span = next((fact.span for fact in understanding.facts if fact.span is not None), None)
    if span is None:
        return [filters]
    base = filters or SearchFilters()
    before, after = math.nextafter(span[0], -math.inf), math.nextafter(span[1], math.inf)
    return [replace(base, taken_before=before if base.taken_before is None else min(before, base.taken_before)),
            replace(base, taken_after=after if base.taken_after is None else max(after, base.taken_after))]


async def _listing_page(services: Services, collection: str, understanding: Understanding, narrowed: SearchFilters,
                        store: str | None, by_words: list[TextHit], limit: int
                        ) -> tuple[list[TextHit], str | None, int]:
    """The first `limit` of the store's listing from `store` (the photos meeting every fact by value, newest first),
    then of `by_words`: the photos taken in 2019 before those only in a `2019` folder. The store's cursor after the
    last of its points read, and how many of `by_words` were taken."""
    page: list[TextHit] = []
    scanned = 0
    while store != STORE_DONE and len(page) < limit and scanned < FACT_SCAN:
        points, after = await _scroll(services, collection, narrowed, store, limit)
        for read, point in enumerate(points, 1):
            if understanding.holds_by_value(point.payload):
                page.append(TextHit(point.id, 0.0, point.payload))
            if len(page) == limit and read < len(points):  # the page ends here: the cursor after the points read
                return page, (await _scroll(services, collection, narrowed, store, read))[1], 0
        scanned += len(points)
        store = after if after is not None else STORE_DONE
    taken = 0
    if store == STORE_DONE:
        taken = min(limit - len(page), len(by_words))
        page.extend(by_words[:taken])
    return page, store, taken


async def _scroll(services: Services, collection: str, narrowed: SearchFilters, store: str | None,
                  limit: int) -> tuple[list[Any], str | None]:
    return await services.call(services.vectors.scroll_ordered, collection, order_key="sort_ts", descending=True,
                               limit=limit, cursor=store or None, filters=narrowed)


def _newest_first(point_id: str, payload: dict[str, Any]) -> tuple[int, float, str]:
    """A photo's place in the store's newest-first order: by `sort_ts`, ties by id, the undated last."""
    moment = payload.get("sort_ts")
    if isinstance(moment, (int, float)) and not isinstance(moment, bool) and math.isfinite(moment):
        return 0, -float(moment), point_id
    return 1, 0.0, point_id


async def _fact_total(services: Services, collection: str, understanding: Understanding,
                      narrowed: SearchFilters) -> int | None:
    """How many photos meet every fact by value: one store count per camera and format the facts allow (a
    photo has one of each); None when that takes more than FACT_COUNTS counts."""
    sets = [narrowed]
    for fact in understanding.facts:
        if fact.kind == "camera":
            sets = [replace(filters, camera=value) for filters in sets for value in sorted(fact.values)
                    if filters.camera in (None, value)]
        elif fact.kind == "format":
            sets = [replace(filters, format=value) for filters in sets for value in sorted(fact.values)
                    if filters.format in (None, value)]
    if len(sets) > FACT_COUNTS:
        return None
    return sum([await services.call(services.vectors.count, collection, filters) for filters in sets])
