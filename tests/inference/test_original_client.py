"""The original system's own ingestion client, as it drives the ML API, stores every photo.

`OriginalIngestClient` reproduces what that client does on the wire and its one known bug (see
docs/compatibility.md): it reads `/api/v1/capabilities` once (10 s timeout, 1 when that fails), sizes its
batches from `safe_blip_batch`, else `safe_clip_batch`, else `safe_batch_size` (no upper clamp), sends
full-resolution PNGs as base64 JSON with `?caption=true` and SHA-256 ids, and loses the batch still being
filled when the folder ends (it marks the job complete and cancels that request). Against the original ML
service on a CPU (safe batch 1) that bug never showed; these tests hold ours to the same.
"""

from __future__ import annotations

import base64
import hashlib
import io

import httpx
import pytest
from PIL import Image

pytestmark = pytest.mark.asyncio(loop_scope="session")

BATCH = "/api/v1/batch_embed_and_caption"


def photo(index: int) -> bytes:
    """A small distinct PNG: the original client re-encodes every file as PNG before sending it."""
    buffer = io.BytesIO()
    Image.new("RGB", (40 + index % 7, 30), (index * 37 % 256, index * 91 % 256, 120)).save(buffer, "PNG")
    return buffer.getvalue()


class OriginalIngestClient:
    def __init__(self, http: httpx.AsyncClient):
        self.http = http
        self.stored: dict[str, list[float]] = {}
        self.errors: list[str] = []

    async def batch_size(self) -> int:
        try:
            response = await self.http.get("/api/v1/capabilities", timeout=10)
            response.raise_for_status()
            caps = response.json()
        except Exception:
            return 1
        for key in ("safe_blip_batch", "safe_clip_batch", "safe_batch_size"):
            if caps.get(key):
                return int(caps[key])
        return 1

    async def ingest(self, photos: list[bytes]) -> None:
        size = await self.batch_size()
        pending: list[dict] = []
        for index, data in enumerate(photos):
            pending.append({
                "unique_id": hashlib.sha256(data).hexdigest(),
                "image_base64": base64.b64encode(data).decode(),
                "filename": f"IMG_{index:04d}.png",
            })
            if len(pending) == size:
                await self.send(pending)
                pending = []
        # The original marks the job completed here and cancels the request of the last, partial batch.

    async def send(self, images: list[dict]) -> None:
        response = await self.http.post(f"{BATCH}?caption=true", json={"images": images})
        response.raise_for_status()
        for result in response.json()["results"]:
            if result["error"]:
                self.errors.append(f"{result['filename']}: {result['error']}")
            elif result["embedding"]:
                self.stored[result["unique_id"]] = result["embedding"]


async def test_the_original_client_stores_every_photo_of_an_odd_folder(api):
    photos = [photo(index) for index in range(11)]
    client = OriginalIngestClient(api)
    await client.ingest(photos)
    assert client.errors == []
    assert sorted(client.stored) == sorted(hashlib.sha256(data).hexdigest() for data in photos)
    assert {len(vector) for vector in client.stored.values()} == {64}


async def test_the_original_keys_say_what_the_original_said_on_a_cpu(api):
    caps = (await api.get("/api/v1/capabilities")).json()
    assert (caps["safe_clip_batch"], caps["safe_blip_batch"], caps["safe_batch_size"]) == (1, 1, 1)
    assert (caps["device_type"], caps["cuda_available"]) == ("cpu", False)
    assert (caps["max_batch_size"], caps["model_batch_size"]) == (64, 8)  # ours, under our own keys


async def test_a_request_over_the_batch_limit_is_answered_in_chunks(api):
    """A client that sends a whole folder at once (more than max_batch_size) gets every result, in order."""
    photos = [photo(index) for index in range(70)]
    ids = [f"{index}-{hashlib.sha256(data).hexdigest()[:8]}" for index, data in enumerate(photos)]
    images = [{"unique_id": i, "image_base64": base64.b64encode(d).decode(), "filename": "x.png"}
              for i, d in zip(ids, photos)]
    response = await api.post(f"{BATCH}?caption=true", json={"images": images})
    assert response.status_code == 200
    results = response.json()["results"]
    assert [r["unique_id"] for r in results] == ids
    assert all(r["error"] is None and len(r["embedding"]) == 64 for r in results)
