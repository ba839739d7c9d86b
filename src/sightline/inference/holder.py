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

log = logging.getLogger("sightline.ml")
BackendLoader = Callable[[MLSettings], ModelBackend]


class ModelHolder:
    """Requests wait for the backend (`ready_runner`); /health reports it (`backend`, `load_error`)."""

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
