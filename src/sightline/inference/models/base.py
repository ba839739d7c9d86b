"""The one small interface every model backend implements; the service code knows nothing else."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from PIL import Image

CaptionKind = Literal["generated", "label-based", "none"]


@dataclass(frozen=True)
class ModelInfo:
    backend: str  # "lite" | "clip" | "tiny"
    embedding_model: str  # name reported as model_name_clip
    dimension: int
    caption_model: str | None  # name reported as model_name_blip
    caption_kind: CaptionKind
    min_image_side: int  # smallest short side preprocessing needs; lets JPEGs decode at reduced size
    device: str  # "cpu" | "cuda"
    meaningful: bool = True  # False for random test models: every response says so
    precision: str | None = None  # "fp32" | "int8" for the lite image model (SIGHTLINE_LITE_PRECISION)


@dataclass
class ImageBatchOutput:
    embeddings: np.ndarray  # (N, dimension) float32, L2-normalised
    captions: list[str] | None  # None when captioning was not asked for


class ModelBackend(ABC):
    """Load once, then: preprocess each image (thread-safe, runs in the decode pool), run a whole batch."""

    info: ModelInfo

    @abstractmethod
    def preprocess(self, image: Image.Image) -> Any:
        """RGB image (short side >= info.min_image_side when the original allows) → model input for one image.

        Called concurrently from worker threads; must not touch shared mutable state.
        """

    @abstractmethod
    def embed_images(self, items: list[Any], caption: bool) -> ImageBatchOutput:
        """Run the model once over a list of preprocessed items (the caller chunks to a safe size)."""

    @abstractmethod
    def embed_texts(self, texts: list[str]) -> np.ndarray:
        """(N, dimension) float32, L2-normalised, in the same space as image embeddings."""

    def unload(self) -> None:
        """Free memory; the service calls load_backend again to get a new one."""


def l2_normalise(vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.maximum(norms, 1e-12)
