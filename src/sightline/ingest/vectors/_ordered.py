"""Paging in the order of a float payload field (`VectorStore.scroll_ordered`): the cursor and the walk
that both adapters share; each adapter supplies an `OrderedSource` over its own engine.

The order: points with a number in ``order_key``, by that number (descending or ascending), ties by id
(ascending, in either direction); then the points without a number there (field missing, null, or not a
number), by id. So a point that lacks the field still shows up, after all the others, and never vanishes
from browsing.

A cursor is the position of the last point returned, ``(value, id)`` (value None in the second phase),
as URL-safe base64 of ``{"k": order_key, "d": descending, "v": value, "i": id}``. The next page holds the
points strictly after that position, read afresh: points added or removed between pages are never
returned twice and never push a point that stayed out of the listing. Anything that is not such a
cursor for this order is a 422 ``VALIDATION_ERROR`` (``where="cursor"``).

Why not the engine's ``start_from`` alone: it is inclusive and says nothing about the order of equal
values, so a page that ends inside a run of equal values is completed by the id-ordered points of that
value (an equality range, served by the field's index), and the next page starts with the rest of them.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
from typing import Any, NamedTuple, Protocol

from sightline.errors import SightlineError
from sightline.ingest.vectors.base import INDEXED_FLOAT_FIELDS, Point, canonical_id, validation_error

MAX_CURSOR_LENGTH = 512
LOWEST = -1.7976931348623157e308
"""The lowest double: every number is at least this, so ``not (value >= LOWEST)`` means "no number"."""


class OrderedSource(Protocol):
    """What the walk asks of a backend, for one collection, ``order_key``, direction and set of filters."""

    def range(self, **bounds: float) -> Any:
        """A condition: ``order_key`` is a number within ``bounds`` (``gt``, ``gte``, ``lt``, ``lte``)."""

    def ordered(self, must: list[Any], limit: int) -> list[Point]:
        """Up to ``limit`` points meeting ``must`` (and the filters), by ``order_key`` in the walk's
        direction (the order of equal values does not matter)."""

    def by_id(self, must: list[Any], must_not: list[Any], offset: str | None, limit: int) -> list[Point]:
        """Up to ``limit`` points meeting the conditions (and the filters) with ids from ``offset``
        (inclusive) on, in id order."""


class Position(NamedTuple):
    value: float | None  # None: among the points without a value
    id: str


def check_order_key(order_key: Any) -> str:
    if order_key not in INDEXED_FLOAT_FIELDS:
        raise validation_error(f"order_key must be one of {', '.join(INDEXED_FLOAT_FIELDS)}", "order_key")
    return order_key


def encode_cursor(order_key: str, descending: bool, position: Position) -> str:
    data = {"k": order_key, "d": descending, "v": position.value, "i": position.id}
    return base64.urlsafe_b64encode(json.dumps(data, separators=(",", ":")).encode()).decode().rstrip("=")


def decode_cursor(cursor: Any, order_key: str, descending: bool) -> Position:
    """The position a cursor of this order stands for; a 422 for anything else."""
    try:
        if not isinstance(cursor, str) or len(cursor) > MAX_CURSOR_LENGTH:
            raise ValueError("not a cursor string")
        data = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        value = data["v"]
        if data["k"] != order_key or data["d"] is not descending:
            raise ValueError("a cursor of another order")
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))
                                  or not math.isfinite(value)):
            raise ValueError("a bad value")
        return Position(None if value is None else float(value), canonical_id(data["i"]))
    except (ValueError, TypeError, KeyError, binascii.Error, UnicodeDecodeError) as e:
        raise validation_error(f"invalid cursor ({e}); pass the next_cursor of the previous page", "cursor") from None
    except SightlineError as e:  # a bad id
        raise validation_error(f"invalid cursor ({e.message})", "cursor") from None


def value_of(point: Point, order_key: str) -> float:
    return float(point.payload[order_key])


def page(
    source: OrderedSource, order_key: str, descending: bool, limit: int, cursor: str | None
) -> tuple[list[Point], str | None]:
    """A page of at most ``limit`` points after ``cursor`` and the cursor of the next page (None after
    the last). One point more than asked is read, so the last page says it is the last."""
    position = None if cursor is None else decode_cursor(cursor, order_key, descending)
    want = limit + 1
    points: list[Point] = []
    if position is None or position.value is not None:
        points = _with_values(source, order_key, descending, position, want)
    if len(points) < want:
        after = position.id if position is not None and position.value is None else None
        points += _after(source.by_id([], [source.range(gte=LOWEST)], after, want - len(points) + 1), after)
    if len(points) <= limit:
        return points, None
    last = points[limit - 1]
    value = value_of(last, order_key) if _has_value(last, order_key) else None
    return points[:limit], encode_cursor(order_key, descending, Position(value, last.id))


def _has_value(point: Point, order_key: str) -> bool:
    value = point.payload.get(order_key)
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _with_values(
    source: OrderedSource, order_key: str, descending: bool, position: Position | None, want: int
) -> list[Point]:
    """Up to ``want`` points with a value, after ``position``, in order."""
    points: list[Point] = []
    beyond: dict[str, float] = {}
    if position is not None:
        assert position.value is not None
        points = _ties(source, position.value, position.id, want)
        beyond = {"lt" if descending else "gt": position.value}
    if len(points) >= want:
        return points
    rest = source.ordered([source.range(**beyond)] if beyond else [source.range(gte=LOWEST)], want - len(points))
    if len(rest) == want - len(points):  # a full page may end inside a run of equal values: complete it by id
        edge = value_of(rest[-1], order_key)
        rest = [p for p in rest if value_of(p, order_key) != edge]
        rest += _ties(source, edge, None, want - len(points) - len(rest))
    rest.sort(key=lambda p: (-value_of(p, order_key) if descending else value_of(p, order_key), p.id))
    return points + rest


def _ties(source: OrderedSource, value: float, after: str | None, limit: int) -> list[Point]:
    """Up to ``limit`` points whose value is ``value``, ids after ``after``, in id order."""
    if limit <= 0:
        return []
    return _after(source.by_id([source.range(gte=value, lte=value)], [], after, limit + 1), after)[:limit]


def _after(points: list[Point], after: str | None) -> list[Point]:
    """Drop the point at the (inclusive) offset itself."""
    return [p for p in points if p.id != after]
