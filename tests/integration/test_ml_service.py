"""The ML service over real HTTP with the tiny models: original clients' shapes, per-item errors, auth."""

from __future__ import annotations

import base64
import io

import httpx
import numpy as np
import pytest
from PIL import Image

from tests.samples import camera_like_jpeg, decompression_bomb_png, distinct_image, solid_image
from sightline.security import check_bind
from tests.conftest import TEST_KEYS

ORIGINAL_RESULT_FIELDS = {
    "unique_id", "filename", "embedding", "embedding_shape", "caption", "error",
    "model_name_clip", "model_name_blip", "device_used",
}


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def item(unique_id: str, data: bytes, filename: str | None = "x.jpg") -> dict:
    body = {"unique_id": unique_id, "image_base64": b64(data)}
    if filename is not None:
        body["filename"] = filename
    return body


def jpeg(color=(10, 120, 200), size=(80, 60)) -> bytes:
    return solid_image(color, size, fmt="JPEG")


def test_health_is_open_and_reports_models(ml_server):
    response = httpx.get(f"{ml_server.url}/health")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"
    assert response.json()["backend"] == "tiny"


@pytest.mark.parametrize("headers", [{}, {"x-api-key": "wrong"}, {"x-api-key": ""}])
def test_missing_and_wrong_key_get_the_same_401(ml_server, headers):
    response = httpx.get(f"{ml_server.url}/api/v1/capabilities", headers=headers)
    assert response.status_code == 401
    assert response.json() == {
        "error": {
            "code": "UNAUTHORIZED",
            "message": "Missing or invalid API key: send a valid key in the x-api-key header.",
            "where": "x-api-key",
        }
    }


@pytest.mark.parametrize("key", TEST_KEYS)
def test_every_configured_key_works_for_rotation(ml_server, key):
    response = httpx.get(f"{ml_server.url}/api/v1/capabilities", headers={"x-api-key": key})
    assert response.status_code == 200


@pytest.mark.parametrize("path", ["/api/v1/warmup", "/api/v1/embed_text", "/api/v1/batch_embed_and_caption"])
def test_every_api_route_needs_the_key(ml_server, path):
    assert httpx.post(f"{ml_server.url}{path}", json={}).status_code == 401


def test_capabilities_have_original_and_new_keys(ml_client):
    caps = ml_client.get("/api/v1/capabilities").json()
    for key in ("safe_clip_batch", "safe_blip_batch", "safe_batch_size", "clip_model_loaded",
                "blip_model_loaded", "device_type", "cuda_available"):
        assert key in caps
    assert caps["backend"] == "tiny"
    assert caps["dimension"] == 64
    assert caps["meaningful"] is False
    assert caps["max_batch_size"] == 64
    assert "heif" in caps["formats"] and "dng" in caps["formats"]


def test_original_request_shape_gets_original_fields_in_order(ml_client):
    images = [item("b", jpeg((200, 0, 0))), item("a", distinct_image(3, fmt="PNG"), "a.png"), item("c", jpeg())]
    response = ml_client.post("/api/v1/batch_embed_and_caption", json={"images": images})
    assert response.status_code == 200
    results = response.json()["results"]
    assert [r["unique_id"] for r in results] == ["b", "a", "c"]
    for result in results:
        assert ORIGINAL_RESULT_FIELDS <= result.keys()
        assert result["error"] is None
        assert result["embedding_shape"] == [64]
        assert np.linalg.norm(result["embedding"]) == pytest.approx(1.0, abs=1e-4)
        assert result["model_name_clip"] == "tiny-random-clip"
        assert result["model_name_blip"] == "tiny-random-blip"
        assert result["device_used"] == "cpu"
        assert isinstance(result["caption"], str) and result["caption"]
    assert results[1]["format"] == "png"
    assert results[1]["filename"] == "a.png"


def test_duplicate_unique_ids_each_get_a_result(ml_client):
    images = [item("same", jpeg()), item("same", jpeg((0, 255, 0)))]
    results = ml_client.post("/api/v1/batch_embed_and_caption", json={"images": images}).json()["results"]
    assert len(results) == 2
    assert results[0]["embedding"] != results[1]["embedding"]


