"""Throughput levers of issue 12, each measured against the design before it, side by side in one run.

    python bench/throughput.py --images 40            # development size (~4-5 min on 2 busy cores)
    python bench/throughput.py --images 40 --repeat 2 --variants stream,reduced   # this round's figures
    python bench/throughput.py --images 300 --repeat 1
    python bench/throughput.py --decode-only          # per-format decode CPU alone (~1 min; HEIC made once)

End to end (a folder of 12 MP camera-like JPEGs scanned by the ingestion service, `--models`, default lite),
one ML + one ingestion service per variant, variants in rotating order on each repeat:

| variant | ML service receives `/embed_images` with | ingestion sends |
|---|---|---|
| `before` | Starlette's form parser (parts > 1 MB spooled to temp files, decoding after the whole body) | originals |
| `stream` | the streaming parser (in memory, each image decoded as soon as its bytes are in) | originals |
| `reduced` | the streaming parser | each image reduced to the model's input (`ml_upload=reduced`) |
| `inline-store` | the streaming parser | originals; its vector store inside the ingestion process (`store_process=false`; the others run it in a process of its own) |

Each variant runs over each photo set (`--photos`): `plain` (those JPEGs) and `mpf` (the same JPEGs with a
camera-like 1920x1440 MPF preview, made once and cached). Before the runs, the stages of both services are
timed in this process, CPU ms per image on 16 photos of each set (bench/stages.py): decode, preprocess,
perceptual hash, model (batch 16, the service's threads), response JSON; read, SHA-256, metadata, the
answer's JSON on the ingestion side. What a service spends above their sum is its overhead.

Figures: images/s, CPU ms per image of each service (the ingestion side's also net of the benchmark's own
job polls, one `GET /jobs/{id}` every 0.1 s), request bytes per image (the ML side's view of the wire), and
each variant's ratio to `before`. CPU ms is what to compare on a shared machine: images/s moves
with other people's work, CPU time barely does. `cpu_bound_images_per_second` = cores * 1000 / total CPU ms
per image: the rate the two services would reach on this many otherwise idle cores.

Per-format decode (`decode_image(min_side=256)`, the `lite` model's input side), CPU ms per image, with the
file's preview ignored (before) and used (after): a 12 MP JPEG without a preview (the bench's images), the
same with a camera-like 1920x1440 MPF preview, a 12 MP HEIC with a 640 px thumbnail, a 12 MP DNG with a
1620x1215 preview.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from unittest import mock

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402  (a sibling module, not a package)
import ingest as ingest_bench  # noqa: E402
import stages  # noqa: E402
from common import log, median, ratio  # noqa: E402

VARIANTS = {  # name: (ML service settings, ingestion service settings)
    "before": ({"bench_legacy_multipart": True}, {}),
    "stream": ({}, {}),
    "reduced": ({}, {"ml_upload": "reduced"}),
    "inline-store": ({}, {"store_process": False}),
}
MIN_SIDE = 256  # the lite model's min_image_side


def run_variant(ml: common.Service, ingest: common.Service, folder: Path, count: int, name: str) -> dict[str, Any]:
    """One job; the ingestion side's CPU also net of the benchmark's own job polls (`ingest_service_net`):
    under load a run is slow, so it is polled more often per image, and each poll costs the service CPU."""
    before = ingest_bench.cpu_snapshot(ml, ingest)
    result = ingest_bench.run_pipeline(ingest, folder, count, name)
    cpu = ingest_bench.cpu_per_image(before, ingest_bench.cpu_snapshot(ml, ingest), count)
    cpu["ingest_service_net"] = cpu["ingest_service"] - result["polls"] * poll_cpu_ms(ingest, result["job_id"]) / count
    result["cpu_ms_per_image"] = cpu
    return result


def poll_cpu_ms(ingest: common.Service, job_id: str, polls: int = 20) -> float:
    """The ingestion service's CPU ms for one `GET /jobs/{id}`, as the benchmark polls it."""
    import httpx

    with httpx.Client(base_url=ingest.url, timeout=60) as client:
        before = ingest.cpu_seconds()
        for _ in range(polls):
            client.get(f"/api/v1/jobs/{job_id}").raise_for_status()
        return 1000 * (ingest.cpu_seconds() - before) / polls


