"""Facts in a search query: a date, a camera, a file format (issue 14).

`understand("canon june 2023", cameras)` reads `june 2023` as a date range and `canon` as the camera make of
some of the collection's cameras (`cameras`: its facet of camera names), and leaves `rest` (here empty) for the
vector search. Each fact is a constraint every hit must meet and a chip the UI shows (`Fact.chip()`:
``{"kind", "text", "filter", "searched_in"}``, the last saying in words where a photo may meet it); removing a
chip means searching again without the chip's `text`.

How a fact holds, forgiving what a library really looks like:
- a date: the photo's date (`sort_ts`: when it was taken, else the file's time) is in the range, or its words
  hold every number and month of the fact (a folder named `2019 Kyoto trip`);
- a camera: the photo's camera is one of the make's cameras, or its words hold the make;
- a format: the photo's format is one of the fact's (`raw` is every raw format, `heic` is `heif`).
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from sightline.ingest.schemas import FORMAT_ALIASES
from sightline.imaging.formats import SUPPORTED_FORMATS
from sightline.ingest.words import CLOSING, MONTHS, OPENING, tokens

_YEAR = r"(19\d\d|20\d\d)"
_MONTH = "(" + "|".join([*MONTHS, *(m[:3] for m in MONTHS if len(m) > 3), "sept"]) + r")\.?"
# A date is words by themselves: a year inside a name (`IMG_2019`, `IMG.2019`, `2019.jpg`, `2019-06-14_party`)
# is a file's number or name, not a fact (the rule `words.date_tokens` follows for the photos' date words).
_ALONE_BEFORE = rf"(?<![^\s{re.escape(OPENING)}])"
_ALONE_AFTER = rf"(?=[{re.escape(CLOSING)}]*(?:\s|$))"
# the date forms understood, most specific first: a range of years, a month and year, a year
_DATE_FORMS = (
    ("years", rf"{_YEAR}\s*(?:-|–|to|until)\s*{_YEAR}"),
    ("month", rf"{_MONTH},?\s+{_YEAR}"),
    ("iso_month", rf"{_YEAR}-(0[1-9]|1[0-2])"),
    ("year", _YEAR),
)
_DATE_PATTERNS = tuple((form, re.compile(_ALONE_BEFORE + pattern + _ALONE_AFTER, re.IGNORECASE))
                       for form, pattern in _DATE_FORMS)
_FORMAT_WORDS: dict[str, tuple[str, ...]] = {
    **{name: (name,) for name in SUPPORTED_FORMATS if name != "raw"},
    **{alias: (name,) for alias, name in FORMAT_ALIASES.items()},
    "raw": ("raw", "dng"),
}
_FORMAT = re.compile(r"(?<![\w.])\.?(" + "|".join(sorted(_FORMAT_WORDS, key=len, reverse=True)) + r")\b",
                     re.IGNORECASE)
# makes that are everyday words ("apple pie"): their cameras are named by the model's first word instead
AMBIGUOUS_MAKES = frozenset({"apple", "google"})


@dataclass(frozen=True)
class Fact:
    kind: str  # "date" | "camera" | "format"
    text: str  # the words of the query it was read from
    filter: dict[str, Any]  # shown on the chip, in the search API's filter names
    span: tuple[float, float] | None = None  # date: unix seconds, inclusive
    values: frozenset[str] = frozenset()  # camera: camera names; format: payload formats
    words: tuple[str, ...] = ()  # tokens whose presence in a photo's words also meets the fact

    def chip(self) -> dict[str, Any]:
        return {"kind": self.kind, "text": self.text, "filter": self.filter, "searched_in": self.searched_in}

    @property
    def searched_in(self) -> str:
        """Where a photo may meet it (`holds`), in words: `2019` is met by a folder `2019 Kyoto trip` too."""
        return f"the photo's {self.kind}" + (", or its folder and file names" if self.words else "")

    def holds(self, payload: dict[str, Any], photo_words: set[str]) -> bool:
        return bool(self.words) and photo_words.issuperset(self.words) or self.holds_by_value(payload)

    def holds_by_value(self, payload: dict[str, Any]) -> bool:
        """By the photo's own date, camera or format (what a store filter can say), its words aside."""
        if self.kind == "date":
            assert self.span is not None
            moment = payload.get("sort_ts")
            return isinstance(moment, (int, float)) and self.span[0] <= moment <= self.span[1]
        key = "camera" if self.kind == "camera" else "format"
        return payload.get(key) in self.values


