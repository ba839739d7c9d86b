"""Picks and loads the backend named by SIGHTLINE_MODELS; the service only sees ModelBackend."""

from __future__ import annotations

import torch

from sightline.config import MLSettings
from sightline.inference.models.base import ModelBackend


def resolve_device(requested: str) -> str:
    if requested == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return requested


def load_backend(settings: MLSettings) -> ModelBackend:
    """Imports the chosen backend's module only (clip and tiny import transformers)."""
    torch.set_num_threads(settings.model_threads)
    device = resolve_device(settings.device)
    match settings.models:
        case "tiny":
            from sightline.inference.models.tiny import build_tiny_backend

            return build_tiny_backend(device)
        case "clip":
            from sightline.inference.models.clip import ClipBackend

            return ClipBackend.from_pretrained(settings.clip_model, settings.caption_model or None, device)
        case "lite":
            from sightline.inference.models.lite import LiteBackend

            return LiteBackend(settings.data_dir / "models", threads=settings.model_threads,
                               precision=settings.lite_precision)
    raise ValueError(f"unknown SIGHTLINE_MODELS {settings.models!r}: expected lite, clip or tiny")
