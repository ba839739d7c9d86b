"""The ML client over `httpx.MockTransport`: replicas, retries, errors, and the translation of the result
fields of the original-compatible API."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import httpx
import pytest

from sightline.errors import ErrorCode
from sightline.ingest.ml_client import MLClient, MLError
from tests.ingest.api.helpers import never_answering_url

REPLICAS = ["http://ml-a:8001", "http://ml-b:8001"]
RESULT = {
    "unique_id": "u1", "filename": "a.jpg", "embedding": [0.6, 0.8], "embedding_shape": [2], "caption": "a cat",
    "caption_kind": "generated", "format": "JPEG", "width": 4, "height": 3, "model_name_clip": "tiny-random-clip",
    "model_name_blip": "tiny-random-blip", "device_used": "cpu", "error": None,
}


def client(handler, *, retries: int = 2, urls=REPLICAS) -> MLClient:
    return MLClient(urls, "key", retries=retries, backoff=0.0, transport=httpx.MockTransport(handler))


async def test_requests_go_through_the_transport_to_each_replica_in_turn() -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(f"{request.url} {request.headers['x-api-key']}")
        return httpx.Response(200, json={"backend": "tiny"})

    ml = client(handler)
    await ml.capabilities()
    await ml.capabilities()
    await ml.aclose()
    assert seen == ["http://ml-a:8001/api/v1/capabilities key", "http://ml-b:8001/api/v1/capabilities key"]


async def test_image_results_use_our_field_names() -> None:
    ml = client(lambda request: httpx.Response(200, json={"results": [RESULT]}))
    [result] = await ml.embed_files([("u1", "a.jpg", b"jpeg")], caption=True)
    await ml.aclose()
    assert result == {
        **{key: value for key, value in RESULT.items()
           if key not in ("model_name_clip", "model_name_blip", "device_used")},
        "embedding_model": "tiny-random-clip", "caption_model": "tiny-random-blip", "device": "cpu",
    }


async def test_text_embeddings_come_with_the_model_name() -> None:
    ml = client(lambda request: httpx.Response(200, json={"embeddings": [[1.0, 0.0]], "model_name": "m"}))
    assert await ml.embed_texts(["a cat"]) == ([[1.0, 0.0]], "m")
    await ml.aclose()


async def test_a_server_error_is_retried_and_reported() -> None:
    answers = iter([httpx.Response(503), httpx.Response(200, json={"backend": "tiny"})])
    retries: list[str] = []

    async def on_retry(message: str) -> None:
        retries.append(message)

    ml = client(lambda request: next(answers))
    response = await ml._request("GET", "/api/v1/capabilities", on_retry=on_retry)
    await ml.aclose()
    assert response.json() == {"backend": "tiny"}
    assert retries == ["ML_UNAVAILABLE: http://ml-a:8001 answered 503; retry 1/2 in 0.0s"]


async def test_giving_up_after_the_retries_raises_the_last_error() -> None:
    calls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request.url.host)
        raise httpx.ConnectError("refused", request=request)

    ml = client(handler, retries=2)
    with pytest.raises(MLError) as info:
        await ml.capabilities()
    await ml.aclose()
    assert (info.value.code, info.value.status) == (ErrorCode.ML_UNAVAILABLE, 503)
    assert calls == ["ml-a", "ml-b", "ml-a"]


async def test_a_timeout_is_ml_timeout() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow", request=request)

    ml = client(handler, retries=0)
    with pytest.raises(MLError) as info:
        await ml.capabilities()
    await ml.aclose()
    assert info.value.code == ErrorCode.ML_TIMEOUT


async def test_a_refused_key_is_not_retried() -> None:
    calls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request.url.host)
        return httpx.Response(401)

    ml = client(handler)
    with pytest.raises(MLError) as info:
        await ml.capabilities()
    await ml.aclose()
    assert (info.value.code, info.value.status, calls) == (ErrorCode.ML_UNAUTHORIZED, 502, ["ml-a"])


async def test_a_person_waiting_gets_one_try_per_replica() -> None:
    calls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request.url.host)
        return httpx.Response(500)

    ml = client(handler, retries=6)
    with pytest.raises(MLError):
        await ml.capabilities(interactive=True)
    await ml.aclose()
    assert calls == ["ml-a", "ml-b"]


async def test_replica_health_never_raises() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.host == "ml-b":
            raise httpx.ConnectError("down", request=request)
        return httpx.Response(200, json={"status": "ok"})

    ml = client(handler)
    health = await ml.replica_health()
    await ml.aclose()
    assert health == [
        {"url": "http://ml-a:8001", "reachable": True, "status_code": 200, "status": "ok"},
        {"url": "http://ml-b:8001", "reachable": False, "status": "unreachable", "error": "ConnectError"},
    ]


def test_at_least_one_url_is_needed() -> None:
    with pytest.raises(ValueError):
        MLClient([], None)


@pytest.fixture()
def stuck_url() -> Iterator[str]:
    with never_answering_url() as url:
        yield url


@pytest.mark.parametrize("call", [
    lambda ml: ml.embed_texts(["a cat"], interactive=True),
    lambda ml: ml.embed_files([("q", "q.jpg", b"jpeg")], caption=False, interactive=True),
    lambda ml: ml.capabilities(interactive=True),
])
async def test_a_person_waiting_on_a_stuck_service_gets_ml_timeout_soon(stuck_url, call) -> None:
    ml = MLClient([stuck_url], "key", timeout=300.0, interactive_timeout=0.3, retries=0)
    with pytest.raises(MLError) as info:
        await asyncio.wait_for(call(ml), 30)  # without the short timeout: a TimeoutError here, not an MLError
    await ml.aclose()
    assert (info.value.code, info.value.status, info.value.where) == (ErrorCode.ML_TIMEOUT, 504, "ml_service")


async def test_background_work_keeps_the_long_timeout(stuck_url) -> None:
    ml = MLClient([stuck_url], "key", timeout=300.0, interactive_timeout=0.3, retries=0)
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(ml.embed_texts(["a cat"]), 1.0)
    await ml.aclose()


async def test_background_work_asking_a_stuck_service_for_capabilities_retries_soon_and_says_so(stuck_url) -> None:
    ml = MLClient([stuck_url], "key", timeout=300.0, interactive_timeout=0.3, retries=1, backoff=0.0)
    said: list[str] = []

    async def log(message: str) -> None:
        said.append(message)

    with pytest.raises(MLError) as info:
        await asyncio.wait_for(ml.capabilities(on_retry=log), 30)  # with ml_timeout: a TimeoutError here
    await ml.aclose()
    assert info.value.code == ErrorCode.ML_TIMEOUT
    assert said == [f"ML_TIMEOUT: {stuck_url} did not answer in time (ReadTimeout); retry 1/1 in 0.0s"]


async def test_capabilities_while_the_models_load_are_waited_out_by_background_work() -> None:
    answers = iter([{"models_loaded": False}, {"models_loaded": False}, {"models_loaded": True, "dimension": 64}])

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=next(answers))

    ml = client(handler, retries=2)
    capabilities = await ml.capabilities()
    await ml.aclose()
    assert capabilities == {"models_loaded": True, "dimension": 64}


async def test_a_person_asking_while_the_models_load_gets_ml_unavailable() -> None:
    ml = client(lambda request: httpx.Response(200, json={"models_loaded": False}), urls=REPLICAS[:1])
    with pytest.raises(MLError) as caught:
        await ml.capabilities(interactive=True)
    await ml.aclose()
    assert (caught.value.code, caught.value.status) == (ErrorCode.ML_UNAVAILABLE, 503)
    assert "still loading its models" in caught.value.message


# --- sending images reduced to the model's input ------------------------------------------------------------

class Recording(httpx.AsyncBaseTransport):
    """The in-process ML app, remembering the size of each image request's body."""

    def __init__(self, app):
        self.inner = httpx.ASGITransport(app=app)
        self.image_bodies: list[int] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/embed_images"):
            self.image_bodies.append(len(await request.aread()))
        return await self.inner.handle_async_request(request)


