"""The ML inference service: batched image embeddings + captions, text embeddings, behind an API key."""

from __future__ import annotations

import asyncio
import base64
import binascii
import logging
import threading
from contextlib import asynccontextmanager
from functools import partial
from typing import Annotated, AsyncIterator, Callable

import torch
from fastapi import APIRouter, Depends, FastAPI, File, Form, Query, UploadFile
from fastapi.responses import JSONResponse
from fastapi_offline import FastAPIOffline

from sightline import __version__
from sightline.config import MLSettings
from sightline.errors import ErrorCode, ItemError, SightlineError
from sightline.http import BodySizeLimit, install_error_handlers
from sightline.imaging import SUPPORTED_FORMATS
from sightline.inference.batching import BatchRunner, ImageInput, ImageOutcome
from sightline.inference.models.base import ModelBackend
from sightline.inference.models.registry import load_backend
from sightline.inference.schemas import (
    BatchRequest,
    BatchResponse,
    ImageResult,
    MessageResponse,
    ModelSummary,
    SingleTextResponse,
    TextBatchResponse,
    TextRequest,
)
from sightline.security import api_key_dependency

log = logging.getLogger("sightline.ml")
BackendLoader = Callable[[MLSettings], ModelBackend]


class ModelHolder:
    """Loads the backend off the event loop; requests wait for it, /health reports it."""

    def __init__(self, settings: MLSettings, loader: BackendLoader = load_backend):
        self.settings = settings
        self.loader = loader
        self.backend: ModelBackend | None = None
        self.runner: BatchRunner | None = None
        self.load_error: str | None = None
        self._lock = threading.Lock()

    def load(self) -> BatchRunner:
        with self._lock:
            if self.runner is None:
                try:
                    backend = self.loader(self.settings)
                except Exception as exc:
                    self.load_error = f"{type(exc).__name__}: {exc}"
                    log.exception("model backend %s failed to load", self.settings.models)
                    raise
                self.backend = backend
                self.load_error = None
                self.runner = BatchRunner(
                    backend,
                    workers=self.settings.decode_workers,
                    chunk_size=self.settings.model_batch_size,
                    max_pixels=self.settings.max_image_pixels,
                )
                log.info("models loaded: %s", backend.info)
            return self.runner

    def unload(self) -> None:
        with self._lock:
            if self.runner is not None:
                self.runner.close()
                self.runner.backend.unload()
            self.runner = None
            self.backend = None

    async def ready_runner(self) -> BatchRunner:
        if self.runner is not None:
            return self.runner
        try:
            return await asyncio.to_thread(self.load)
        except Exception as exc:
            raise SightlineError(
                ErrorCode.MODEL_NOT_READY, f"The models could not be loaded: {exc}", status=503
            ) from exc


def model_summary(backend: ModelBackend) -> ModelSummary:
    info = backend.info
    return ModelSummary(
        backend=info.backend,
        embedding_model=info.embedding_model,
        dimension=info.dimension,
        caption_model=info.caption_model,
        caption_kind=info.caption_kind,
        meaningful=info.meaningful,
    )


def too_large(max_bytes: int) -> ItemError:
    return ItemError(code=ErrorCode.FILE_TOO_LARGE, message=f"The image exceeds {max_bytes} bytes.")


def decode_base64(value: str, max_bytes: int) -> bytes | ItemError:
    if value.startswith("data:") and "," in value:
        value = value.split(",", 1)[1]
    value = "".join(value.split())
    if len(value) * 3 // 4 > max_bytes:
        return too_large(max_bytes)
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as exc:
        return ItemError(code=ErrorCode.INVALID_BASE64, message=f"Invalid base64 data: {exc}")


def to_result(
    outcome: ImageOutcome, unique_id: str, filename: str | None, backend: ModelBackend, caption: bool
) -> ImageResult:
    info = backend.info
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
        model_name_clip=info.embedding_model,
        model_name_blip=info.caption_model,
        device_used=info.device,
        error=outcome.error,
    )


def check_batch_size(count: int, settings: MLSettings) -> None:
    if count > settings.max_batch_size:
        raise SightlineError(
            ErrorCode.BATCH_TOO_LARGE,
            f"{count} images in one request; the limit is {settings.max_batch_size}.",
            where="images",
            status=413,
        )
    if count == 0:
        raise SightlineError(ErrorCode.VALIDATION_ERROR, "No images in the request.", where="images", status=422)


