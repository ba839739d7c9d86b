"""Stage 2: one ML call per batch (the session's ML app in-process, or a scripted transport)."""

from __future__ import annotations

import hashlib
from typing import Any

import httpx

from sightline.errors import ErrorCode
from sightline.ingest.ml_client import MLClient
from sightline.ingest.pipeline.embed import copy_to_same_content, embed
from sightline.ingest.pipeline.work import Embedding, FileWork
from tests.ingest.pipeline.conftest import fake_ml, record
from tests.samples import distinct_image


def work_for(name: str, data: bytes) -> FileWork:
    return FileWork(record(f"/photos/{name}"), f"id-{name}", data=data, sha256=hashlib.sha256(data).hexdigest())


async def no_retry(message: str) -> None:
    raise AssertionError(f"unexpected retry: {message}")


async def test_each_file_gets_its_embedding_and_is_known(ml: MLClient, capabilities: dict[str, Any]) -> None:
    works = [work_for("a.jpg", distinct_image(0, fmt="JPEG")), work_for("b.png", distinct_image(1, fmt="PNG"))]
    known: dict[str, Embedding] = {}
    assert await embed(ml, works, caption=True, known=known, on_retry=no_retry) is None
    assert [(work.state, work.data, len(work.embedding.vector)) for work in works] == [  # type: ignore[union-attr]
        ("done", None, capabilities["dimension"])
    ] * 2
    assert works[0].embedding.provenance == {  # type: ignore[union-attr]
        "embedding_model": capabilities["embedding_model"], "caption_model": capabilities["caption_model"],
        "caption_kind": "generated", "device": "cpu",
    }
    assert known == {work.sha256: work.embedding for work in works}


async def test_a_file_the_ml_service_cannot_decode_fails_alone(ml: MLClient) -> None:
    works = [work_for("a.jpg", distinct_image(2, fmt="JPEG")), work_for("bad.jpg", b"not an image at all")]
    known: dict[str, Embedding] = {}
    assert await embed(ml, works, caption=False, known=known, on_retry=no_retry) is None
    assert [(work.state, work.error) for work in works] == [
        ("done", None), ("failed", ("decode", "UNSUPPORTED_FORMAT", "Not an image in a supported format.")),
    ]
    assert list(known) == [works[0].sha256]


async def test_an_unreachable_ml_service_fails_the_whole_batch() -> None:
    async def unreachable(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    ml = fake_ml(unreachable)
    works = [work_for("a.jpg", b"a"), work_for("b.jpg", b"b")]
    error = await embed(ml, works, caption=True, known={}, on_retry=no_retry)
    await ml.aclose()
    assert error is not None and error.code == ErrorCode.ML_UNAVAILABLE
    assert [work.error for work in works] == [("embed", "ML_UNAVAILABLE", "http://ml is unreachable (ConnectError)")] * 2


def test_a_copy_takes_the_embedding_of_its_original() -> None:
    original = work_for("a.jpg", b"a")
    original.embedding, original.state = Embedding([1.0], None, {}), "done"
    copy = work_for("copy.jpg", b"a")
    copy.reuse_of = original
    copy_to_same_content([original, copy])
    assert (copy.state, copy.embedding) == ("cached", original.embedding)


def test_a_copy_takes_the_error_of_its_original() -> None:
    original = work_for("a.jpg", b"a")
    original.fail("decode", "DECODE_FAILED", "truncated")
    copy = work_for("copy.jpg", b"a")
    copy.reuse_of = original
    copy_to_same_content([original, copy])
    assert (copy.state, copy.error) == ("failed", ("decode", "DECODE_FAILED", "truncated"))