async def embed_with(ml_app, upload: str, files) -> tuple[list[dict], list[int]]:
    from tests.conftest import TEST_KEYS

    transport = Recording(ml_app)
    ml = MLClient(["http://ml"], TEST_KEYS[0], retries=0, transport=transport, upload=upload)
    try:
        return await ml.embed_files(files, caption=False), transport.image_bodies
    finally:
        await ml.aclose()


async def test_reduced_uploads_send_small_images_and_embed_them_alike(ml_app) -> None:
    import numpy as np

    from tests.samples import camera_like_jpeg

    files = [("a", "a.jpg", camera_like_jpeg(1600, 1200, seed=1)), ("b", "b.jpg", camera_like_jpeg(1600, 1200, seed=2))]
    original, original_bytes = await embed_with(ml_app, "original", files)
    reduced, reduced_bytes = await embed_with(ml_app, "reduced", files)
    assert reduced_bytes[0] * 10 < original_bytes[0]
    for full, small in zip(original, reduced):
        assert small["error"] is None
        assert float(np.dot(full["embedding"], small["embedding"])) > 0.98


async def test_a_file_that_cannot_be_reduced_gets_the_ml_services_own_error(ml_app) -> None:
    from tests.samples import distinct_image

    files = [("bad", "bad.jpg", b"not an image at all" * 10), ("good", "good.png", distinct_image(2, fmt="PNG"))]
    results, _ = await embed_with(ml_app, "reduced", files)
    assert results[0]["error"]["code"] == "UNSUPPORTED_FORMAT"
    assert results[1]["error"] is None
