"""The default `lite` backend behind the real ML and ingestion services: real photos, real search."""

from __future__ import annotations

import io

import httpx
import numpy as np
import pytest
from PIL import Image
from skimage import data as skimage_data

from sightline.config import MLSettings
from tests.conftest import TEST_KEYS, ingest_settings, start_ingest, start_server
from tests.helpers import wait_for_job

pytestmark = pytest.mark.e2e

PHOTOS = {"astronaut": skimage_data.astronaut, "cat": skimage_data.chelsea, "coffee": skimage_data.coffee,
          "rocket": skimage_data.rocket}


def jpeg(array: np.ndarray, scale: float = 1.0, quality: int = 90) -> bytes:
    image = Image.fromarray(array).convert("RGB")
    if scale != 1.0:
        image = image.resize((int(image.width * scale), int(image.height * scale)))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=quality)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def lite_ml(lite_data_dir):
    from sightline.inference.app import create_app

    settings = MLSettings(models="lite", api_key=TEST_KEYS[0], data_dir=lite_data_dir, model_threads=2)
    running = start_server(create_app(settings), health_path="/health", timeout=600)
    yield running
    running.stop()


def test_lite_capabilities_and_label_based_captions(lite_ml):
    headers = {"x-api-key": TEST_KEYS[0]}
    caps = httpx.get(f"{lite_ml.url}/api/v1/capabilities", headers=headers).json()
    assert (caps["backend"], caps["dimension"], caps["caption_kind"]) == ("lite", 384, "label-based")
    assert caps["meaningful"] is True
    files = [("images", ("cat.jpg", jpeg(skimage_data.chelsea()), "image/jpeg"))]
    result = httpx.post(f"{lite_ml.url}/api/v1/embed_images", files=files, headers=headers,
                        timeout=60).json()["results"][0]
    assert result["caption_kind"] == "label-based"
    assert "cat" in result["caption"]
    assert len(result["embedding"]) == 384


def test_text_and_image_search_find_the_right_photo(lite_ml, tmp_path):
    library = tmp_path / "library"
    library.mkdir()
    for name, load in PHOTOS.items():
        (library / f"{name}.jpg").write_bytes(jpeg(load()))
    ingest = start_ingest(ingest_settings(lite_ml.url, tmp_path, [library]))
    try:
        with httpx.Client(base_url=ingest.url, timeout=60) as client:
            info = client.post("/api/v1/collections", json={"name": "real"}).json()
            assert info["params"]["vector_size"] == 384
            job = wait_for_job(client, client.post("/api/v1/ingest/scan", json={
                "collection": "real", "directory_path": str(library)}).json()["job_id"], timeout=120)
            assert job["state"] == "completed"
            for query, expected in (("a cat", "cat"), ("a cup of coffee", "coffee"), ("a rocket launch", "rocket")):
                top = client.post("/api/v1/search", json={"collection": "real", "text": query, "limit": 1}).json()
                assert top["results"][0]["payload"]["filename"] == f"{expected}.jpg", query
            copy = jpeg(skimage_data.coffee(), scale=0.6, quality=70)
            found = client.post("/api/v1/search/image", data={"collection": "real", "limit": "1"},
                                files={"image": ("q.jpg", copy, "image/jpeg")}).json()
            assert found["results"][0]["payload"]["filename"] == "coffee.jpg"
    finally:
        ingest.stop()
