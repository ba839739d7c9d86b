"""`open_store()`: which adapter a configuration opens."""

from __future__ import annotations

from pathlib import Path

import pytest

from sightline.errors import SightlineError
from sightline.ingest.vectors import open_store
from sightline.ingest.vectors.edge import EdgeStore


def test_no_url_opens_the_embedded_store(tmp_path: Path):
    with open_store(tmp_path, flush_interval_s=2.5) as store:
        assert isinstance(store, EdgeStore)
        assert store.root == tmp_path / "collections"
        assert store.flush_interval_s == 2.5


def test_local_url_opens_qdrant_local_mode(tmp_path: Path):
    from sightline.ingest.vectors.qdrant import QdrantStore

    with open_store(tmp_path, qdrant_url=f"local:{tmp_path / 'q'}") as store:
        assert isinstance(store, QdrantStore) and store.local
    assert (tmp_path / "q").is_dir()


@pytest.mark.parametrize("url", ["ftp://x", "qdrant:6333", "local:"])
def test_bad_urls_refused(tmp_path: Path, url: str):
    with pytest.raises(SightlineError) as exc:
        open_store(tmp_path, qdrant_url=url)
    assert exc.value.status == 422 and exc.value.where == "qdrant_url"