def test_missing_filename_is_accepted(ml_client):
    body = {"images": [item("x", jpeg(), filename=None)]}
    result = ml_client.post("/api/v1/batch_embed_and_caption", json=body).json()["results"][0]
    assert result["error"] is None and result["filename"] is None


def test_caption_switch_query_and_body(ml_client):
    body = {"images": [item("x", jpeg())]}
    off = ml_client.post("/api/v1/batch_embed_and_caption?caption=false", json=body).json()["results"][0]
    assert off["caption"] == "" and off["embedding"]
    body_wins = ml_client.post("/api/v1/batch_embed_and_caption?caption=false", json={**body, "caption": True})
    assert body_wins.json()["results"][0]["caption"] != ""


def test_bad_items_get_their_own_errors_and_good_items_their_results(ml_client):
    good = jpeg()
    png = distinct_image(1, fmt="PNG")
    images = [
        item("good", good),
        {"unique_id": "bad-b64", "image_base64": "not base64 !!", "filename": "x.jpg"},
        item("empty", b""),
        item("truncated", camera_like_jpeg(640, 480)[:3000]),
        item("text", b"hello, I am not an image at all" * 10, "fake.jpg"),
        item("bomb", decompression_bomb_png()),
        item("png", png, "p.png"),
    ]
    response = ml_client.post("/api/v1/batch_embed_and_caption", json={"images": images})
    assert response.status_code == 200
    by_id = {r["unique_id"]: r for r in response.json()["results"]}
    expected = {
        "bad-b64": "INVALID_BASE64",
        "empty": "FILE_EMPTY",
        "truncated": "DECODE_FAILED",
        "text": "UNSUPPORTED_FORMAT",
        "bomb": "IMAGE_TOO_LARGE",
    }
    for unique_id, code in expected.items():
        result = by_id[unique_id]
        assert result["error"]["code"] == code, result
        assert result["error"]["message"]
        assert result["embedding"] is None and result["caption"] is None
    for unique_id in ("good", "png"):
        assert by_id[unique_id]["error"] is None
        assert len(by_id[unique_id]["embedding"]) == 64


def test_data_url_base64_is_accepted(ml_client):
    body = {"images": [{"unique_id": "d", "image_base64": "data:image/jpeg;base64," + b64(jpeg())}]}
    assert ml_client.post("/api/v1/batch_embed_and_caption", json=body).json()["results"][0]["error"] is None


def test_multipart_variant_matches_json(ml_client):
    images = [jpeg((1, 2, 3)), distinct_image(5, fmt="PNG"), b"garbage"]
    as_json = ml_client.post(
        "/api/v1/batch_embed_and_caption",
        json={"images": [item(str(i), data) for i, data in enumerate(images)]},
    ).json()["results"]
    files = [("images", (f"{i}.bin", data, "application/octet-stream")) for i, data in enumerate(images)]
    as_multipart = ml_client.post(
        "/api/v1/embed_images", files=files, data={"unique_ids": ["0", "1", "2"], "caption": "true"}
    ).json()["results"]
    assert [r["unique_id"] for r in as_multipart] == ["0", "1", "2"]
    for a, b in zip(as_json, as_multipart):
        assert a["caption"] == b["caption"]
        assert (a["error"] or {}).get("code") == (b["error"] or {}).get("code")
        if a["embedding"]:
            assert np.allclose(a["embedding"], b["embedding"], atol=1e-5)
    assert as_multipart[2]["error"]["code"] == "UNSUPPORTED_FORMAT"


def test_multipart_ids_must_match_files(ml_client):
    files = [("images", ("a.jpg", jpeg(), "image/jpeg"))]
    response = ml_client.post("/api/v1/embed_images", files=files, data={"unique_ids": ["a", "b"]})
    assert response.status_code == 422
    assert response.json()["error"]["where"] == "unique_ids"


