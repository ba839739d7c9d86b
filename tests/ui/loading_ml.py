"""An ML service at its first start: the real app whose models load only once the test lets them, so that its
/health says "loading" meanwhile (as while `lite` exports its ONNX models)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from sightline.config import MLSettings
from sightline.inference.app import create_app
from sightline.inference.models.registry import load_backend
from tests.conftest import RunningServer, start_server

LOAD_WAIT_S = 120  # the longest a test holds the load


@contextmanager
def loading_ml_server(settings: MLSettings) -> Iterator[tuple[RunningServer, threading.Event]]:
    """The served app and the event that lets its models load."""
    loaded = threading.Event()

    def load_when_let(values: MLSettings):
        loaded.wait(LOAD_WAIT_S)
        return load_backend(values)

    server = start_server(create_app(settings, loader=load_when_let))
    try:
        yield server, loaded
    finally:
        loaded.set()
        server.stop()
