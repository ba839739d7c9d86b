"""Liveness (open), what the service runs and accepts, and loading / unloading the models."""

from __future__ import annotations

import asyncio

import torch
from fastapi import APIRouter
from fastapi.responses import JSONResponse

from sightline import __version__
from sightline.imaging import SUPPORTED_FORMATS
from sightline.inference.holder import Holder
from sightline.inference.schemas import MessageResponse, ModelSummary, original_model_names

public = APIRouter()  # no API key
router = APIRouter()


@public.get("/health")
async def health(holder: Holder) -> JSONResponse:
    """Open liveness check: 200 when the models are loaded, 503 while loading or after a failure."""
    backend = holder.backend
    if backend is None:
        status = "error" if holder.load_error else "loading"
        return JSONResponse({"status": status, "models_loaded": False, "error": holder.load_error}, 503)
    return JSONResponse(
        {"status": "ok", "models_loaded": True, "backend": backend.info.backend, "version": __version__}
    )


@router.get("/capabilities")
async def capabilities(holder: Holder) -> dict:
    """What this service runs and accepts, with the original service's keys beside ours."""
    runner = await holder.ready_runner()
    info = runner.backend.info
    settings = holder.settings
    return {
        **ModelSummary.from_info(info).model_dump(),
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
        **original_model_names(info),
    }


@router.post("/warmup", response_model=MessageResponse)
async def warmup(holder: Holder) -> MessageResponse:
    runner = await holder.ready_runner()
    return MessageResponse(message=f"Models loaded: {runner.backend.info.embedding_model}")


@router.post("/cooldown", response_model=MessageResponse)
async def cooldown(holder: Holder) -> MessageResponse:
    await asyncio.to_thread(holder.unload)
    return MessageResponse(message="Models unloaded; the next request loads them again.")
