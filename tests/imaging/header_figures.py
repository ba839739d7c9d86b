"""Figures, not a test: CPU of each entry point that reads a TIFF or DNG header, on `hostile_samples.crafted_headers`.

    .venv/bin/python -m tests.imaging.header_figures

For each file and entry point: CPU ms (time.process_time, best of 3, in this process after a warm-up), the IFDs
Pillow parsed and the entries it read in them, and the outcome. decode_image(min_side=224) is the ML service's
decode, make_thumbnail and read_metadata the ingestion service's. No timing assertions on shared machines: the
tests count IFD reads instead (tests/imaging/test_tiff_headers.py).
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable

from sightline.imaging import ImageDecodeError, decode_image, make_thumbnail, read_metadata
from tests.imaging.hostile_samples import crafted_headers, record_pillow_ifd_reads

ENTRY_POINTS: dict[str, Callable[[bytes], object]] = {
    "decode_image(224)": lambda data: decode_image(data, min_side=224),
    "make_thumbnail(320)": lambda data: make_thumbnail(data, 320),
    "read_metadata": read_metadata,
}


def outcome(call: Callable[[], object]) -> str:
    try:
        result = call()
    except ImageDecodeError as exc:
        return exc.code.value
    return getattr(result, "format", None) or type(result).__name__


def measure(call: Callable[[], object], reads: list[tuple[int, int]]) -> str:
    best = float("inf")
    for _ in range(3):
        reads.clear()
        started = time.process_time()
        result = outcome(call)
        best = min(best, time.process_time() - started)
    return f"{best * 1000:.1f} ms, {len(reads)} IFDs / {sum(entries for _, entries in reads)} entries, {result}"


def main() -> None:
    warnings.simplefilter("ignore")  # Pillow warns once per junk entry; the services log warnings
    reads = record_pillow_ifd_reads(setattr)
    files = crafted_headers()
    for call in ENTRY_POINTS.values():
        outcome(lambda: call(files["dng, honest"]))
    print("file\tbytes\t" + "\t".join(ENTRY_POINTS))
    for name, data in files.items():
        cells = [measure(lambda: call(data), reads) for call in ENTRY_POINTS.values()]
        print(f"{name}\t{len(data)}\t" + "\t".join(cells))


if __name__ == "__main__":
    main()
