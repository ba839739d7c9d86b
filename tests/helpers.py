"""Helpers for tests: polling with a deadline, waiting for a job, a folder of every kind of photo."""

from __future__ import annotations

import socket
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


def free_port() -> int:
    """A port nothing listens on now (the kernel's pick)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(predicate, timeout: float = 60, interval: float = 0.02, what: str = "condition"):
    """Polls `predicate` until it returns something truthy (returned) or `timeout` seconds pass."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"{what} not met within {timeout} s")


def wait_for_job(client: httpx.Client, job_id: str, timeout: float = 90) -> dict:
    """The job once the server says it is finished (`is_terminal`)."""
    seen: list[dict] = []

    def finished() -> dict | None:
        seen[:] = [client.get(f"/api/v1/jobs/{job_id}").json()]
        return seen[0] if seen[0]["is_terminal"] else None

    try:
        return wait_until(finished, timeout=timeout, interval=0.05)
    except AssertionError:
        raise AssertionError(f"job {job_id} not finished after {timeout} s: {seen}") from None


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