def upload_bytes(paths: list[Path], upload: str) -> float:
    """Mean bytes per image on the wire to the ML service (the files, or `reduced_jpeg` of the first 8)."""
    from sightline.imaging.reduce import reduced_jpeg

    if upload == "original":
        return sum(path.stat().st_size for path in paths) / len(paths)
    sample = paths[:8]
    return sum(len(reduced_jpeg(path.read_bytes(), MIN_SIDE)) for path in sample) / len(sample)


def summarise(runs: list[dict[str, Any]]) -> dict[str, Any]:
    cpu = {part: median(run["cpu_ms_per_image"][part] for run in runs) for part in runs[0]["cpu_ms_per_image"]}
    services = cpu["ml_service"] + cpu["ingest_service_net"]
    return {
        "images_per_second": median(run["images_per_second"] for run in runs),
        "cpu_ms_per_image": cpu,
        "service_cpu_ms_per_image": services,
        "cpu_bound_images_per_second": (os.cpu_count() or 2) * 1000 / services if services else None,
        "runs": runs,
    }


PHOTO_SETS = ("plain", "mpf")


def photo_sets(args: argparse.Namespace) -> dict[str, list[Path]]:
    """plain: the camera-like JPEGs; mpf: the same with a camera-like 1920x1440 MPF preview."""
    names = [name for name in args.photos.split(",") if name]
    plain = common.camera_jpegs(args.images, args.cache_dir)
    sets = {"plain": plain} if "plain" in names else {}
    if "mpf" in names:
        sets["mpf"] = stages.mpf_photos(plain, args.cache_dir)
    return sets


def end_to_end(args: argparse.Namespace, run_dir: Path, sets: dict[str, list[Path]]) -> dict[str, Any]:
    """{photo set: {variant: figures}}: every variant over every set, variants in rotating order."""
    library = run_dir / "library"  # the ingestion services' root: the folders and the warm-up folders
    folders = {photos: common.link_folder(paths, library / photos) for photos, paths in sets.items()}
    names = [name for name in args.variants.split(",") if name]
    services: dict[str, tuple[common.Service, common.Service]] = {}
    runs: dict[str, dict[str, list[dict[str, Any]]]] = {photos: {name: [] for name in names} for photos in sets}
    first = next(iter(sets.values()))
    try:
        for name in names:
            ml_overrides, ingest_overrides = VARIANTS[name]
            log(f"starting the {name} services")
            ml = common.start_ml(args.models, args.cache_dir / "ml-data", run_dir, **ml_overrides)
            ingest = common.start_ingest(ml.url, run_dir / f"ingest-{name}", [library], run_dir, **ingest_overrides)
            services[name] = (ml, ingest)
            ingest_bench.run_pipeline(ingest, common.link_folder(first[:4], library / f"warm-{name}"), 4,
                                      f"warm-{name}")
        for repeat in range(args.repeat):
            order = names[repeat % len(names):] + names[: repeat % len(names)]
            for photos, folder in folders.items():
                for name in order:
                    log(f"[{repeat + 1}/{args.repeat}] {photos} {name}: {args.images} images")
                    result = run_variant(*services[name], folder, args.images, f"{photos}-{name}-{repeat}")
                    log(f"  {result['images_per_second']:.2f} images/s, CPU ms/image {result['cpu_ms_per_image']}")
                    runs[photos][name].append(result)
    finally:
        for ml, ingest in services.values():
            ingest.stop()
            ml.stop()
    return {photos: compare(by_variant, sets[photos]) for photos, by_variant in runs.items()}


def compare(runs: dict[str, list[dict[str, Any]]], paths: list[Path]) -> dict[str, Any]:
    figures = {name: summarise(values) for name, values in runs.items()}
    for name, fig in figures.items():
        fig["ml_bytes_per_image"] = upload_bytes(paths, VARIANTS[name][1].get("ml_upload", "original"))
    base = figures.get("before")
    for name, fig in figures.items():
        if base and name != "before":
            fig["vs_before"] = {
                "images_per_second": ratio(fig["images_per_second"], base["images_per_second"]),
                "service_cpu": ratio(fig["service_cpu_ms_per_image"], base["service_cpu_ms_per_image"]),
                "ml_cpu": ratio(fig["cpu_ms_per_image"]["ml_service"], base["cpu_ms_per_image"]["ml_service"]),
            }
    return figures


# --------------------------------------------------------------------------------------------------
# Receive + parse of one multipart request, in this process (the lever alone, without the noise of the rest)


