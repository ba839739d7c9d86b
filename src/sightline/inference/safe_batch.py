"""The original service's `safe_*_batch` capabilities, computed as it computed them on the same hardware.

Its clients size their requests from these keys, and its own ingestion client loses the last partial batch of
every job; the original answered 1 on a CPU, which hid that bug, so we answer 1 on a CPU too. On CUDA it
answered `int(free_memory * 0.8 / memory_per_item)`, per item measured by running one image through the
models at load. Sightline's own limits are separate keys (`max_batch_size`, `model_batch_size`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

import torch
from PIL import Image

if TYPE_CHECKING:
    from sightline.inference.batching import BatchRunner

logger = logging.getLogger("sightline.ml")

FREE_MEMORY_SHARE = 0.8
MIN_BYTES_PER_ITEM = 20_000_000  # the original's floor when its probe measured implausibly little


def on_cuda(device: str) -> bool:
    return device.split(":")[0] == "cuda"


def safe_batch(
    device: str, bytes_per_item: int | None, limit: int, free_memory: Callable[[], int] | None = None
) -> int:
    """1 on a CPU (or before a probe); on CUDA the original's memory formula, clamped to [1, limit]."""
    if not on_cuda(device) or not bytes_per_item:
        return 1
    free = free_memory() if free_memory is not None else torch.cuda.mem_get_info(torch.device(device))[0]
    return max(1, min(limit, int(free * FREE_MEMORY_SHARE / max(bytes_per_item, MIN_BYTES_PER_ITEM))))


def measure_bytes_per_item(runner: "BatchRunner") -> int | None:
    """Peak CUDA memory of one image through the models (embedding + caption); None off CUDA."""
    device = runner.backend.info.device
    if not on_cuda(device):
        return None
    side = max(runner.backend.info.min_image_side, 1)
    try:
        item = runner.backend.preprocess(Image.new("RGB", (side, side), (127, 127, 127)))
        torch.cuda.synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)
        before = torch.cuda.memory_allocated(device)
        runner.backend.embed_images([item], True)
        torch.cuda.synchronize(device)
        measured = torch.cuda.max_memory_allocated(device) - before
    except Exception:  # a failed probe must not fail the load: the floor applies
        logger.exception("CUDA memory probe failed; assuming %d bytes per image", MIN_BYTES_PER_ITEM)
        return MIN_BYTES_PER_ITEM
    return max(int(measured), MIN_BYTES_PER_ITEM)
