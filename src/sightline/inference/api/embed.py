"""Image embeddings + captions (base64 JSON, the original's shape, or multipart) and text embeddings."""

from __future__ import annotations

import asyncio
import binascii
from functools import partial
from typing import Annotated

import pybase64  # SIMD base64: ~15x the standard library's speed on a 3 MB image
from fastapi import APIRouter, Query, Request, Response
from pydantic import TypeAdapter, ValidationError

from sightline.config import MLSettings
from sightline.errors import ErrorCode, ItemError, SightlineError
from sightline.inference.batching import BatchRunner, BatchStream, BatchTimings, ImageOutcome
from sightline.inference.holder import Holder
from sightline.inference.json_body import json_body, parse_json
from sightline.inference.models.base import ModelInfo
from sightline.inference.multipart import ImagePart, read_parts
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
    `max_request_images`; at most `max_batch_size` of them are held decoded at once."""
    settings = holder.settings
    body = await parse_json(request, BatchRequest)
    check_batch_size(len(body.images), settings)
    want_caption = body.caption if body.caption is not None else caption
    runner = await holder.ready_runner()
    stream = open_stream(runner, settings, want_caption)
    for item in body.images:
        await stream.add(partial(decode_base64, item.image_base64, settings.max_image_bytes))
    outcomes, timings = await stream.finish()
    ids = [item.unique_id for item in body.images]
    return await respond(runner, outcomes, timings, ids, [item.filename for item in body.images], want_caption)


MULTIPART_BODY = {"requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
    "type": "object",
    "required": ["images"],
    "properties": {
        "images": {"type": "array", "items": {"type": "string", "format": "binary"},
                   "description": "Image files, answered in this order."},
        "unique_ids": {"type": "array", "items": {"type": "string"}, "description": "One id per file; default: index."},
        "caption": {"type": "boolean", "default": True, "description": "Generate captions."},
    },
}}}}}
_BOOL = TypeAdapter(bool)


@router.post("/embed_images", response_model=BatchResponse, openapi_extra=MULTIPART_BODY)
async def embed_images(holder: Holder, request: Request) -> Response:
    """The binary variant: multipart files instead of base64, same response. Each image is decoded as soon
    as its bytes have arrived, while the rest of the request is still uploading."""
    settings = holder.settings
    runner = await holder.ready_runner()
    stream = open_stream(runner, settings)
    names: list[str | None] = []
    unique_ids: list[str] | None = None
    try:
        async for part in read_parts(request, max_image_bytes=settings.max_image_bytes,
                                     max_files=request_image_cap(settings)):
            if isinstance(part, ImagePart):
                names.append(part.filename)
                await stream.add(too_large(settings.max_image_bytes) if part.too_large else part.data)
            elif part.name == "unique_ids":
                unique_ids = unique_ids if unique_ids is not None else []
                unique_ids.append(part.value)
            elif part.name == "caption":
                stream.set_caption(form_bool(part.value, "caption"))
        check_form(names, unique_ids)
    except BaseException:
        stream.cancel()
        raise
    outcomes, timings = await stream.finish()
    ids = unique_ids or [str(index) for index in range(len(names))]
    return await respond(runner, outcomes, timings, ids, names, stream.caption)


def form_bool(value: str, where: str) -> bool:
    try:
        return _BOOL.validate_python(value.strip())
    except ValidationError:
        raise SightlineError(ErrorCode.VALIDATION_ERROR, f"{where}: {value[:40]!r} is not a boolean.", where=where,
                             status=422) from None


def check_form(names: list[str | None], unique_ids: list[str] | None) -> None:
    if not names:
        raise SightlineError(ErrorCode.VALIDATION_ERROR, "images: Field required", where="images", status=422)
    if unique_ids is not None and len(unique_ids) != len(names):
        raise SightlineError(
            ErrorCode.VALIDATION_ERROR,
            f"{len(unique_ids)} unique_ids for {len(names)} images.",
            where="unique_ids",
            status=422,
        )


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


def open_stream(runner: BatchRunner, settings: MLSettings, caption: bool | None = None) -> BatchStream:
    """`max_batch_size` images of a request held decoded at most (so its memory stays bounded), the model run
    every `model_batch_size` of them."""
    group = min(settings.model_batch_size, settings.max_batch_size)
    return runner.stream(group=group, window=settings.max_batch_size, caption=caption)


async def respond(runner: BatchRunner, outcomes: list[ImageOutcome], spent: BatchTimings, ids: list[str],
                  names: list[str | None], caption: bool) -> Response:
    """Both image transports end here: one result per input, in order; encoded to JSON off the event loop."""
    info = runner.backend.info
    results = [to_result(o, i, n, info, caption) for o, i, n in zip(outcomes, ids, names)]
    timings = {"preprocess_seconds": spent.preprocess_seconds, "model_seconds": spent.model_seconds}
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
        caption=(outcome.caption or "") if ok and caption else ("" if ok else None),
        caption_kind=info.caption_kind if ok and caption else None,
        format=outcome.format,
        width=outcome.width,
        height=outcome.height,
        phash=outcome.phash,
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
    if len(value) * 3 // 4 > max_bytes and len("".join(value.split())) * 3 // 4 > max_bytes:
        return too_large(max_bytes)
    try:
        return pybase64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):  # line breaks (MIME base64) fail the strict check: once more without
        pass
    try:
        return pybase64.b64decode("".join(value.split()), validate=True)
    except (binascii.Error, ValueError) as exc:
        return ItemError(code=ErrorCode.INVALID_BASE64, message=f"Invalid base64 data: {exc}")
