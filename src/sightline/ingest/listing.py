"""Pages of results: the opaque cursor every search and listing answer carries, and where the strong
matches of a search end.

A cursor is URL-safe base64 of a small JSON object: the mode it belongs to and either the store's own
cursor (a listing, newest or oldest first) or an offset (a search) with the best similarity of the first
page, so that every page draws the "weaker matches" line at the same place.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any

from sightline.errors import ErrorCode, SightlineError

Mode = str  # "browse" | "text" | "similar" | "image"


@dataclass(frozen=True)
class Cursor:
    mode: Mode
    offset: int = 0  # searches: hits already shown
    best: float | None = None  # searches: the top similarity of the first page
    weak: bool = False  # searches: the weaker matches have begun
    store: str | None = None  # listings: the vector store's own cursor
    order: str | None = None  # listings: "newest" | "oldest"

    def encode(self) -> str:
        fields = {"m": self.mode, "o": self.offset, "b": self.best, "w": self.weak or None, "s": self.store,
                  "d": self.order}
        text = json.dumps({key: value for key, value in fields.items() if value is not None}, separators=(",", ":"))
        return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def decode_cursor(raw: str | None, mode: Mode, order: str | None = None) -> Cursor | None:
    """The cursor a client sent back, checked against the request it comes with; a 422 when it is not one
    of ours or belongs to another kind of request."""
    if raw is None:
        return None
    try:
        data = json.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))
        cursor = Cursor(mode=data["m"], offset=int(data.get("o", 0)), best=_float(data.get("b")),
                        weak=bool(data.get("w")), store=data.get("s"), order=data.get("d"))
    except (ValueError, KeyError, TypeError, AttributeError, binascii.Error, UnicodeDecodeError):
        raise _bad_cursor("This cursor is not one Sightline gave out.") from None
    if cursor.mode != mode or cursor.order != order or cursor.offset < 0:
        raise _bad_cursor("This cursor belongs to another search; start again without it.")
    if cursor.store is not None and not isinstance(cursor.store, str):
        raise _bad_cursor("This cursor is not one Sightline gave out.")
    return cursor


def _float(value: Any) -> float | None:
    return None if value is None else float(value)


def _bad_cursor(message: str) -> SightlineError:
    return SightlineError(ErrorCode.VALIDATION_ERROR, message, where="cursor", status=422)


@dataclass(frozen=True)
class StrongRule:
    """A hit is a strong match when its similarity is at least `floor` and at least `ratio` × the best one (or
    when its words matched the query: `is_weak`). `floor` is absolute: a query that means nothing to the model
    (`IMG_0022`) has a best similarity below it, so only the photos its words found are strong."""

    floor: float
    ratio: float

    def cut(self, best: float | None) -> float:
        return self.floor if best is None else max(self.floor, best * self.ratio)


# Measured with bench/strong_matches.py on bench/quality.py's 28 real photos and 34 text queries, and 12 queries
# that mean nothing to a model (camera file names, gibberish). lite: the expected photo comes first for 71 % of
# the queries, but its similarity (median 0.45) is close to the best unrelated one (median 0.35): relative to the
# best hit, 0.85 × best keeps the expected photo among the strong ones for 85 % of the queries (1.9 strong photos
# a query, precision 0.48) with a floor of 0.25, but then a noise query makes 4.3 photos strong on average (those
# starting `IMG_` reach 0.36-0.40; `IMG_0022` made 39 of 78 strong in the walk-through). The floor is the lowest
# at which no noise query has a strong photo, 0.40 (their best reaches 0.399): recall 62 %, 1.1 strong photos a
# query, precision 0.58 (0.35 would give 65 % with 1.7 noise photos strong; a hit its words found stays strong).
# tiny (random weights): similarities say nothing; 0.9 × best keeps a handful strong.
STRONG_RULES: dict[str, StrongRule] = {
    "lite": StrongRule(floor=0.40, ratio=0.85),
    "tiny": StrongRule(floor=0.0, ratio=0.9),
}
DEFAULT_RULE = StrongRule(floor=0.0, ratio=0.8)  # other backends (CLIP): relative to the best only

# Searches by an image ("image", and "similar": More like this): image-to-image similarities run far above
# text-to-image ones, so the text rule made most of a collection strong (the walk-through: 73 of 120 for a photo
# unlike any of them). Measured by bench/strong_matches.py: each of the 28 photos searched among the others
# (noise) and its copies (re-encoded at 60 %, the middle 80 %, brightened ×1.3) among all. lite: a photo's best
# other photo has a median similarity of 0.85 (the text rule made 9.9 photos a query strong); copies reach their
# original at 0.91-1.0 (median 0.98; one crop, the retina's, 0.82). Floor 0.90, ratio 0.95: copy recall 0.99,
# 0.21 strong photos a noise query, all of them look-alikes (the two cats 0.97, tent and pagoda 0.94, deep field
# and moon 0.90; the best unrelated pair 0.89); no noise pair passes only from 0.98, where copy recall is 0.62.
# tiny (random weights): every photo is 0.95-1.0 from every other; 0.99 × best keeps a handful strong.
# Other backends (CLIP): unmeasured, relative to the best only.
IMAGE_RULES: dict[str, StrongRule] = {
    "lite": StrongRule(floor=0.90, ratio=0.95),
    "tiny": StrongRule(floor=0.0, ratio=0.99),
}
DEFAULT_IMAGE_RULE = StrongRule(floor=0.0, ratio=0.9)
IMAGE_MODES = frozenset({"image", "similar"})


def strong_cut(backend: str | None, best: float | None, mode: Mode = "text") -> float:
    """The similarity from which a hit counts as a strong match, for this backend, this kind of search (by
    text, or by an image: `IMAGE_MODES`) and this query."""
    if mode in IMAGE_MODES:
        return IMAGE_RULES.get(backend or "", DEFAULT_IMAGE_RULE).cut(best)
    return STRONG_RULES.get(backend or "", DEFAULT_RULE).cut(best)


# matched fields that do not make a hit strong: a format says what kind of file, not which photo (`jpg` in
# `guitar.jpg` used to make every JPEG strong)
NOT_STRONG_BY = frozenset({"format"})


def is_weak(similarity: float | None, matched: list[str], cut: float) -> bool:
    """Weaker than the strong matches: below the cut, and not found by its words either (a format aside)."""
    if not NOT_STRONG_BY.issuperset(matched):
        return False
    return similarity is None or similarity < cut


def weak_flags(hits: list[tuple[float | None, list[str]]], cut: float, begun: bool) -> list[bool]:
    """Which hits (similarity, matched words), in rank order, are weaker matches: from the first weak one on
    (`begun`: on an earlier page already), so the strong ones are one run at the top."""
    flags = []
    for similarity, matched in hits:
        begun = begun or is_weak(similarity, matched, cut)
        flags.append(begun)
    return flags