@dataclass
class Understanding:
    facts: list[Fact] = field(default_factory=list)
    rest: str = ""  # the query without the facts' words

    def chips(self) -> list[dict[str, Any]]:
        return [fact.chip() for fact in self.facts]

    @property
    def only_facts(self) -> bool:
        """The query was facts alone ("2019", "canon raw"): it asks for a listing, not a meaning."""
        return bool(self.facts) and not tokens(self.rest)

    def holds(self, payload: dict[str, Any]) -> bool:
        photo_words = set(str(payload.get("words") or "").split())
        return all(fact.holds(payload, photo_words) for fact in self.facts)

    def holds_by_value(self, payload: dict[str, Any]) -> bool:
        return all(fact.holds_by_value(payload) for fact in self.facts)


def understand(text: str, cameras: Iterable[str] = ()) -> Understanding:
    """The facts in `text` (at most one of each kind) and what is left of it."""
    facts: list[Fact] = []
    rest = text
    for read in (_date_fact, _format_fact, lambda t: _camera_fact(t, cameras)):
        found = read(rest)
        if found is not None:
            fact, (start, end) = found
            facts.append(fact)
            rest = rest[:start] + " " + rest[end:]
    return Understanding(facts, " ".join(rest.split()))


def _date_fact(text: str) -> tuple[Fact, tuple[int, int]] | None:
    for form, pattern in _DATE_PATTERNS:
        match = pattern.search(text)
        if match is not None:
            first, last, words = _date_range(form, match.groups())
            span = (_utc(first), _utc(last))
            filter_ = {"taken_after": _iso(span[0]), "taken_before": _iso(span[1])}
            return Fact("date", match.group(0), filter_, span=span, words=words), match.span()
    return None


def _date_range(form: str, groups: tuple[str, ...]) -> tuple[datetime, datetime, tuple[str, ...]]:
    """First and last second of the date `form` matched, and the words that name it."""
    if form == "years":
        first, last = sorted((int(groups[0]), int(groups[1])))
        return datetime(first, 1, 1), _month_end(last, 12), ()
    if form == "year":
        year = int(groups[0])
        return datetime(year, 1, 1), _month_end(year, 12), (str(year),)
    year, month = (int(groups[1]), _month_number(groups[0])) if form == "month" else (int(groups[0]),
                                                                                       int(groups[1]))
    return datetime(year, month, 1), _month_end(year, month), (MONTHS[month - 1], str(year))


def _month_number(name: str) -> int:
    return next(i for i, month in enumerate(MONTHS, start=1) if month.startswith(name.lower().rstrip(".")[:3]))


def _month_end(year: int, month: int) -> datetime:
    return datetime(year, month, calendar.monthrange(year, month)[1], 23, 59, 59)


def _utc(moment: datetime) -> float:
    return moment.replace(tzinfo=timezone.utc).timestamp()


def _iso(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, timezone.utc).isoformat().replace("+00:00", "Z")


def _format_fact(text: str) -> tuple[Fact, tuple[int, int]] | None:
    match = _FORMAT.search(text)
    if match is None:
        return None
    formats = _FORMAT_WORDS[match.group(1).lower()]
    filter_ = {"format": formats[0]} if len(formats) == 1 else {"format": list(formats)}
    return Fact("format", match.group(0), filter_, values=frozenset(formats)), match.span()


def _camera_fact(text: str, cameras: Iterable[str]) -> tuple[Fact, tuple[int, int]] | None:
    by_key: dict[str, list[str]] = {}
    for camera in cameras:
        words = camera.lower().split()
        if words:
            key = words[1] if words[0] in AMBIGUOUS_MAKES and len(words) > 1 else words[0]
            by_key.setdefault(key, []).append(camera)
    for match in re.finditer(r"[^\W_]+", text):
        found = by_key.get(match.group(0).lower())
        if found:
            filter_ = {"camera": found[0]} if len(found) == 1 else {"camera": sorted(found)}
            fact = Fact("camera", match.group(0), filter_, values=frozenset(found),
                        words=(match.group(0).lower(),))
            return fact, match.span()
    return None