def _asgi_request(body: bytes, content_type: str, chunk: int = 65536) -> Any:
    from starlette.requests import Request

    chunks = [body[i : i + chunk] for i in range(0, len(body), chunk)]
    pending = iter(chunks)

    async def receive() -> dict[str, Any]:
        piece = next(pending, None)
        if piece is None:
            return {"type": "http.disconnect"}
        return {"type": "http.request", "body": piece, "more_body": piece is not chunks[-1]}

    headers = [(b"content-type", content_type.encode())]
    return Request({"type": "http", "method": "POST", "path": "/", "headers": headers, "query_string": b""}, receive)


async def _parse_starlette(body: bytes, content_type: str) -> int:
    form = await _asgi_request(body, content_type).form()
    images = [await upload.read() for upload in form.getlist("images")]
    await form.close()
    return len(images)


async def _parse_streaming(body: bytes, content_type: str) -> int:
    from sightline.inference.multipart import ImagePart, read_parts

    parts = read_parts(_asgi_request(body, content_type), max_image_bytes=200 * 2**20, max_files=10_000)
    return len([part async for part in parts if isinstance(part, ImagePart)])


def parse_cpu(paths: list[Path], rounds: int) -> dict[str, Any]:
    """CPU ms per image to receive and parse one multipart request of ``paths``: Starlette's form parser
    (before) against the streaming parser, alternating, best of ``rounds``."""
    import asyncio

    import httpx

    files = [("images", (path.name, path.read_bytes(), "image/jpeg")) for path in paths]
    request = httpx.Request("POST", "http://ml/", files=files, data={"caption": "true"})
    body, content_type = request.read(), request.headers["content-type"]
    best = {"before": float("inf"), "stream": float("inf")}
    for _ in range(rounds):
        for name, parse in (("before", _parse_starlette), ("stream", _parse_streaming)):
            started = time.process_time()
            assert asyncio.run(parse(body, content_type)) == len(paths)
            best[name] = min(best[name], 1000 * (time.process_time() - started) / len(paths))
    return {"images": len(paths), "cpu_ms_per_image": best, "saved_ms_per_image": best["before"] - best["stream"]}


# --------------------------------------------------------------------------------------------------
# Per-format decode


def format_samples(jpeg_path: Path, cache_dir: Path) -> dict[str, bytes]:
    """The four files, made once from the first bench JPEG and cached (a 12 MP HEIC takes a while)."""
    from PIL import Image

    from tests import samples
    from tests.imaging.preview_samples import heic_with_thumbnail

    folder = cache_dir / "formats-12mp"
    folder.mkdir(parents=True, exist_ok=True)
    data = jpeg_path.read_bytes()
    made = {
        "jpeg_mpf.jpg": lambda image: stages.mpf_copy(image, data),
        "heic_thumb.heic": lambda image: heic_with_thumbnail(primary=image, thumbnail_box=640, quality=80),
        "dng_preview.dng": lambda image: samples.dng_with_preview(4000, 3000, (1620, 1215)),
    }
    out = {"jpeg": data}
    for name, make in made.items():
        path = folder / name
        if not path.exists():
            log(f"making {path} (once)")
            with Image.open(jpeg_path) as image:
                path.write_bytes(make(image.convert("RGB")))
        out[name.split(".")[0]] = path.read_bytes()
    return out


def decode_cpu_ms(data: bytes, rounds: int) -> float:
    from sightline.imaging import decode_image

    decode_image(data, min_side=MIN_SIDE)
    started = time.process_time()
    for _ in range(rounds):
        decode_image(data, min_side=MIN_SIDE)
    return 1000 * (time.process_time() - started) / rounds


def per_format(args: argparse.Namespace) -> dict[str, Any]:
    files = format_samples(common.camera_jpegs(1, args.cache_dir)[0], args.cache_dir)
    figures: dict[str, Any] = {}
    for name, data in files.items():
        rounds = 2 if name == "heic_thumb" else args.decode_rounds  # its full decode takes ~1 s
        with mock.patch("sightline.imaging.decode.mpf_preview", return_value=None), \
                mock.patch("sightline.imaging.decode.heif_thumbnail", return_value=None), \
                mock.patch("sightline.imaging.decode._raw_preview", return_value=None):
            ignored = decode_cpu_ms(data, rounds)
        used = decode_cpu_ms(data, args.decode_rounds)
        figures[name] = {"bytes": len(data), "preview_ignored_ms": ignored, "preview_used_ms": used,
                         "speedup": ratio(ignored, used)}
        log(f"  {name}: {ignored:.1f} -> {used:.1f} ms CPU")
    return figures


