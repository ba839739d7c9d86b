"""Stage 2, the mapper: one call to the ML service per batch; files with the same content as another file of
the batch take its result instead of being sent twice."""

from __future__ import annotations

import os

from sightline.errors import ErrorCode
from sightline.ingest.ml_client import MLClient, MLError, RetryHook
from sightline.ingest.pipeline.payload import model_fields
from sightline.ingest.pipeline.work import Embedding, FileWork


async def embed(
    ml: MLClient, works: list[FileWork], *, caption: bool, known: dict[str, Embedding], on_retry: RetryHook
) -> MLError | None:
    """Embed `works` (each with its bytes); every result goes into `known` for later batches.

    Returns the error that made the whole batch fail (the ML service is gone or refuses the key), else None.
    """
    files = [(work.point_id, os.path.basename(work.record.path), work.data or b"") for work in works]
    try:
        results = await ml.embed_files(files, caption=caption, on_retry=on_retry)
    except MLError as exc:
        for work in works:
            work.fail("embed", exc.code, exc.message)
        return exc
    for work, result in zip(works, results):
        work.data = None
        error = result.get("error")
        if error:
            work.fail("decode", error.get("code", ErrorCode.ML_ITEM_FAILED),
                      error.get("message", "the ML service could not process it"))
            continue
        work.embedding = Embedding(result["embedding"], result.get("caption"), model_fields(result),
                                   result.get("phash"))
        work.state = "done"
        assert work.sha256 is not None
        known[work.sha256] = work.embedding
    return None


def copy_to_same_content(works: list[FileWork]) -> None:
    """Files that share the content of an earlier file of the batch take its outcome."""
    for work in works:
        source = work.reuse_of
        if source is None:
            continue
        if source.ready:
            assert source.embedding is not None
            work.reuse(source.embedding)
        elif source.error is not None:
            work.fail(*source.error)
