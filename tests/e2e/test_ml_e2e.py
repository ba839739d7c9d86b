"""The ML service over a real socket: what needs real concurrency between connections."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from PIL import Image

from sightline.config import MLSettings
from sightline.inference.app import create_app
from sightline.inference.models.base import ImageBatchOutput, ModelBackend
from sightline.inference.models.tiny import build_tiny_backend
from tests.conftest import TEST_KEYS, start_server
from tests.inference.payloads import item
from tests.samples import camera_like_jpeg

pytestmark = pytest.mark.e2e


class HeldBackend(ModelBackend):
    """The tiny backend, whose model pass waits, inside the model thread, for the test to let it go."""

    def __init__(self) -> None:
        self.inner = build_tiny_backend()
        self.info = self.inner.info
        self.in_model = threading.Event()
        self.release = threading.Event()

    def preprocess(self, image: Image.Image) -> Any:
        return self.inner.preprocess(image)

    def embed_images(self, items: list[Any], caption: bool) -> ImageBatchOutput:
        self.in_model.set()
        if not self.release.wait(120):
            raise TimeoutError("the test never released the model")
        return self.inner.embed_images(items, caption)

    def embed_texts(self, texts: list[str]) -> Any:
        return self.inner.embed_texts(texts)


def test_health_answers_while_a_batch_is_in_the_model(ml_settings: MLSettings):
    """The original service blocked /health for a whole batch; here the batch runs off the event loop."""
    backend = HeldBackend()
    server = start_server(create_app(ml_settings, loader=lambda settings: backend), health_path="/health")
    photos = [camera_like_jpeg(640, 480, seed=seed) for seed in range(3)]
    body = {"images": [item(str(i), data) for i, data in enumerate(photos)]}
    try:
        with ThreadPoolExecutor(max_workers=1) as pool:
            batch = pool.submit(
                httpx.post, f"{server.url}/api/v1/batch_embed_and_caption", json=body,
                headers={"x-api-key": TEST_KEYS[0]}, timeout=120,
            )
            assert backend.in_model.wait(120), "the batch never reached the model"
            health = httpx.get(f"{server.url}/health", timeout=30)  # the batch is held in the model meanwhile
            backend.release.set()
            response = batch.result(timeout=120)
    finally:
        backend.release.set()
        server.stop()
    assert health.status_code == 200 and health.json()["status"] == "ok"
    assert response.status_code == 200
    assert [r["error"] for r in response.json()["results"]] == [None, None, None]
