"""The original's safe batch keys: 1 on a CPU, the original's free-memory formula on CUDA, clamped to our limit."""

from __future__ import annotations

import pytest

from sightline.inference.safe_batch import MIN_BYTES_PER_ITEM, safe_batch

GB = 1024**3


def test_a_cpu_answers_one_whatever_the_limit():
    assert safe_batch("cpu", None, 128) == 1
    assert safe_batch("cpu", 50_000_000, 128, free_memory=lambda: 80 * GB) == 1


@pytest.mark.parametrize(
    ("free", "per_item", "limit", "expected"),
    [
        (10 * GB, 100 * 1024**2, 512, int(10 * GB * 0.8 / (100 * 1024**2))),  # the original's formula: 81
        (80 * GB, 100 * 1024**2, 128, 128),  # clamped to our limit
        (50 * 1024**2, 100 * 1024**2, 128, 1),  # never below 1
        (1 * GB, 1, 512, int(1 * GB * 0.8 / MIN_BYTES_PER_ITEM)),  # an implausible probe gets the floor
    ],
)
def test_cuda_uses_the_free_memory_formula(free, per_item, limit, expected):
    assert safe_batch("cuda:0", per_item, limit, free_memory=lambda: free) == expected


def test_cuda_before_a_probe_answers_one():
    assert safe_batch("cuda", None, 128, free_memory=lambda: 80 * GB) == 1
