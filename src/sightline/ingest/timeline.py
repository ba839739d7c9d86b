"""What a collection holds by date and by folder, for browsing: the months (and years) with photos and their
counts, the folder tree; each worked out once and kept until the collection changes.

Months are calendar months in UTC of `sort_ts` (the taken date, else the file's time): EXIF times without an
offset are stored as UTC, so "June 2023" is the June the camera showed. They are counted with the store's
indexed range filter, a year at a time and then only inside the years that hold photos, so the work grows with
the span of years, not with the number of photos.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from threading import Lock
from typing import Any

from sightline.ingest.vectors import SearchFilters, VectorStore


@dataclass(frozen=True)
class Period:
    key: str  # "2023" or "2023-06"
    count: int


def _start(year: int, month: int = 1) -> float:
    if month > 12:
        year, month = year + 1, month - 12
    return datetime(year, month, 1, tzinfo=timezone.utc).timestamp()


@dataclass(frozen=True)
class _Counter:
    store: VectorStore
    name: str
    filters: SearchFilters

    def count(self, start: float, end: float) -> int:
        """Points the filters keep whose sort_ts is in [start, end) (the store's range is inclusive: it ends
        just before `end`), within the filters' own dates."""
        after, before = self.filters.taken_after, self.filters.taken_before
        low = start if after is None else max(start, after)
        high = math.nextafter(end, -math.inf) if before is None else min(math.nextafter(end, -math.inf), before)
        if low > high:
            return 0
        return self.store.count(self.name, replace(self.filters, taken_after=low, taken_before=high))

    def edge(self, descending: bool) -> datetime | None:
        points, _ = self.store.scroll_ordered(self.name, order_key="sort_ts", descending=descending, limit=1,
                                              filters=self.filters)
        stamp = points[0].payload.get("sort_ts") if points else None
        return None if stamp is None else datetime.fromtimestamp(stamp, timezone.utc)


def months(store: VectorStore, name: str, filters: SearchFilters | None = None) -> dict[str, Any]:
    """The years and months that hold photos the filters keep, newest first, with their counts; `undated`:
    photos without a sort_ts (none for points ingested since it exists)."""
    counter = _Counter(store, name, filters or SearchFilters())
    newest, oldest = counter.edge(True), counter.edge(False)
    years: list[Period] = []
    found: list[Period] = []
    if newest is not None and oldest is not None:
        for year in range(newest.year, oldest.year - 1, -1):
            in_year = counter.count(_start(year), _start(year + 1))
            if in_year:
                years.append(Period(str(year), in_year))
                found += _months_of(counter, year, oldest, newest)
    undated = store.count(name, filters) - sum(year.count for year in years)
    return {"years": [vars(year) for year in years], "months": [vars(month) for month in found],
            "undated": max(undated, 0)}


def _months_of(counter: _Counter, year: int, oldest: datetime, newest: datetime) -> list[Period]:
    last = newest.month if year == newest.year else 12
    first = oldest.month if year == oldest.year else 1
    out = []
    for month in range(last, first - 1, -1):
        count = counter.count(_start(year, month), _start(year, month + 1))
        if count:
            out.append(Period(f"{year}-{month:02d}", count))
    return out


class ViewCache:
    """Answers worked out from a whole collection, per (what, collection), kept while its marker stays the same;
    the `LIMIT` latest only."""

    LIMIT = 256

    def __init__(self) -> None:
        self._lock = Lock()
        self._kept: dict[tuple[str, str], tuple[Hashable, Any]] = {}

    def get(self, what: str, name: str, marker: Hashable, compute: Callable[[], Any]) -> Any:
        with self._lock:
            kept = self._kept.get((what, name))
        if kept is not None and kept[0] == marker:
            return kept[1]
        value = compute()
        with self._lock:
            self._kept.pop((what, name), None)
            self._kept[(what, name)] = (marker, value)
            while len(self._kept) > self.LIMIT:
                del self._kept[next(iter(self._kept))]
        return value
