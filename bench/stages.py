"""Per-stage CPU ms per image, measured in this process on the bench's own photos (bench/throughput.py).

The services' total CPU per image comes from /proc of their processes during an end-to-end run; these stages
are what that total is made of. Measured single-threaded (best of `rounds`), so the sum is a floor: what a
service spends above it is its overhead (HTTP, the event loop, threads handing work over, page faults).

Run on its own, it compares the `lite` image model's two precisions side by side in one process:

    python bench/stages.py --precision fp32,int8 [--threads N] [--rounds 5]

- the model's CPU ms per image at batch 32 with the deployed thread count (`model_threads`: all cores), the
  precisions alternating round by round, best and median of `rounds`;
- the first-start cost of making the int8 copy (into a fresh folder beside links to the cached fp32 files);
- agreement on the real photos of bench/quality.py: per-image cosine between the fp32 and int8 vectors (mean,
  min), top-1 ImageNet class agreement, nearest-neighbour agreement (each photo's nearest other photo), and
  cross search: each photo re-encoded (60 %, JPEG q70) and embedded by int8, searched among the fp32 vectors.
"""

from __future__ import annotations

import hashlib
import io
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from common import log

STAGES_ML = ("decode", "preprocess", "phash", "model", "response_json")
STAGES_INGEST = ("read", "sha256", "metadata", "response_json")


def mpf_photos(paths: list[Path], cache_dir: Path) -> list[Path]:
    """Each bench JPEG again with a camera-like 1920x1440 MPF preview (made once, cached)."""
    from PIL import Image

    folder = cache_dir / "jpeg-mpf-4000x3000"
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for path in paths:
        target = folder / path.name
        if not target.exists():
            data = path.read_bytes()
            with Image.open(io.BytesIO(data)) as image:
                made = mpf_copy(image.convert("RGB"), data)
            tmp = target.with_suffix(".tmp")
            tmp.write_bytes(made)
            tmp.replace(target)
        out.append(target)
    return out


def mpf_copy(image: Any, data: bytes) -> bytes:
    """The JPEG again with a 1920x1440 MPF preview, as cameras write it."""
    import io

    from PIL import Image

    with Image.open(io.BytesIO(data)) as original:
        exif = original.info.get("exif")
    buffer = io.BytesIO()
    image.save(buffer, "MPO", save_all=True, append_images=[image.resize((1920, 1440), Image.Resampling.BILINEAR)],
               quality=92, exif=exif)
    return buffer.getvalue()


def _best_ms(step: Callable[[int], Any], count: int, rounds: int) -> float:
    best = float("inf")
    for _ in range(rounds):
        started = time.process_time()
        for index in range(count):
            step(index)
        best = min(best, 1000 * (time.process_time() - started) / count)
    return best


def ml_stages(datas: list[bytes], backend: Any, rounds: int) -> dict[str, float]:
    """What the ML service does per image, stage by stage; the model at batch len(datas), its own threads."""
    from sightline.imaging import decode_image
    from sightline.imaging.phash import perceptual_hash
    from sightline.inference.api.embed import to_result
    from sightline.inference.batching import ImageOutcome
    from sightline.inference.schemas import BatchResponse, ModelSummary

    min_side = backend.info.min_image_side
    decoded = [decode_image(data, min_side=min_side).image for data in datas]
    inputs = [backend.preprocess(image) for image in decoded]
    count = len(datas)
    figures = {
        "decode": _best_ms(lambda i: decode_image(datas[i], min_side=min_side), count, rounds),
        "preprocess": _best_ms(lambda i: backend.preprocess(decoded[i]), count, rounds),
        "phash": _best_ms(lambda i: perceptual_hash(decoded[i]), count, rounds),
    }
    backend.embed_images(inputs, True)  # warm
    figures["model"] = _best_ms(lambda i: backend.embed_images(inputs, True), 1, rounds) / count
    output = backend.embed_images(inputs, True)
    outcomes = [ImageOutcome(embedding=vector, caption=text, format="jpeg", width=4000, height=3000,
                             phash="0" * 16) for vector, text in zip(output.embeddings, output.captions or [])]

    def encode(_: int) -> str:
        results = [to_result(o, str(i), f"{i}.jpg", backend.info, True) for i, o in enumerate(outcomes)]
        return BatchResponse(results=results, model=ModelSummary.from_info(backend.info),
                             timings={}).model_dump_json()

    figures["response_json"] = _best_ms(encode, 1, rounds) / count
    figures["response_body"] = encode(0)  # type: ignore[assignment]  (taken out again by stage_figures)
    return figures


