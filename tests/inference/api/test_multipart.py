"""`/embed_images` parses its multipart body as it arrives: limits, malformed bodies, and decoding that starts
before the upload ends."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from sightline.inference import batching
from sightline.inference.api import embed
from sightline.inference.app import create_app
from tests.inference.conftest import client_of
from tests.inference.payloads import b64, item, jpeg

pytestmark = pytest.mark.asyncio(loop_scope="session")

EMBED = "/api/v1/embed_images"
BOUNDARY = "sightline-test-boundary"
HEADERS = {"content-type": f"multipart/form-data; boundary={BOUNDARY}"}


def part(name: str, data: bytes, filename: str | None = None) -> bytes:
    disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename else "")
    return f"--{BOUNDARY}\r\ncontent-disposition: {disposition}\r\n\r\n".encode() + data + b"\r\n"


END = f"--{BOUNDARY}--\r\n".encode()


async def test_a_caption_field_after_the_images_still_counts(api):
    body = part("images", jpeg(), "a.jpg") + part("images", jpeg((0, 9, 0)), "b.jpg") + part("caption", b"false") + END
    results = (await api.post(EMBED, content=body, headers=HEADERS)).json()["results"]
    assert [(r["caption"], r["caption_kind"]) for r in results] == [("", None), ("", None)]


async def test_a_caption_field_after_more_images_than_are_held_at_once_does_not_stall(ml_settings):
    """The model cannot wait for the field forever (the upload waits for the model to make room): it goes
    on with the default, and the late `false` drops the captions from the answer."""
    app = create_app(ml_settings.model_copy(update={"max_batch_size": 2, "model_batch_size": 2}))
    body = b"".join(part("images", jpeg((i, 0, 0)), f"{i}.jpg") for i in range(5)) + part("caption", b"false") + END
    async with client_of(app) as client:
        response = await asyncio.wait_for(client.post(EMBED, content=body, headers=HEADERS), 60)
    results = response.json()["results"]
    assert [(r["error"], r["caption"], r["caption_kind"]) for r in results] == [(None, "", None)] * 5


@pytest.mark.parametrize("body", [
    part("images", jpeg(), "a.jpg"),  # no closing boundary
    b"this is not multipart at all",
    f"--{BOUNDARY}\r\nno-colon-header\r\n\r\nx\r\n".encode() + END,
])
async def test_a_malformed_body_is_a_structured_422(api, body):
    response = await api.post(EMBED, content=body, headers=HEADERS)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "VALIDATION_ERROR"


async def test_a_body_that_is_not_multipart_is_a_422(api):
    response = await api.post(EMBED, json={"images": []})
    assert response.status_code == 422
    assert response.json()["error"]["where"] == "body"


async def test_a_request_without_images_is_a_422_naming_them(api):
    response = await api.post(EMBED, content=part("caption", b"true") + END, headers=HEADERS)
    assert response.status_code == 422
    assert response.json()["error"]["where"] == "images"


async def test_a_caption_that_is_no_boolean_is_a_422(api):
    body = part("caption", b"perhaps") + part("images", jpeg(), "a.jpg") + END
    response = await api.post(EMBED, content=body, headers=HEADERS)
    assert response.status_code == 422
    assert response.json()["error"]["where"] == "caption"


async def test_a_form_field_over_one_megabyte_is_refused(api):
    body = part("unique_ids", b"x" * (1024 * 1024 + 1)) + part("images", jpeg(), "a.jpg") + END
    response = await api.post(EMBED, content=body, headers=HEADERS)
    assert response.status_code == 413
    assert response.json()["error"] == {"code": "VALIDATION_ERROR", "where": "unique_ids",
                                        "message": "The form field exceeds 1048576 bytes."}


async def test_more_images_than_the_request_cap_is_413(api, inference_app, monkeypatch):
    monkeypatch.setattr(embed, "REQUEST_IMAGE_CAP", 2)
    monkeypatch.setattr(inference_app.state.holder.settings, "max_batch_size", 2)
    body = b"".join(part("images", jpeg(), f"{i}.jpg") for i in range(3)) + END
    response = await api.post(EMBED, content=body, headers=HEADERS)
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "BATCH_TOO_LARGE"


async def test_decoding_starts_before_the_upload_ends(api, monkeypatch):
    """The body's second half is sent only once the first image has been decoded: a parser that waited for
    the whole body would never answer."""
    decoded = asyncio.Event()
    loop = asyncio.get_running_loop()
    prepare = batching.BatchRunner.prepare

    def spying_prepare(self, data):
        result = prepare(self, data)
        loop.call_soon_threadsafe(decoded.set)
        return result

    monkeypatch.setattr(batching.BatchRunner, "prepare", spying_prepare)

    second = part("images", jpeg((0, 200, 0)), "second.jpg")
    delimiter = f"--{BOUNDARY}\r\n".encode()  # a part ends where the next delimiter begins

    async def body() -> AsyncIterator[bytes]:
        yield part("images", jpeg(), "first.jpg") + delimiter
        await asyncio.wait_for(decoded.wait(), 30)
        yield second.removeprefix(delimiter) + END

    response = await api.post(EMBED, content=body(), headers=HEADERS)
    assert [r["error"] for r in response.json()["results"]] == [None, None]


async def test_base64_with_line_breaks_is_accepted(api):
    encoded = b64(jpeg())
    wrapped = "\n".join(encoded[i : i + 76] for i in range(0, len(encoded), 76))
    body = {"images": [{**item("w", b""), "image_base64": wrapped}]}
    assert (await api.post("/api/v1/batch_embed_and_caption", json=body)).json()["results"][0]["error"] is None
