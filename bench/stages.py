"""Per-stage CPU ms per image, measured in this process on the bench's own photos (bench/throughput.py).

The services' total CPU per image comes from /proc of their processes during an end-to-end run; these stages
are what that total is made of. Measured single-threaded (best of `rounds`), so the sum is a floor: what a
service spends above it is its overhead (HTTP, the event loop, threads handing work over, page faults).
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
