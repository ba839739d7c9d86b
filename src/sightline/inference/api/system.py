"""Liveness (open), what the service runs and accepts, and loading / unloading the models."""

from __future__ import annotations

import asyncio

import torch
from fastapi import APIRouter
from fastapi.responses import JSONResponse

from sightline import __version__
from sightline.imaging import SUPPORTED_FORMATS
from sightline.inference.api.embed import request_image_cap
from sightline.inference.holder import Holder
from sightline.inference.models.registry import resolve_device
from sightline.inference.safe_batch import safe_batch
from sightline.inference.schemas import MessageResponse, ModelSummary, original_model_names

public = APIRouter()  # no API key
router = APIRouter()


@public.get("/")
async def root() -> MessageResponse:
    """Open, like /health: the original service answered this and its start script probes it."""
    return MessageResponse(message="ML Inference Service is running.")


@public.get("/health")
async def health(holder: Holder) -> JSONResponse:
    """Open liveness check: 200 when the models are loaded or were unloaded by /cooldown (they load again on
    the next request; `models_loaded` says which); 503 while the first load runs or after a failed one."""
    backend = holder.backend
    if backend is None and (holder.load_error or not holder.cooled_down):
        status = "error" if holder.load_error else "loading"
        return JSONResponse({"status": status, "models_loaded": False, "error": holder.load_error}, 503)
    return JSONResponse({
        "status": "ok",
        "models_loaded": backend is not None,
        "backend": backend.info.backend if backend else holder.settings.models,
        "version": __version__,
    })


@router.get("/capabilities")
async def capabilities(holder: Holder) -> dict:
    """What this service runs and accepts, with the original service's keys beside ours. While a load is
    under way it answers at once, without the model's keys and with `models_loaded: false`."""
    runner = holder.runner if holder.loading else await holder.ready_runner()
    settings = holder.settings
    ours = {
        "backend": settings.models,
        "max_batch_size": settings.max_batch_size,
        "model_batch_size": settings.model_batch_size,
        "decode_workers": settings.decode_workers,
        "max_image_pixels": settings.max_image_pixels,
        "max_image_bytes": settings.max_image_bytes,
        "max_request_bytes": settings.max_request_bytes,
        "max_request_images": request_image_cap(settings),
        "formats": list(SUPPORTED_FORMATS),
        "transports": ["base64-json", "multipart"],
        "version": __version__,
        "cuda_available": torch.cuda.is_available(),
    }
    if runner is None:
        device = resolve_device(settings.device)
        return {**ours, **original_batch_keys(device, None, settings.max_batch_size), "models_loaded": False,
                "clip_model_loaded": False, "blip_model_loaded": False, "device_type": device.split(":")[0]}
    info = runner.backend.info
    return {
        **ours,
        **ModelSummary.from_info(info).model_dump(),
        "device": info.device,
        "min_image_side": info.min_image_side,  # the short side an image may be reduced to before it is sent
        "precision": info.precision,  # lite: "fp32" or "int8" image model (SIGHTLINE_LITE_PRECISION); else null
        "models_loaded": True,
        **original_batch_keys(info.device, holder.bytes_per_item, settings.max_batch_size),
        "clip_model_loaded": True,
        "blip_model_loaded": info.caption_kind == "generated",
        "device_type": info.device.split(":")[0],
        **original_model_names(info),
    }


def original_batch_keys(device: str, bytes_per_item: int | None, limit: int) -> dict[str, int]:
    size = safe_batch(device, bytes_per_item, limit)
    return {"safe_clip_batch": size, "safe_blip_batch": size, "safe_batch_size": size}


@router.post("/warmup", response_model=MessageResponse)
async def warmup(holder: Holder) -> MessageResponse:
    runner = await holder.ready_runner()
    return MessageResponse(message=f"Models loaded: {runner.backend.info.embedding_model}")


@router.post("/cooldown", response_model=MessageResponse)
async def cooldown(holder: Holder) -> MessageResponse:
    await asyncio.to_thread(holder.unload)
    return MessageResponse(message="Models unloaded; the next request loads them again.")
