"""Image embeddings + captions (the original's base64 JSON and multipart) and text embeddings, tiny models."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from sightline.imaging.phash import hash_distance
from sightline.inference.api.embed import REQUEST_IMAGE_CAP
from sightline.inference.app import create_app
from tests.inference.conftest import client_of
from tests.inference.payloads import b64, item, jpeg
from tests.samples import camera_like_jpeg, decompression_bomb_png, distinct_image

pytestmark = pytest.mark.asyncio(loop_scope="session")

BATCH = "/api/v1/batch_embed_and_caption"
ORIGINAL_RESULT_FIELDS = {
    "unique_id", "filename", "embedding", "embedding_shape", "caption", "error",
    "model_name_clip", "model_name_blip", "device_used",
}


async def test_original_request_shape_gets_original_fields_in_order(api):
    images = [item("b", jpeg((200, 0, 0))), item("a", distinct_image(3, fmt="PNG"), "a.png"), item("c", jpeg())]
    response = await api.post(BATCH, json={"images": images})
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


async def test_response_names_the_models_under_our_keys_too(api):
    model = (await api.post(BATCH, json={"images": [item("x", jpeg())]})).json()["model"]
    assert model == {
        "backend": "tiny", "embedding_model": "tiny-random-clip", "dimension": 64,
        "caption_model": "tiny-random-blip", "caption_kind": "generated", "meaningful": False,
    }


async def test_duplicate_unique_ids_each_get_a_result(api):
    images = [item("same", jpeg()), item("same", jpeg((0, 255, 0)))]
    results = (await api.post(BATCH, json={"images": images})).json()["results"]
    assert len(results) == 2
    assert results[0]["embedding"] != results[1]["embedding"]


async def test_missing_filename_is_accepted(api):
    result = (await api.post(BATCH, json={"images": [item("x", jpeg(), filename=None)]})).json()["results"][0]
    assert result["error"] is None and result["filename"] is None


async def test_caption_switch_query_and_body(api):
    body = {"images": [item("x", jpeg())]}
    off = (await api.post(f"{BATCH}?caption=false", json=body)).json()["results"][0]
    assert off["caption"] == "" and off["embedding"] and off["caption_kind"] is None
    body_wins = (await api.post(f"{BATCH}?caption=false", json={**body, "caption": True})).json()["results"][0]
    assert body_wins["caption"] != "" and body_wins["caption_kind"] == "generated"


async def test_bad_items_get_their_own_errors_and_good_items_their_results(api):
    images = [
        item("good", jpeg()),
        {"unique_id": "bad-b64", "image_base64": "not base64 !!", "filename": "x.jpg"},
        item("empty", b""),
        item("truncated", camera_like_jpeg(640, 480)[:3000]),
        item("text", b"hello, I am not an image at all" * 10, "fake.jpg"),
        item("bomb", decompression_bomb_png()),
        item("png", distinct_image(1, fmt="PNG"), "p.png"),
    ]
    response = await api.post(BATCH, json={"images": images})
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


async def test_data_url_base64_is_accepted(api):
    body = {"images": [{"unique_id": "d", "image_base64": "data:image/jpeg;base64," + b64(jpeg())}]}
    assert (await api.post(BATCH, json=body)).json()["results"][0]["error"] is None


async def test_multipart_variant_matches_json(api):
    images = [jpeg((1, 2, 3)), distinct_image(5, fmt="PNG"), b"garbage"]
    as_json = (await api.post(BATCH, json={"images": [item(str(i), data) for i, data in enumerate(images)]}))
    files = [("images", (f"{i}.bin", data, "application/octet-stream")) for i, data in enumerate(images)]
    as_multipart = await api.post(
        "/api/v1/embed_images", files=files, data={"unique_ids": ["0", "1", "2"], "caption": "true"}
    )
    json_results, multipart_results = as_json.json()["results"], as_multipart.json()["results"]
    assert [r["unique_id"] for r in multipart_results] == ["0", "1", "2"]
    for a, b in zip(json_results, multipart_results):
        assert a["caption"] == b["caption"]
        assert (a["error"] or {}).get("code") == (b["error"] or {}).get("code")
        if a["embedding"]:
            assert np.allclose(a["embedding"], b["embedding"], atol=1e-5)
    assert multipart_results[2]["error"]["code"] == "UNSUPPORTED_FORMAT"


async def test_each_image_gets_a_perceptual_hash_that_copies_share(api):
    original = camera_like_jpeg(800, 600, seed=4)
    smaller = io.BytesIO()
    Image.open(io.BytesIO(original)).resize((400, 300)).save(smaller, "PNG")
    images = [item("original", original), item("copy", smaller.getvalue()), item("other", camera_like_jpeg(800, 600, seed=5)),
              item("bad", b"garbage")]
    results = {r["unique_id"]: r for r in (await api.post(BATCH, json={"images": images})).json()["results"]}
    hashes = {key: results[key]["phash"] for key in ("original", "copy", "other")}
    assert all(len(value) == 16 for value in hashes.values()) and results["bad"]["phash"] is None
    assert hash_distance(hashes["original"], hashes["copy"]) <= 6
    assert hash_distance(hashes["original"], hashes["other"]) >= 12


async def test_multipart_ids_default_to_the_index(api):
    files = [("images", (f"{i}.jpg", jpeg(), "image/jpeg")) for i in range(2)]
    results = (await api.post("/api/v1/embed_images", files=files)).json()["results"]
    assert [(r["unique_id"], r["filename"]) for r in results] == [("0", "0.jpg"), ("1", "1.jpg")]


async def test_multipart_ids_must_match_files(api):
    files = [("images", ("a.jpg", jpeg(), "image/jpeg"))]
    response = await api.post("/api/v1/embed_images", files=files, data={"unique_ids": ["a", "b"]})
    assert response.status_code == 422
    assert response.json()["error"]["where"] == "unique_ids"


async def test_a_request_over_the_image_count_cap_is_413(api):
    """Requests over max_batch_size are chunked; only one far over it (REQUEST_IMAGE_CAP) is refused."""
    response = await api.post(BATCH, json={"images": [item(str(i), b"x") for i in range(REQUEST_IMAGE_CAP + 1)]})
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "BATCH_TOO_LARGE"


async def test_an_empty_images_list_answers_no_results(api):
    response = await api.post(BATCH, json={"images": []})
    assert response.status_code == 200
    assert response.json()["results"] == []


@pytest.mark.parametrize(
    "body",
    [{}, {"images": "nope"}, {"images": [{"unique_id": "x"}]}, [1, 2]],
)
async def test_malformed_requests_get_a_readable_422(api, body):
    response = await api.post(BATCH, json=body)
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "VALIDATION_ERROR"
    assert "Traceback" not in error["message"]


async def test_orientation_is_applied_before_embedding(api):
    """A portrait image stored as landscape + EXIF orientation 6 must report portrait dimensions."""
    image = Image.new("RGB", (120, 60), (0, 200, 0))
    exif = Image.Exif()
    exif[0x0112] = 6
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", exif=exif)
    result = (await api.post(BATCH, json={"images": [item("o", buffer.getvalue())]})).json()["results"][0]
    assert (result["width"], result["height"]) == (60, 120)


async def test_embed_text_original_and_batch_forms(api):
    single = (await api.post("/api/v1/embed_text", json={"text": "a cat", "description": "x"})).json()
    assert single["embedding_shape"] == [64] and len(single["embedding"]) == 64
    assert single["model_name"] == "tiny-random-clip"
    batch = (await api.post("/api/v1/embed_text", json={"texts": ["a cat", "a dog"]})).json()
    assert batch["model_name"] == "tiny-random-clip"
    assert batch["embedding_shape"] == [2, 64] and len(batch["embeddings"]) == 2
    assert np.allclose(batch["embeddings"][0], single["embedding"], atol=1e-5)
    assert not np.allclose(batch["embeddings"][0], batch["embeddings"][1])


@pytest.mark.parametrize("body", [{}, {"text": "a", "texts": ["b"]}, {"texts": []}, {"text": 5}])
async def test_embed_text_rejects_ambiguous_bodies(api, body):
    response = await api.post("/api/v1/embed_text", json=body)
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "VALIDATION_ERROR"


async def test_an_image_over_the_byte_limit_fails_alone_in_both_transports(ml_settings):
    app = create_app(ml_settings.model_copy(update={"max_image_bytes": 2000}))
    big, small = camera_like_jpeg(160, 120), jpeg()
    assert len(big) > 2000 >= len(small)
    async with client_of(app) as client:
        as_json = await client.post(BATCH, json={"images": [item("big", big), item("small", small)]})
        files = [("images", ("big.jpg", big, "image/jpeg")), ("images", ("small.jpg", small, "image/jpeg"))]
        as_multipart = await client.post("/api/v1/embed_images", files=files)
    for response in (as_json, as_multipart):
        big_result, small_result = response.json()["results"]
        assert big_result["error"] == {"code": "FILE_TOO_LARGE", "message": "The image exceeds 2000 bytes."}
        assert small_result["error"] is None


async def test_the_batch_body_stays_documented_though_it_is_parsed_off_the_event_loop(api):
    operation = (await api.get("/openapi.json")).json()["paths"][BATCH]["post"]
    schema = operation["requestBody"]["content"]["application/json"]["schema"]
    assert operation["requestBody"]["required"] is True
    assert schema["required"] == ["images"]
    assert set(schema["properties"]["images"]["items"]["properties"]) == {"unique_id", "image_base64", "filename"}
    assert "$ref" not in str(schema)
