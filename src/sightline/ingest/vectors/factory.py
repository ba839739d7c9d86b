"""`open_store()`: the configured vector store."""

from __future__ import annotations

from pathlib import Path

from sightline.ingest.vectors.base import VectorStore, validation_error
from sightline.ingest.vectors.edge import EdgeStore


def open_store(
    data_dir: Path,
    qdrant_url: str | None = None,
    qdrant_api_key: str | None = None,
    *,
    flush_interval_s: float = 0.0,
    own_process: bool = False,
) -> VectorStore:
    """Open the configured vector store.

    - ``qdrant_url`` None: the embedded edge store under ``data_dir / "collections"``, flushing its
      segments at most every ``flush_interval_s`` seconds (0: after every write; see `EdgeStore`); with
      ``own_process``, in a child process (`EdgeProcessStore`).
    - ``"local:<path>"``: qdrant-client local mode at ``<path>`` (one process only; for tests).
    - ``http(s)://...``: a Qdrant server (``qdrant_api_key`` sent as its API key).
    """
    if not qdrant_url:
        if own_process:
            # Imported here: `python -m` runs it as the launcher, which must not find it imported already.
            from sightline.ingest.vectors.edge_process import EdgeProcessStore

            return EdgeProcessStore(Path(data_dir) / "collections", flush_interval_s=flush_interval_s)
        return EdgeStore(Path(data_dir) / "collections", flush_interval_s=flush_interval_s)
    if qdrant_url.startswith("local:"):
        path = qdrant_url[len("local:") :]
        if not path:
            raise validation_error("local: needs a path, as in local:/var/lib/sightline/qdrant", "qdrant_url")
        return _qdrant_store(path=Path(path))
    if qdrant_url.startswith(("http://", "https://")):
        return _qdrant_store(url=qdrant_url, api_key=qdrant_api_key)
    raise validation_error(
        f"qdrant_url must be http(s)://host:port or local:<path>, not {qdrant_url!r}", "qdrant_url"
    )


def _qdrant_store(*, url: str | None = None, api_key: str | None = None, path: Path | None = None) -> VectorStore:
    # Imported here: qdrant-client takes over a second to import, and only a configured Qdrant needs it.
    from sightline.ingest.vectors.qdrant import QdrantStore

    return QdrantStore(url=url, api_key=api_key, path=path)
