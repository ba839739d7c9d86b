"""The one loaded model backend of a running ML service: loaded off the event loop, lazily, under a lock."""

from __future__ import annotations

import asyncio
import logging
import threading
from typing import Annotated, Callable

from fastapi import Depends, Request

from sightline.config import MLSettings
from sightline.errors import ErrorCode, SightlineError
from sightline.inference.batching import BatchRunner
from sightline.inference.models.base import ModelBackend
from sightline.inference.models.registry import load_backend
from sightline.inference.safe_batch import measure_bytes_per_item

logger = logging.getLogger("sightline.ml")
BackendLoader = Callable[[MLSettings], ModelBackend]


class ModelHolder:
    """Requests wait for the backend (`ready_runner`); /health reports it (`backend`, `load_error`)."""

    def __init__(self, settings: MLSettings, loader: BackendLoader = load_backend):
        self.settings = settings
        self.loader = loader
        self.backend: ModelBackend | None = None
        self.runner: BatchRunner | None = None
        self.load_error: str | None = None
        self.loading = False  # a load is under way: capabilities answer at once instead of waiting
        self.cooled_down = False  # unloaded by /cooldown: the service is up, the next request loads again
        self.bytes_per_item: int | None = None  # measured on CUDA at load (see `safe_batch`)
        self._lock = threading.Lock()

    def load(self) -> BatchRunner:
        with self._lock:
            if self.runner is None:
                self.loading = True
                try:
                    self._load_locked()
                finally:
                    self.loading = False
            return self.runner

    def _load_locked(self) -> None:
        try:
            backend = self.loader(self.settings)
        except Exception as exc:
            self.load_error = f"{type(exc).__name__}: {exc}"
            logger.exception("model backend %s failed to load", self.settings.models)
            raise
        runner = BatchRunner(
            backend,
            workers=self.settings.decode_workers,
            chunk_size=self.settings.model_batch_size,
            max_pixels=self.settings.max_image_pixels,
            max_decode_bytes=self.settings.max_decode_bytes,
        )
        self.bytes_per_item = measure_bytes_per_item(runner)
        self.backend, self.runner = backend, runner
        self.load_error = None
        self.cooled_down = False
        logger.info("models loaded: %s", backend.info)

    def try_load(self) -> None:
        """`load` for the start-up task: a failure is kept in `load_error` (reported by /health), not raised."""
        try:
            self.load()
        except Exception:
            pass

    def unload(self) -> None:
        with self._lock:
            if self.runner is not None:
                self.runner.close()
                self.runner.backend.unload()
                self.cooled_down = True
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


def get_holder(request: Request) -> ModelHolder:
    return request.app.state.holder


Holder = Annotated[ModelHolder, Depends(get_holder)]
