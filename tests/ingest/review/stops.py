"""What the in-process tests of a stop mid-copy or mid-merge share: copies two points a page, held after the
first page until the service stops (its lifespan's shutdown has begun), and the store read once it is closed."""

from __future__ import annotations

import threading
from pathlib import Path

from fastapi import FastAPI

from sightline.ingest.review import merge as merging
from sightline.ingest.review import selection
from sightline.ingest.review.merge import Copier
from sightline.ingest.vectors import open_store
from tests.helpers import wait_until


def two_a_page(monkeypatch) -> None:
    """Two points a page, so a selection of 5 is copied in three steps; a copy is answered at once."""
    monkeypatch.setattr(merging, "COPY_PAGE", 2)
    monkeypatch.setattr(selection, "COPY_PAGE", 2)
    monkeypatch.setattr(selection, "QUICK_WAIT_S", 0)


def held_until_stopped(monkeypatch, app: FastAPI) -> threading.Event:
    """Copier.copy holds after its first page until the service stops; the event: the first page is written."""
    real, tasks, written = Copier.copy, app.state.review.tasks, threading.Event()

    def copy(copier: Copier, points: list) -> None:
        real(copier, points)
        written.set()
        wait_until(lambda: tasks.stopping, timeout=30, what="the service to stop")

    monkeypatch.setattr(Copier, "copy", copy)
    return written


def points_in(data_dir: Path, name: str) -> int:
    store = open_store(data_dir, None, None)
    try:
        return store.collection_info(name).points_count
    finally:
        store.close()