def ingest_stages(paths: list[Path], response_body: str, rounds: int) -> dict[str, float]:
    """What the ingestion service does per image besides HTTP: read, hash, metadata, the answer's JSON."""
    import json

    from sightline.imaging import read_metadata

    datas = [path.read_bytes() for path in paths]
    count = len(paths)
    return {
        "read": _best_ms(lambda i: paths[i].read_bytes(), count, rounds),
        "sha256": _best_ms(lambda i: hashlib.sha256(datas[i]).hexdigest(), count, rounds),
        "metadata": _best_ms(lambda i: read_metadata(datas[i]).to_payload(), count, rounds),
        "response_json": _best_ms(lambda i: json.loads(response_body), 1, rounds) / count,
    }


def stage_figures(photo_sets: dict[str, list[Path]], models_dir: Path, threads: int, sample: int = 16,
                  rounds: int = 3) -> dict[str, Any]:
    """{photo set: {"ml": {stage: ms}, "ingest": {stage: ms}}} over the first `sample` photos of each set."""
    from sightline.inference.models.lite import LiteBackend

    backend = LiteBackend(models_dir, threads=threads)
    figures: dict[str, Any] = {}
    for name, paths in photo_sets.items():
        log(f"stages: {name}")
        chosen = paths[:sample]
        ml = ml_stages([path.read_bytes() for path in chosen], backend, rounds)
        body = str(ml.pop("response_body"))
        figures[name] = {"ml": ml, "ingest": ingest_stages(chosen, body, rounds)}
    return figures


# ---- lite precision: fp32 vs int8 ---------------------------------------------------------------------------


def _linked_cache(models_dir: Path, folder: Path) -> Path:
    """A fresh cache folder holding links to the cached fp32 files only, so the int8 copy is made there."""
    from sightline.inference.models import onnx_export

    folder.mkdir(parents=True, exist_ok=True)
    names = [onnx_export.CLASSIFIER.filename, onnx_export.TEXT_ENCODER.filename]
    names += [path.name for path in models_dir.glob("lite_label_embeddings_*.npy")]
    for name in names:
        (folder / name).symlink_to(models_dir / name)
    return folder


def first_start_int8(models_dir: Path, threads: int) -> tuple[Any, dict[str, float]]:
    """The int8 backend started on a cache without an int8 copy: wall and CPU seconds of that start."""
    import tempfile

    from sightline.inference.models.lite import LiteBackend

    work = Path(tempfile.mkdtemp(prefix="sightline-int8-"))
    wall, cpu = time.perf_counter(), time.process_time()
    backend = LiteBackend(_linked_cache(models_dir, work / "models"), threads=threads, precision="int8")
    figures = {"start_wall_s": time.perf_counter() - wall, "start_cpu_s": time.process_time() - cpu,
               **{f"quantize_{k}": v for k, v in backend.exported[backend.int8_path.name].items()}}
    return backend, figures


def model_speed(backends: dict[str, Any], inputs: list[Any], rounds: int) -> dict[str, dict[str, float]]:
    """CPU and wall ms per image of one `embed_images` call over `inputs`, the backends alternating."""
    import statistics

    for backend in backends.values():
        backend.embed_images(inputs, True)  # warm
    cpu: dict[str, list[float]] = {name: [] for name in backends}
    wall: dict[str, list[float]] = {name: [] for name in backends}
    for _ in range(rounds):
        for name, backend in backends.items():
            started, started_cpu = time.perf_counter(), time.process_time()
            backend.embed_images(inputs, True)
            wall[name].append(1000 * (time.perf_counter() - started) / len(inputs))
            cpu[name].append(1000 * (time.process_time() - started_cpu) / len(inputs))
    return {name: {"cpu_ms_best": min(cpu[name]), "cpu_ms_median": statistics.median(cpu[name]),
                   "wall_ms_best": min(wall[name]), "wall_ms_median": statistics.median(wall[name])}
            for name in backends}


def _reencoded(image: Any) -> Any:
    from PIL import Image

    size = (max(1, round(image.width * 0.6)), max(1, round(image.height * 0.6)))
    buffer = io.BytesIO()
    image.resize(size, Image.Resampling.LANCZOS).save(buffer, "JPEG", quality=70)
    return Image.open(io.BytesIO(buffer.getvalue())).convert("RGB")