# --------------------------------------------------------------------------------------------------


def summary_lines(fig: dict[str, Any]) -> list[str]:
    machine = fig["machine"]
    lines = [f"throughput: {fig['images']} camera-like 12 MP JPEGs, models {fig['models']}, {machine['cpus']} CPUs, "
             f"load average {machine['loadavg_1m_at_start']:.1f} at start / {machine['loadavg_1m_at_end']:.1f} at end"]
    for photos, variants in fig.get("end_to_end", {}).items():
        for name, v in variants.items():
            cpu = v["cpu_ms_per_image"]
            vs = v.get("vs_before")
            against = (f"  vs before: {vs['images_per_second']:.2f}x images/s, {vs['service_cpu']:.2f}x CPU"
                       if vs else "")
            lines.append(f"  {photos:5s} {name:8s} {v['images_per_second']:6.2f} images/s | CPU ms/image ML "
                         f"{cpu['ml_service']:5.1f} ingest {cpu['ingest_service_net']:5.1f} (with the bench's polls "
                         f"{cpu['ingest_service']:4.1f}) = "
                         f"{v['service_cpu_ms_per_image']:5.1f} (CPU-bound {v['cpu_bound_images_per_second']:.1f} "
                         f"images/s) | {v['ml_bytes_per_image'] / 1e3:.0f} kB/image to ML{against}")
    for photos, sides in fig.get("stages", {}).items():
        for side, values in sides.items():
            parts = ", ".join(f"{stage} {ms:.2f}" for stage, ms in values.items())
            lines.append(f"  stages {photos:5s} {side:6s} CPU ms/image (single thread): {parts} = "
                         f"{sum(values.values()):.1f}")
    parse = fig.get("parse")
    if parse:
        cpu = parse["cpu_ms_per_image"]
        lines.append(f"  receive+parse of one {parse['images']}-image multipart request: before {cpu['before']:.1f} | "
                     f"stream {cpu['stream']:.1f} ms CPU per image (saves {parse['saved_ms_per_image']:.1f})")
    for name, v in fig.get("decode", {}).items():
        lines.append(f"  decode {name:11s} preview ignored {v['preview_ignored_ms']:7.1f} ms CPU | used "
                     f"{v['preview_used_ms']:6.1f} ms | {v['speedup']:.1f}x")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=40, help="images in the folder (default 40)")
    parser.add_argument("--models", default="lite", choices=["tiny", "lite"], help="ML backend (default lite)")
    parser.add_argument("--repeat", type=int, default=2, help="runs per variant, rotating order; medians")
    parser.add_argument("--variants", default=",".join(VARIANTS), help=f"comma-separated, of {list(VARIANTS)}")
    parser.add_argument("--photos", default=",".join(PHOTO_SETS),
                        help="photo sets end to end: plain (12 MP JPEGs), mpf (the same with an MPF preview)")
    parser.add_argument("--decode-rounds", type=int, default=10, help="decodes per file and mode")
    parser.add_argument("--decode-only", action="store_true", help="only the per-format decode figures")
    parser.add_argument("--cache-dir", type=Path, default=common.DEFAULT_CACHE_DIR)
    args = parser.parse_args(argv)
    if unknown := {name for name in args.photos.split(",") if name} - set(PHOTO_SETS):
        parser.error(f"--photos: unknown {sorted(unknown)}; choose from {list(PHOTO_SETS)}")
    figures: dict[str, Any] = {"images": args.images, "models": args.models, "machine": common.machine_info()}
    log("receive + parse")
    figures["parse"] = parse_cpu(common.camera_jpegs(32, args.cache_dir), rounds=3)
    log("per-format decode")
    figures["decode"] = per_format(args)
    if not args.decode_only:
        sets = photo_sets(args)
        log("per-stage CPU")
        if args.models == "lite":
            figures["stages"] = stages.stage_figures(sets, args.cache_dir / "ml-data" / "models",
                                                     os.cpu_count() or 2)
        run_dir = Path(tempfile.mkdtemp(prefix="sightline-throughput-"))
        try:
            figures["end_to_end"] = end_to_end(args, run_dir, sets)
        finally:
            shutil.rmtree(run_dir, ignore_errors=True)
    figures["machine"]["loadavg_1m_at_end"] = os.getloadavg()[0]
    common.emit("throughput", figures, summary_lines(figures))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
