"""Request bodies for the ML service, as its clients build them."""

from __future__ import annotations

import base64

from tests.samples import solid_image


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def item(unique_id: str, data: bytes, filename: str | None = "x.jpg") -> dict:
    """One entry of `batch_embed_and_caption`'s `images` (the original service's shape)."""
    body = {"unique_id": unique_id, "image_base64": b64(data)}
    if filename is not None:
        body["filename"] = filename
    return body


def jpeg(color: tuple[int, int, int] = (10, 120, 200), size: tuple[int, int] = (80, 60)) -> bytes:
    return solid_image(color, size, fmt="JPEG")
