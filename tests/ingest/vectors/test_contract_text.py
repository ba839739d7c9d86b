"""The `VectorStore` contract, word search and batch search, against both adapters."""

from __future__ import annotations

import pytest

from sightline.errors import SightlineError
from sightline.ingest.vectors import Point, SearchFilters, VectorStore
from tests.ingest.vectors.data import DIM, N, POINTS, pid, vec

# --------------------------------------------------------------------------------------------------
# Word search

DOCS = {
    0: "red car beach",
    1: "red car",
    2: "red",
    3: "blue sky",
    4: "sunset sky",
    5: None,  # no words at all
}


@pytest.fixture()
def docs(scratch: VectorStore) -> VectorStore:
    points = [
        Point(pid(i), vec(i), {"camera": "A" if i % 2 else "B", **({"words": w} if w else {})})
        for i, w in DOCS.items()
    ]
    scratch.upsert("c", points)
    return scratch


def test_search_text_ranks_by_words_matched(docs: VectorStore):
    hits = docs.search_text("c", "red car beach")
    assert [h.id for h in hits[:3]] == [pid(0), pid(1), pid(2)]
    assert {h.id for h in hits} == {pid(0), pid(1), pid(2)}  # 3 and 4 share no word, 5 has none
    scores = [h.score for h in hits]
    assert scores == sorted(scores, reverse=True) and scores[0] > scores[1] > scores[2] > 0
    assert hits[0].payload == {"camera": "B", "words": "red car beach"}


def test_search_text_ignores_case_and_punctuation(docs: VectorStore):
    assert {h.id for h in docs.search_text("c", "  RED, Sky!")} == {pid(0), pid(1), pid(2), pid(3), pid(4)}


def test_search_text_limit_and_filters(docs: VectorStore):
    assert len(docs.search_text("c", "red car beach", limit=2)) == 2
    hits = docs.search_text("c", "red beach", filters=SearchFilters(camera="A"))
    assert [h.id for h in hits] == [pid(1)]


@pytest.mark.parametrize("text", ["", "  ", "?!", "nothing matches"])
def test_search_text_without_a_match_finds_nothing(docs: VectorStore, text: str):
    assert docs.search_text("c", text) == []


def test_search_text_on_payloads_of_the_pipeline(shared: VectorStore):
    hits = shared.search_text("photos", "nikon", limit=N)
    assert sorted(h.id for h in hits) == sorted(p.id for p in POINTS if p.payload["camera"] == "Nikon Z6")


@pytest.mark.parametrize("kwargs, where", [({"text": 3}, "text"), ({"limit": 0}, "limit")], ids=["text", "limit"])
def test_search_text_refuses_bad_input(shared: VectorStore, kwargs: dict, where: str):
    args = {"text": "photo", **kwargs}
    with pytest.raises(SightlineError) as exc:
        shared.search_text("photos", args.pop("text"), **args)
    assert exc.value.status == 422 and exc.value.where == where


# --------------------------------------------------------------------------------------------------
# Batch search

QUERIES = [vec(0), vec(5), [5.0 * x for x in vec(13)], vec(22)]


@pytest.mark.parametrize(
    "kwargs",
    [{"limit": 5}, {"limit": 3, "score_threshold": 0.5}, {"limit": N, "filters": SearchFilters(camera="Nikon Z6")}],
    ids=["plain", "threshold", "filter"],
)
def test_search_batch_equals_single_searches(shared: VectorStore, kwargs: dict):
    batch = shared.search_batch("photos", QUERIES, **kwargs)
    assert len(batch) == len(QUERIES)
    for query, hits in zip(QUERIES, batch, strict=True):
        single = shared.search("photos", query, **kwargs)
        assert [h.id for h in hits] == [h.id for h in single]
        assert [h.score for h in hits] == pytest.approx([h.score for h in single], abs=1e-5)
        assert [h.payload for h in hits] == [h.payload for h in single]


def test_search_batch_of_nothing(shared: VectorStore):
    assert shared.search_batch("photos", []) == []


@pytest.mark.parametrize(
    "vectors, kwargs, where",
    [([vec(0), [1.0]], {}, "vectors[1]"), ([vec(0)], {"limit": 0}, "limit"), ([[0.0] * (DIM + 1)], {}, "vectors[0]")],
    ids=["short", "limit", "long"],
)
def test_search_batch_refuses_bad_input(shared: VectorStore, vectors: list, kwargs: dict, where: str):
    with pytest.raises(SightlineError) as exc:
        shared.search_batch("photos", vectors, **kwargs)
    assert exc.value.status == 422 and exc.value.where == where


def test_search_text_uses_the_first_words_of_a_long_query(docs: VectorStore):
    long_query = " ".join(f"filler{i}" for i in range(100)) + " red"
    assert docs.search_text("c", long_query) == []  # "red" is past the words used
    assert {h.id for h in docs.search_text("c", "red " + long_query)} == {pid(0), pid(1), pid(2)}
