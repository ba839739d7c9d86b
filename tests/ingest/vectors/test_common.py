"""The helpers both adapters share (`vectors._common`), on plain records: no store needed."""

from __future__ import annotations

import uuid
from types import SimpleNamespace

import pytest
import qdrant_edge as qe
from qdrant_client import models as qm

from sightline.errors import SightlineError
from sightline.ingest.vectors import Point, SearchFilters
from sightline.ingest.vectors._common import (
    build_filter,
    checked_points,
    facet_by_scroll,
    in_asked_order,
    to_point,
    top_facets,
)


def record(i: int, vector=None, **payload) -> SimpleNamespace:
    return SimpleNamespace(id=uuid.UUID(int=i), vector=vector, payload=payload)


def test_top_facets_drops_zero_counts_and_breaks_ties_by_value():
    counts = {"b": 2, "a": 2, "gone": 0, "c": 5, 7: 1}
    assert top_facets(counts, 10) == [("c", 5), ("a", 2), ("b", 2), ("7", 1)]
    assert top_facets(counts, 2) == [("c", 5), ("a", 2)]


def test_facet_by_scroll_counts_every_page_and_list_values():
    pages = {
        None: ([record(1, k=["x", "y"]), record(2, k="x")], "p2"),
        "p2": ([record(3, k={"not": "counted"}), record(4, k=None), record(5, other="x"), record(6, k=3)], None),
    }
    asked: list = []

    def page(offset):
        asked.append(offset)
        return pages[offset]

    assert facet_by_scroll(page, "k", 10) == [("x", 2), ("3", 1), ("y", 1)]
    assert asked == [None, "p2"]


def test_to_point_takes_the_default_of_named_vectors():
    point = to_point(record(1, {"": (1.0, 2.0)}, a=1), with_vectors=True)
    assert point == Point(str(uuid.UUID(int=1)), [1.0, 2.0], {"a": 1})
    assert to_point(record(1, [1.0]), with_vectors=False).vector is None


def test_in_asked_order():
    wanted = [str(uuid.UUID(int=i)) for i in (3, 1, 2)]
    points = in_asked_order(wanted, [record(1), record(3)], with_vectors=False)
    assert [p.id for p in points] == [wanted[0], wanted[1]]


def test_checked_points_names_the_bad_point():
    good = Point(str(uuid.UUID(int=1)), [1.0, 2.0], {"a": 1})
    assert checked_points([good], 2) == [(good.id, [1.0, 2.0], {"a": 1})]
    with pytest.raises(SightlineError) as exc:
        checked_points([good, Point(str(uuid.UUID(int=2)), [1.0], {})], 2)
    assert exc.value.where == "points[1].vector"


@pytest.mark.parametrize("models, float_range", [(qe, qe.RangeFloat), (qm, qm.Range)], ids=["edge", "qdrant"])
def test_build_filter_for_both_libraries(models, float_range):
    assert build_filter(None, models, float_range) is None
    assert build_filter(SearchFilters(), models, float_range) is None
    built = build_filter(SearchFilters(taken_after=1.0, camera="c"), models, float_range)
    assert isinstance(built, models.Filter)
    assert len(built.must) == 2