def build_router(holder: ModelHolder, settings: MLSettings) -> APIRouter:
    router = APIRouter(prefix="/api/v1", dependencies=[Depends(api_key_dependency(settings.api_keys))])

    async def embed(
        inputs: list[ImageInput], ids: list[str], names: list[str | None], caption: bool
    ) -> BatchResponse:
        runner = await holder.ready_runner()
        outcomes, timings = await runner.run(inputs, caption)
        backend = runner.backend
        results = [to_result(o, i, n, backend, caption) for o, i, n in zip(outcomes, ids, names)]
        return BatchResponse(
            results=results,
            model=model_summary(backend),
            timings={"preprocess_seconds": timings.preprocess_seconds, "model_seconds": timings.model_seconds},
        )

    @router.post("/batch_embed_and_caption", response_model=BatchResponse)
    async def batch_embed_and_caption(
        body: BatchRequest,
        caption: Annotated[bool, Query(description="Generate captions (the original's switch).")] = True,
    ) -> BatchResponse:
        """Embed and caption base64 images (the original service's request shape)."""
        check_batch_size(len(body.images), settings)
        want_caption = body.caption if body.caption is not None else caption
        inputs = [partial(decode_base64, item.image_base64, settings.max_image_bytes) for item in body.images]
        return await embed(
            inputs, [i.unique_id for i in body.images], [i.filename for i in body.images], want_caption
        )

    @router.post("/embed_images", response_model=BatchResponse)
    async def embed_images(
        images: Annotated[list[UploadFile], File(description="Image files, answered in this order.")],
        unique_ids: Annotated[list[str] | None, Form(description="One id per file; default: index.")] = None,
        caption: Annotated[bool, Form(description="Generate captions.")] = True,
    ) -> BatchResponse:
        """The binary variant: multipart files instead of base64, same response."""
        check_batch_size(len(images), settings)
        if unique_ids is not None and len(unique_ids) != len(images):
            raise SightlineError(
                ErrorCode.VALIDATION_ERROR,
                f"{len(unique_ids)} unique_ids for {len(images)} images.",
                where="unique_ids",
                status=422,
            )
        inputs: list[ImageInput] = []
        for upload in images:
            data = await upload.read(settings.max_image_bytes + 1)
            inputs.append(too_large(settings.max_image_bytes) if len(data) > settings.max_image_bytes else data)
        ids = unique_ids or [str(index) for index in range(len(images))]
        return await embed(inputs, ids, [u.filename for u in images], caption)

    @router.post("/embed_text", response_model=SingleTextResponse | TextBatchResponse)
    async def embed_text(body: TextRequest) -> SingleTextResponse | TextBatchResponse:
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

    @router.get("/capabilities")
    async def capabilities() -> dict:
        """What this service runs and accepts, with the original service's keys beside ours."""
        runner = await holder.ready_runner()
        info = runner.backend.info
        return {
            **model_summary(runner.backend).model_dump(),
            "device": info.device,
            "max_batch_size": settings.max_batch_size,
            "model_batch_size": settings.model_batch_size,
            "decode_workers": settings.decode_workers,
            "max_image_pixels": settings.max_image_pixels,
            "max_image_bytes": settings.max_image_bytes,
            "max_request_bytes": settings.max_request_bytes,
            "formats": list(SUPPORTED_FORMATS),
            "transports": ["base64-json", "multipart"],
            "version": __version__,
            "safe_clip_batch": settings.max_batch_size,
            "safe_blip_batch": settings.max_batch_size,
            "safe_batch_size": settings.max_batch_size,
            "clip_model_loaded": True,
            "blip_model_loaded": info.caption_kind == "generated",
            "device_type": info.device.split(":")[0],
            "cuda_available": torch.cuda.is_available(),
            "model_name_clip": info.embedding_model,
            "model_name_blip": info.caption_model,
        }

    @router.post("/warmup", response_model=MessageResponse)
    async def warmup() -> MessageResponse:
        runner = await holder.ready_runner()
        return MessageResponse(message=f"Models loaded: {runner.backend.info.embedding_model}")

    @router.post("/cooldown", response_model=MessageResponse)
    async def cooldown() -> MessageResponse:
        await asyncio.to_thread(holder.unload)
        return MessageResponse(message="Models unloaded; the next request loads them again.")

    return router


def create_app(settings: MLSettings | None = None, loader: BackendLoader = load_backend) -> FastAPI:
    """`loader` builds the backend from the settings; benchmarks pass their own (e.g. full-size random CLIP)."""
    settings = settings or MLSettings()
    holder = ModelHolder(settings, loader)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        loading = asyncio.create_task(asyncio.to_thread(_load_quietly, holder))
        yield
        loading.cancel()
        await asyncio.to_thread(holder.unload)

    app = FastAPIOffline(  # API docs served from the package: they work with no internet
        title="Sightline ML inference service",
        version=__version__,
        description="Batched image embeddings and captions, and text embeddings. Every /api/v1 route "
        "needs the x-api-key header when keys are configured.",
        lifespan=lifespan,
    )
    app.state.holder = holder
    app.state.settings = settings
    install_error_handlers(app)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_request_bytes)

    @app.get("/health")
    async def health() -> JSONResponse:
        """Open liveness check: 200 when the models are loaded, 503 while loading or after a failure."""
        backend = holder.backend
        if backend is None:
            status = "error" if holder.load_error else "loading"
            return JSONResponse({"status": status, "models_loaded": False, "error": holder.load_error}, 503)
        return JSONResponse(
            {"status": "ok", "models_loaded": True, "backend": backend.info.backend, "version": __version__}
        )

    app.include_router(build_router(holder, settings))
    return app


def _load_quietly(holder: ModelHolder) -> None:
    try:
        holder.load()
    except Exception:
        pass  # recorded in holder.load_error and reported by /health