def agreement(reference: Any, other: Any, images: list[Any]) -> dict[str, Any]:
    """How far `other`'s vectors are from `reference`'s on the same images, and whether searches agree."""
    import numpy as np

    items = [reference.preprocess(image) for image in images]
    ref, got = reference.embed_images(items, False).embeddings, other.embed_images(items, False).embeddings
    cosine = np.sum(ref * got, axis=1)
    top1 = [a[0][0] == b[0][0] for a, b in zip(reference.top_labels(items, 1), other.top_labels(items, 1))]
    neighbours = []
    for vectors in (ref, got):
        similarity = vectors @ vectors.T
        np.fill_diagonal(similarity, -2.0)
        neighbours.append(similarity.argmax(axis=1))
    copies = other.embed_images([other.preprocess(_reencoded(image)) for image in images], False).embeddings
    cross_rank1 = (copies @ ref.T).argmax(axis=1) == np.arange(len(images))
    return {"images": len(images), "cosine_mean": float(cosine.mean()), "cosine_min": float(cosine.min()),
            "cosine_per_image": [float(c) for c in cosine], "top1_agreement": float(np.mean(top1)),
            "neighbour_agreement": float(np.mean(neighbours[0] == neighbours[1])),
            "cross_search_recall_at_1": float(np.mean(cross_rank1))}


def precision_main(argv: list[str] | None = None) -> int:
    import argparse
    import os
    import shutil

    import common
    import quality
    from PIL import Image

    from sightline.inference.models.lite import LiteBackend

    parser = argparse.ArgumentParser(description="lite image model: fp32 vs int8, side by side")
    parser.add_argument("--precision", default="fp32,int8", help="comma-separated; fp32 is the reference")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 2, help="default: model_threads' default")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--batch", type=int, default=32)
    args = parser.parse_args(argv)
    models_dir = common.DEFAULT_CACHE_DIR / "ml-data" / "models"
    names = [name.strip() for name in args.precision.split(",") if name.strip()]
    figures: dict[str, Any] = {"machine": common.machine_info(), "threads": args.threads, "batch": args.batch}
    backends = {"fp32": LiteBackend(models_dir, threads=args.threads)}  # exports it if the cache has none
    if "int8" in names:
        log("int8: making the copy in a fresh folder")
        backends["int8"], figures["int8_first_start"] = first_start_int8(models_dir, args.threads)
        figures["int8_second_start_s"] = _timed(lambda: LiteBackend(backends["int8"].cache_dir,
                                                                    threads=args.threads, precision="int8"))
    images = []
    for photo in quality.PHOTOS:
        with Image.open(quality.package_file(photo.package, photo.relpath)) as source:
            images.append(source.convert("RGBA").convert("RGB") if source.mode in ("RGBA", "LA", "P")
                          else source.convert("RGB"))
    inputs = [backends["fp32"].preprocess(image) for image in (images * 2)[: args.batch]]
    log(f"model speed: batch {len(inputs)}, {args.threads} threads, {args.rounds} rounds")
    figures["model"] = model_speed(backends, inputs, args.rounds)
    figures["loadavg_1m_at_end"] = os.getloadavg()[0]
    if "int8" in backends:
        figures["agreement"] = agreement(backends["fp32"], backends["int8"], images)
        shutil.rmtree(backends["int8"].cache_dir.parent, ignore_errors=True)  # the first-start folder
    common.emit("lite_precision", figures, precision_lines(figures))
    return 0


def _timed(step: Callable[[], Any]) -> float:
    started = time.perf_counter()
    step()
    return time.perf_counter() - started


def precision_lines(figures: dict[str, Any]) -> list[str]:
    lines = [f"lite image model, batch {figures['batch']}, {figures['threads']} threads; load average "
             f"{figures['machine']['loadavg_1m_at_start']} at start, {figures['loadavg_1m_at_end']:.2f} at end"]
    for name, speed in figures["model"].items():
        lines.append(f"  {name}: {speed['cpu_ms_best']:.1f} ms CPU/image best, {speed['cpu_ms_median']:.1f} median; "
                     f"wall {speed['wall_ms_best']:.1f} / {speed['wall_ms_median']:.1f} ms/image")
    start = figures.get("int8_first_start")
    if start:
        lines.append(f"  int8 copy, first start: {start['start_wall_s']:.1f} s wall, {start['start_cpu_s']:.1f} s CPU "
                     f"(quantization {start['quantize_total_s']:.1f} s); second start "
                     f"{figures['int8_second_start_s']:.2f} s, nothing made")
    agree = figures.get("agreement")
    if agree:
        lines.append(f"  fp32 vs int8 on {agree['images']} real photos: cosine mean {agree['cosine_mean']:.4f}, "
                     f"min {agree['cosine_min']:.4f}; top-1 class agreement {agree['top1_agreement']:.2f}; "
                     f"nearest-neighbour agreement {agree['neighbour_agreement']:.2f}; int8 copies searched among "
                     f"fp32 vectors: recall@1 {agree['cross_search_recall_at_1']:.2f}")
    return lines


if __name__ == "__main__":
    import sys

    sys.exit(precision_main())
