"""What only the qdrant-client adapter does: describe collections other tools made, and tell which
settings a server did not apply."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from qdrant_client import models as qm

from sightline.ingest.vectors import CollectionParams
from sightline.ingest.vectors._qdrant_queries import add_missing_indexes
from sightline.ingest.vectors.base import INDEXED_FLOAT_FIELDS, INDEXED_KEYWORD_FIELDS, INDEXED_TEXT_FIELDS
from sightline.ingest.vectors.qdrant import QdrantStore, ignored_params


@pytest.fixture()
def local(tmp_path: Path) -> Iterator[QdrantStore]:
    with QdrantStore(path=tmp_path / "qdrant") as store:
        yield store


def test_collections_of_other_tools_are_described_from_their_config(local: QdrantStore):
    client = local._client
    client.create_collection("foreign", vectors_config=qm.VectorParams(size=4, distance=qm.Distance.DOT))
    client.create_collection("not a sightline name", vectors_config=qm.VectorParams(size=4, distance=qm.Distance.DOT))
    (info,) = local.list_collections()  # the name Sightline would refuse is not listed
    assert info.name == "foreign"
    assert info.params == CollectionParams(vector_size=4, distance="Dot")
    assert info.ignored_params == ["hnsw_m", "hnsw_ef_construct"]


def test_a_server_reports_what_it_did_not_apply():
    wanted = CollectionParams(vector_size=8, hnsw_m=32, quantization="int8")
    applied = CollectionParams(vector_size=8, hnsw_m=16, quantization="int8")
    assert ignored_params(wanted, applied, local=False) == ["hnsw_m"]
    assert ignored_params(wanted, None, local=False) == []  # named vectors: nothing to compare
    assert ignored_params(wanted, applied, local=True) == ["hnsw_m", "hnsw_ef_construct", "quantization"]


class RecordingClient:
    def __init__(self) -> None:
        self.indexed: dict[str, object] = {}

    def create_payload_index(self, name: str, key: str, *, field_schema: object, wait: bool) -> None:
        assert name == "c" and wait
        self.indexed[key] = field_schema


def test_a_server_collection_gets_the_indexes_it_lacks():
    client = RecordingClient()
    add_missing_indexes(client, "c", existing={"camera", "path"})  # type: ignore[arg-type]
    assert set(client.indexed) == set(INDEXED_KEYWORD_FIELDS + INDEXED_FLOAT_FIELDS + INDEXED_TEXT_FIELDS) - {
        "camera", "path"
    }
    assert client.indexed["sort_ts"] == qm.PayloadSchemaType.FLOAT  # a range index: order_by needs one
    words = client.indexed["words"]
    assert isinstance(words, qm.TextIndexParams) and words.tokenizer == qm.TokenizerType.WORD and words.lowercase
