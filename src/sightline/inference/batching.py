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
from sightline.imaging.phash import perceptual_hash
from sightline.inference.models.base import ModelBackend


ImageInput = bytes | ItemError | Callable[[], bytes | ItemError]


@dataclass
class PreparedImage:
    model_input: Any
    format: str
    width: int
    height: int
    phash: str


@dataclass
class ImageOutcome:
    """One item's answer: either an embedding (and caption) or an error."""

    embedding: np.ndarray | None = None
    caption: str | None = None
    format: str | None = None
    width: int | None = None
    height: int | None = None
    phash: str | None = None
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
        return PreparedImage(self.backend.preprocess(decoded.image), decoded.format, decoded.width,
                             decoded.height, perceptual_hash(decoded.image))

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
                        phash=item.phash,
                    )
                )
        return outcomes

    def stream(self, *, group: int, window: int, caption: bool | None, default_caption: bool = True) -> BatchStream:
        """A request's images, fed one at a time as they arrive (see BatchStream)."""
        return BatchStream(self, group=group, window=max(window, group), caption=caption,
                           default_caption=default_caption)

    def submit(self, data: ImageInput) -> asyncio.Future[PreparedImage | ItemError]:
        """Decode ``data`` in the pool, starting now."""
        return asyncio.get_running_loop().run_in_executor(self.decode_pool, self._prepare_or_error, data)

    async def infer(self, prepared: list[PreparedImage], caption: bool) -> list[ImageOutcome]:
        if not prepared:
            return []
        return await asyncio.get_running_loop().run_in_executor(self.model_thread, self._infer, prepared, caption)

    async def embed_texts(self, texts: list[str]) -> np.ndarray:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.model_thread, self.backend.embed_texts, texts)


class BatchStream:
    """One request's images through the runner while the request is still arriving: each image is decoded
    as soon as it is added, and every ``group`` decoded images go through the model together. At most
    ``window`` images are held decoded but not yet embedded; `add` waits for room (the upload waits with it).
    The model waits for ``caption`` to be known (`set_caption`), but not forever: when the window is full,
    or at `finish`, it goes on with ``default_caption`` (a multipart form may name `caption` after its
    images; a later `set_caption(False)` then only drops the captions from the answer)."""

    def __init__(self, runner: BatchRunner, *, group: int, window: int, caption: bool | None,
                 default_caption: bool):
        self.runner = runner
        self.group = group
        self.caption = default_caption if caption is None else caption
        self.timings = BatchTimings()
        self._room = asyncio.Semaphore(window)
        self._caption_known = asyncio.Event()
        if caption is not None:
            self._caption_known.set()
        self._pending: list[asyncio.Future[PreparedImage | ItemError]] = []
        self._chunks: list[asyncio.Task[list[ImageOutcome]]] = []
        self._first_added: float | None = None

    def set_caption(self, caption: bool) -> None:
        self.caption = caption
        self._caption_known.set()

    async def add(self, data: ImageInput) -> None:
        if self._room.locked():  # the model must run to make room: with the default if still unknown
            self._caption_known.set()
        await self._room.acquire()
        if self._first_added is None:
            self._first_added = time.perf_counter()
        self._pending.append(self.runner.submit(data))
        if len(self._pending) >= self.group:
            self._flush()

    async def finish(self) -> tuple[list[ImageOutcome], BatchTimings]:
        """Every added image's outcome, in order."""
        self._flush()
        self._caption_known.set()
        try:
            chunks = await asyncio.gather(*self._chunks)
        finally:
            self.cancel()
        return [outcome for chunk in chunks for outcome in chunk], self.timings

    def cancel(self) -> None:
        """Drop the work not done yet (a request that failed half-way)."""
        for task in self._chunks:
            task.cancel()
        for future in self._pending:
            future.cancel()

    def _flush(self) -> None:
        if self._pending:
            self._chunks.append(asyncio.create_task(self._embed(self._pending)))
            self._pending = []

    async def _embed(self, futures: list[asyncio.Future[PreparedImage | ItemError]]) -> list[ImageOutcome]:
        try:
            prepared = await asyncio.gather(*futures)
            assert self._first_added is not None
            self.timings.preprocess_seconds = time.perf_counter() - self._first_added  # the decoding's span
            await self._caption_known.wait()
            good = [item for item in prepared if isinstance(item, PreparedImage)]
            started = time.perf_counter()
            inferred = iter(await self.runner.infer(good, self.caption))
            self.timings.model_seconds += time.perf_counter() - started
            return [ImageOutcome(error=item) if isinstance(item, ItemError) else next(inferred) for item in prepared]
        finally:
            for _ in futures:
                self._room.release()
