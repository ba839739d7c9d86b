"""Image embeddings + captions (base64 JSON, the original's shape, or multipart) and text embeddings."""

from __future__ import annotations

import asyncio
import base64
import binascii
from functools import partial
from typing import Annotated

from fastapi import APIRouter, File, Form, Query, Request, Response, UploadFile

from sightline.config import MLSettings
from sightline.errors import ErrorCode, ItemError, SightlineError
from sightline.inference.batching import ImageInput, ImageOutcome
from sightline.inference.holder import Holder, ModelHolder
from sightline.inference.json_body import json_body, parse_json
from sightline.inference.models.base import ModelInfo
from sightline.inference.schemas import (
    BatchRequest,
    BatchResponse,
    ImageResult,
    ModelSummary,
    SingleTextResponse,
    TextBatchResponse,
    TextRequest,
    original_model_names,
)

router = APIRouter()


@router.post("/batch_embed_and_caption", response_model=BatchResponse, openapi_extra=json_body(BatchRequest))
async def batch_embed_and_caption(
    holder: Holder,
    request: Request,
    caption: Annotated[bool, Query(description="Generate captions (the original's switch).")] = True,
) -> Response:
    """Embed and caption base64 images (the original service's request shape). Any number of images up to
    `max_request_images`; they are decoded and run `max_batch_size` at a time."""
    settings = holder.settings
    body = await parse_json(request, BatchRequest)
    check_batch_size(len(body.images), settings)
    want_caption = body.caption if body.caption is not None else caption
    inputs = [partial(decode_base64, item.image_base64, settings.max_image_bytes) for item in body.images]
    ids = [item.unique_id for item in body.images]
    return await embed(holder, inputs, ids, [item.filename for item in body.images], want_caption)


@router.post("/embed_images", response_model=BatchResponse)
async def embed_images(
    holder: Holder,
    images: Annotated[list[UploadFile], File(description="Image files, answered in this order.")],
    unique_ids: Annotated[list[str] | None, Form(description="One id per file; default: index.")] = None,
    caption: Annotated[bool, Form(description="Generate captions.")] = True,
) -> Response:
    """The binary variant: multipart files instead of base64, same response."""
    settings = holder.settings
    check_batch_size(len(images), settings)
    if unique_ids is not None and len(unique_ids) != len(images):
        raise SightlineError(
            ErrorCode.VALIDATION_ERROR,
            f"{len(unique_ids)} unique_ids for {len(images)} images.",
            where="unique_ids",
            status=422,
        )
    limit = settings.max_image_bytes
    inputs: list[ImageInput] = []
    for upload in images:
        data = await upload.read(limit + 1)
        inputs.append(too_large(limit) if len(data) > limit else data)
    ids = unique_ids or [str(index) for index in range(len(images))]
    return await embed(holder, inputs, ids, [upload.filename for upload in images], caption)


@router.post("/embed_text", response_model=SingleTextResponse | TextBatchResponse)
async def embed_text(holder: Holder, body: TextRequest) -> SingleTextResponse | TextBatchResponse:
    """`{"text"}` → one embedding (original form); `{"texts": [...]}` → a batch."""
    runner = await holder.ready_runner()
    texts = body.texts if body.texts is not None else [body.text or ""]
    vectors = await runner.embed_texts(texts)
    info = runner.backend.info
    if body.texts is None:
        return SingleTextResponse(
            embedding=vectors[0].tolist(), embedding_shape=[info.dimension], model_name=info.embedding_model
        )
    return TextBatchResponse(
        embeddings=vectors.tolist(), embedding_shape=[len(texts), info.dimension], model_name=info.embedding_model
    )


async def embed(
    holder: ModelHolder, inputs: list[ImageInput], ids: list[str], names: list[str | None], caption: bool
) -> Response:
    """Both image transports end here: `max_batch_size` images at a time through the runner (so one request's
    decoded images stay bounded), one result per input, in order; encoded to JSON off the event loop."""
    runner = await holder.ready_runner()
    info = runner.backend.info
    group = holder.settings.max_batch_size
    results: list[ImageResult] = []
    timings = {"preprocess_seconds": 0.0, "model_seconds": 0.0}
    for start in range(0, len(inputs), group):
        outcomes, spent = await runner.run(inputs[start : start + group], caption)
        timings["preprocess_seconds"] += spent.preprocess_seconds
        timings["model_seconds"] += spent.model_seconds
        chunk = zip(outcomes, ids[start : start + group], names[start : start + group])
        results.extend(to_result(o, i, n, info, caption) for o, i, n in chunk)
    response = BatchResponse(results=results, model=ModelSummary.from_info(info), timings=timings)
    return Response(await asyncio.to_thread(response.model_dump_json), media_type="application/json")


def to_result(
    outcome: ImageOutcome, unique_id: str, filename: str | None, info: ModelInfo, caption: bool
) -> ImageResult:
    ok = outcome.error is None
    return ImageResult(
        unique_id=unique_id,
        filename=filename,
        embedding=outcome.embedding.tolist() if ok else None,
        embedding_shape=[info.dimension] if ok else None,
        caption=(outcome.caption or "") if ok else None,
        caption_kind=info.caption_kind if ok and caption else None,
        format=outcome.format,
        width=outcome.width,
        height=outcome.height,
        device_used=info.device,
        error=outcome.error,
        **original_model_names(info),
    )


REQUEST_IMAGE_CAP = 10_000  # images in one request, whatever max_batch_size (the body limit caps the bytes)


def request_image_cap(settings: MLSettings) -> int:
    return max(REQUEST_IMAGE_CAP, settings.max_batch_size)


def check_batch_size(count: int, settings: MLSettings) -> None:
    """Requests over max_batch_size are run in chunks; only a count far above it is refused."""
    cap = request_image_cap(settings)
    if count > cap:
        raise SightlineError(
            ErrorCode.BATCH_TOO_LARGE, f"{count} images in one request; the limit is {cap}.", where="images", status=413
        )


def too_large(max_bytes: int) -> ItemError:
    return ItemError(code=ErrorCode.FILE_TOO_LARGE, message=f"The image exceeds {max_bytes} bytes.")


def decode_base64(value: str, max_bytes: int) -> bytes | ItemError:
    """Runs in the decode pool (deferred by `partial`), not on the event loop."""
    if value.startswith("data:") and "," in value:
        value = value.split(",", 1)[1]
    value = "".join(value.split())
    if len(value) * 3 // 4 > max_bytes:
        return too_large(max_bytes)
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as exc:
        return ItemError(code=ErrorCode.INVALID_BASE64, message=f"Invalid base64 data: {exc}")