def test_batch_over_the_limit_is_413(ml_client):
    body = {"images": [item(str(i), b"x") for i in range(65)]}
    response = ml_client.post("/api/v1/batch_embed_and_caption", json=body)
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "BATCH_TOO_LARGE"


def test_request_over_the_size_limit_is_413(ml_client):
    body = {"images": [{"unique_id": "big", "image_base64": "A" * (65 * 1024 * 1024)}]}
    response = ml_client.post("/api/v1/batch_embed_and_caption", json=body)
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "REQUEST_TOO_LARGE"


@pytest.mark.parametrize(
    "body",
    [{}, {"images": "nope"}, {"images": [{"unique_id": "x"}]}, {"images": []}, [1, 2]],
)
def test_malformed_requests_get_a_readable_422(ml_client, body):
    response = ml_client.post("/api/v1/batch_embed_and_caption", json=body)
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "VALIDATION_ERROR"
    assert "Traceback" not in error["message"]


def test_invalid_json_is_422(ml_client):
    response = ml_client.post(
        "/api/v1/batch_embed_and_caption", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert response.status_code == 422


def test_embed_text_original_and_batch_forms(ml_client):
    single = ml_client.post("/api/v1/embed_text", json={"text": "a cat", "description": "x"}).json()
    assert single["embedding_shape"] == [64] and len(single["embedding"]) == 64
    batch = ml_client.post("/api/v1/embed_text", json={"texts": ["a cat", "a dog"]}).json()
    assert batch["model_name"] == "tiny-random-clip"
    assert len(batch["embeddings"]) == 2
    assert np.allclose(batch["embeddings"][0], single["embedding"], atol=1e-5)
    assert not np.allclose(batch["embeddings"][0], batch["embeddings"][1])


@pytest.mark.parametrize("body", [{}, {"text": "a", "texts": ["b"]}, {"texts": []}, {"text": 5}])
def test_embed_text_rejects_ambiguous_bodies(ml_client, body):
    assert ml_client.post("/api/v1/embed_text", json=body).status_code == 422


def test_warmup_and_cooldown(ml_client):
    assert ml_client.post("/api/v1/cooldown").json()["message"]
    assert ml_client.post("/api/v1/warmup").status_code == 200
    assert ml_client.get("/health").status_code == 200


def test_orientation_is_applied_before_embedding(ml_client):
    """A portrait image stored as landscape + EXIF orientation 6 must report portrait dimensions."""
    image = Image.new("RGB", (120, 60), (0, 200, 0))
    exif = Image.Exif()
    exif[0x0112] = 6
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", exif=exif)
    result = ml_client.post(
        "/api/v1/batch_embed_and_caption", json={"images": [item("o", buffer.getvalue())]}
    ).json()["results"][0]
    assert (result["width"], result["height"]) == (60, 120)


def test_non_loopback_bind_without_key_is_refused():
    with pytest.raises(SystemExit):
        check_bind("0.0.0.0", False, "SIGHTLINE_API_KEY")
    check_bind("0.0.0.0", True, "SIGHTLINE_API_KEY")
    check_bind("127.0.0.1", False, "SIGHTLINE_API_KEY")


def test_health_answers_while_a_big_batch_is_processed(ml_server, ml_client):
    import threading
    import time

    photos = [camera_like_jpeg(2400, 1800, seed=seed) for seed in range(3)] * 8
    body = {"images": [item(str(i), data) for i, data in enumerate(photos)]}
    finished = threading.Event()

    def send_batch() -> None:
        ml_client.post("/api/v1/batch_embed_and_caption", json=body)
        finished.set()

    worker = threading.Thread(target=send_batch)
    worker.start()
    time.sleep(0.3)
    answered_during_batch = []
    while not finished.is_set():
        started = time.perf_counter()
        assert httpx.get(f"{ml_server.url}/health", timeout=10).status_code == 200
        answered_during_batch.append((time.perf_counter() - started, finished.is_set()))
        time.sleep(0.05)
    worker.join()
    during = [latency for latency, done in answered_during_batch if not done]
    assert during, "the batch finished before /health could be asked"
    assert max(during) < 2.0, during  # the original service blocked /health for the whole batch
