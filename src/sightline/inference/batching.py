"""Decode a batch's images concurrently, then run the model once per chunk: never one image at a time."""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from sightline.errors import ErrorCode, ItemError, SightlineError
from sightline.imaging import DEFAULT_MAX_DECODE_BYTES, decode_image, shared_budget
from sightline.inference.models.base import ModelBackend


ImageInput = bytes | ItemError | Callable[[], bytes | ItemError]


@dataclass
class PreparedImage:
    model_input: Any
    format: str
    width: int
    height: int


@dataclass
class ImageOutcome:
    """One item's answer: either an embedding (and caption) or an error."""

    embedding: np.ndarray | None = None
    caption: str | None = None
    format: str | None = None
    width: int | None = None
    height: int | None = None
    error: ItemError | None = None


@dataclass
class BatchTimings:
    preprocess_seconds: float = 0.0
    model_seconds: float = 0.0


class BatchRunner:
    """Owns the decode pool and the single model thread."""

    def __init__(self, backend: ModelBackend, *, workers: int, chunk_size: int, max_pixels: int,
                 max_decode_bytes: int = DEFAULT_MAX_DECODE_BYTES):
        self.backend = backend
        self.chunk_size = chunk_size
        self.max_pixels = max_pixels
        self.budget = shared_budget(max_decode_bytes)  # bytes all decodes of the pool may hold at once
        self.decode_pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="decode")
        self.model_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="model")

    def close(self) -> None:
        self.decode_pool.shutdown(wait=False, cancel_futures=True)
        self.model_thread.shutdown(wait=False, cancel_futures=True)

    def prepare(self, data: bytes) -> PreparedImage:
        decoded = decode_image(data, min_side=self.backend.info.min_image_side, max_pixels=self.max_pixels,
                               budget=self.budget)
        return PreparedImage(
            self.backend.preprocess(decoded.image), decoded.format, decoded.width, decoded.height
        )

    def _prepare_or_error(self, data: ImageInput) -> PreparedImage | ItemError:
        if callable(data):
            data = data()  # deferred work, e.g. base64 decoding, done here in the pool
        if isinstance(data, ItemError):
            return data
        try:
            return self.prepare(data)
        except SightlineError as exc:
            return exc.to_item()
        except Exception as exc:  # a decoder bug must cost one item, never the batch
            return ItemError(code=ErrorCode.DECODE_FAILED, message=f"Could not decode the image: {exc}")

    def _infer(self, prepared: list[PreparedImage], caption: bool) -> list[ImageOutcome]:
        outcomes: list[ImageOutcome] = []
        for start in range(0, len(prepared), self.chunk_size):
            chunk = prepared[start : start + self.chunk_size]
            try:
                output = self.backend.embed_images([item.model_input for item in chunk], caption)
            except Exception as exc:
                error = ItemError(code=ErrorCode.ML_ITEM_FAILED, message=f"The model failed on this chunk: {exc}")
                outcomes.extend(ImageOutcome(error=error) for _ in chunk)
                continue
            for index, item in enumerate(chunk):
                outcomes.append(
                    ImageOutcome(
                        embedding=output.embeddings[index],
                        caption=output.captions[index] if output.captions is not None else "",
                        format=item.format,
                        width=item.width,
                        height=item.height,
                    )
                )
        return outcomes

    async def run(self, inputs: list[ImageInput], caption: bool) -> tuple[list[ImageOutcome], BatchTimings]:
        loop = asyncio.get_running_loop()
        timings = BatchTimings()
        started = time.perf_counter()
        prepared = await asyncio.gather(
            *(loop.run_in_executor(self.decode_pool, self._prepare_or_error, data) for data in inputs)
        )
        timings.preprocess_seconds = time.perf_counter() - started
        good = [item for item in prepared if isinstance(item, PreparedImage)]
        started = time.perf_counter()
        inferred = iter(await loop.run_in_executor(self.model_thread, self._infer, good, caption) if good else [])
        timings.model_seconds = time.perf_counter() - started
        outcomes = [
            ImageOutcome(error=item) if isinstance(item, ItemError) else next(inferred) for item in prepared
        ]
        return outcomes, timings

    async def embed_texts(self, texts: list[str]) -> np.ndarray:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.model_thread, self.backend.embed_texts, texts)
