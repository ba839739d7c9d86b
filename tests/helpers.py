"""Helpers for tests that run both services: folders of generated photos, waiting for jobs."""

from __future__ import annotations

import time
from pathlib import Path

import httpx

from tests.samples import (
    camera_like_jpeg,
    distinct_image,
    dng_with_preview,
    heic_image,
    solid_image,
)

TERMINAL = {"completed", "completed_with_errors", "failed", "cancelled"}


def wait_for_job(client: httpx.Client, job_id: str, timeout: float = 90, states=TERMINAL) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = client.get(f"/api/v1/jobs/{job_id}").json()
        if job["state"] in states:
            return job
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} still {job['state']} after {timeout}s: {job}")


def wait_until(predicate, timeout: float = 60, interval: float = 0.02):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError("condition not met in time")


def mixed_library(root: Path) -> dict[str, list[str]]:
    """Every format, nested folders, and each kind of bad file; returns the expected outcome per file."""
    (root / "2024" / "summer").mkdir(parents=True)
    (root / "raw").mkdir()
    (root / ".hidden").mkdir()
    files = {
        "a.jpg": distinct_image(0, fmt="JPEG"),
        "b.png": distinct_image(1, fmt="PNG"),
        "c.webp": distinct_image(2, fmt="WEBP"),
        "d.gif": distinct_image(3, fmt="GIF"),
        "2024/e.tiff": distinct_image(4, fmt="TIFF"),
        "2024/summer/f.heic": heic_image((80, 60)),
        "2024/summer/g.jpg": camera_like_jpeg(800, 600, seed=7),
        "raw/h.dng": dng_with_preview(),
        "2024/copy-of-a.jpg": distinct_image(0, fmt="JPEG"),  # same bytes as a.jpg
        "png-named.jpg": solid_image((10, 200, 90), (70, 50), fmt="PNG"),  # wrong extension, fine
        "corrupt.jpg": camera_like_jpeg(640, 480, seed=3)[:2000],
        "empty.png": b"",
        "notes.jpg": b"these are my holiday notes, not a picture\n" * 20,
        "readme.txt": b"ignored: not an image extension",
        ".hidden/secret.jpg": distinct_image(9),
        ".dotfile.jpg": distinct_image(8),
    }
    for name, data in files.items():
        (root / name).write_bytes(data)
    return {
        "done": ["a.jpg", "b.png", "c.webp", "d.gif", "2024/e.tiff", "2024/summer/f.heic", "2024/summer/g.jpg",
                 "raw/h.dng", "png-named.jpg"],
        "cached": ["2024/copy-of-a.jpg"],
        "failed": {"corrupt.jpg": "DECODE_FAILED", "empty.png": "FILE_EMPTY", "notes.jpg": "UNSUPPORTED_FORMAT"},
    }
