"""ML service batch benchmark: the original design (a) against this service (b), side by side in one run.

    python bench/ml_batch.py                  # 32 images, 3 repeats, tiny + lite (+ clip with local weights)
    python bench/ml_batch.py --quick          # smoke run: 8 images, 1 repeat
    python bench/ml_batch.py --images 32 --repeat 3 --backends tiny,lite
    python bench/ml_batch.py --backends tiny,lite,clip-arch --repeat 2   # + the real models' compute (~7 min)

For each backend, one ML service runs in a subprocess with both endpoints on the same backend object:
(a) ``/bench/original/batch_embed_and_caption`` — the original: base64 JSON, one full-size
    ``Image.open().convert("RGB")`` after another on the event loop, then the model on the whole request;
(b) ``/api/v1/batch_embed_and_caption`` (base64 JSON) and ``/api/v1/embed_images`` (multipart) — this service:
    a decode pool, reduced-size JPEG decode, then the model on the batch.
Each repeat sends the same 32-image batch to all three, in rotating order; figures are medians.
Also: the decode pool — threads vs processes vs sequential — over ``decode_image(data, min_side=256)``.

``clip-arch`` (opt-in: ``--backends ...,clip-arch``): CLIP ViT-B/32 + BLIP-base architecture, random weights —
timing only, equivalent compute to the real models (bench/common.py, ``build_clip_arch_backend``). Its
outputs mean nothing, but the "model is the larger share" target is evaluated for it. About 1.5 s per image
at batch 32 on 2 CPU cores (BLIP's ViT-B/16 at 384 px dominates): ~50 s per 32-image request, so the
default 3 repeats take ~10 min; ``--repeat 2`` ~7 min with tiny and lite.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import shutil
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402  (a sibling module, not a package)
from common import fmt_ratio, log, median, ratio  # noqa: E402

PREPROCESS_TARGET = 8.0
PROCESSES_CLEARLY = 1.15  # processes must be this much faster than threads (median) and win 3/4 of rounds
VARIANTS = ("a_original", "b_base64", "b_multipart")


# --------------------------------------------------------------------------------------------------
# Decode pool: threads vs processes vs sequential


def bench_decode_pool(datas: list[bytes], rounds: int, workers: int) -> dict[str, Any]:
    """Wall seconds to decode the whole batch at reduced size (min_side=256), three ways, in rotating order;
    medians, and in how many rounds processes beat threads (the machine is shared: one round proves little)."""
    threads = ThreadPoolExecutor(max_workers=workers)
    processes = ProcessPoolExecutor(max_workers=workers)
    try:
        # warm both pools (process start-up and imports are a one-off cost, not per batch)
        list(processes.map(common.decode_reduced, datas[:workers]))
        list(threads.map(common.decode_reduced, datas[:workers]))
        runs: dict[str, list[float]] = {"sequential": [], "threads": [], "processes": []}
        modes = list(runs)
        for index in range(rounds):
            for mode in modes[index % 3:] + modes[: index % 3]:
                started = time.perf_counter()
                if mode == "sequential":
                    for data in datas:
                        common.decode_reduced(data)
                elif mode == "threads":
                    list(threads.map(common.decode_reduced, datas))
                else:
                    list(processes.map(common.decode_reduced, datas))
                runs[mode].append(time.perf_counter() - started)
    finally:
        threads.shutdown()
        processes.shutdown()
    seconds = {mode: median(values) for mode, values in runs.items()}
    fastest = min(seconds, key=lambda mode: seconds[mode])
    speedup = ratio(seconds["threads"], seconds["processes"])
    won = sum(p < t for p, t in zip(runs["processes"], runs["threads"]))
    if fastest == "processes" and (speedup or 0) >= PROCESSES_CLEARLY and won >= 0.75 * rounds:
        verdict = "processes clearly faster"
    elif fastest == "processes":
        verdict = "processes slightly or inconsistently faster (not clearly)"
    else:
        verdict = f"{fastest} fastest"
    return {
        "rounds": rounds,
        "processes_won_rounds": won,
        "verdict": verdict,
        "workers": workers,
        "images": len(datas),
        "seconds": seconds,
        "runs": runs,
        "per_image_ms_sequential": 1000 * seconds["sequential"] / len(datas),
        "speedup_threads_vs_sequential": ratio(seconds["sequential"], seconds["threads"]),
        "speedup_processes_vs_sequential": ratio(seconds["sequential"], seconds["processes"]),
        "processes_over_threads_speedup": ratio(seconds["threads"], seconds["processes"]),
        "fastest": fastest,
    }


# --------------------------------------------------------------------------------------------------
# Requests


def build_bodies(paths: list[Path], datas: list[bytes]) -> dict[str, tuple[bytes, dict[str, str]]]:
    """The three request bodies, encoded once before any timing (the client's own encoding is not what
    is measured here; bench/ingest.py measures whole pipelines, client work included)."""
    items = [
        {"unique_id": f"img-{i:03d}", "image_base64": base64.b64encode(data).decode("ascii"), "filename": p.name}
        for i, (p, data) in enumerate(zip(paths, datas))
    ]
    json_body = json.dumps({"images": items}).encode()
    json_headers = {"content-type": "application/json"}
    request = httpx.Request(
        "POST", "http://placeholder/",
        files=[("images", (p.name, data, "image/jpeg")) for p, data in zip(paths, datas)],
        data={"unique_ids": [item["unique_id"] for item in items], "caption": "true"},
    )
    multipart_body = request.read()
    multipart_headers = {"content-type": request.headers["content-type"]}
    return {
        "a_original": (json_body, json_headers),
        "b_base64": (json_body, json_headers),
        "b_multipart": (multipart_body, multipart_headers),
    }


PATHS = {
    "a_original": common.ORIGINAL_PATH + "?caption=true",
    "b_base64": "/api/v1/batch_embed_and_caption?caption=true",
    "b_multipart": "/api/v1/embed_images",
}


def send(client: httpx.Client, service: common.Service, variant: str, body: bytes, headers: dict[str, str],
         expected: int) -> dict[str, float]:
    cpu = service.cpu_seconds()
    started = time.perf_counter()
    response = client.post(PATHS[variant], content=body, headers=headers)
    wall = time.perf_counter() - started
    cpu = service.cpu_seconds() - cpu
    if response.status_code != 200:
        raise RuntimeError(f"{variant}: HTTP {response.status_code}: {response.text[:500]}")
    answer = response.json()
    results = answer["results"]
    errors = [r["error"] for r in results if r.get("error")]
    if len(results) != expected or errors:
        raise RuntimeError(f"{variant}: {len(results)} results for {expected} images, errors: {errors[:3]}")
    timings = answer.get("timings", {})
    return {
        "request_s": wall,
        "preprocess_s": float(timings.get("preprocess_seconds", float("nan"))),
        "model_s": float(timings.get("model_seconds", float("nan"))),
        "base64_s": float(timings.get("base64_seconds", 0.0)),
        "service_cpu_s": cpu,
    }


def bench_backend(name: str, bodies: dict, warm_bodies: dict, count: int, warm_count: int, repeat: int,
                  cache_dir: Path, run_dir: Path, env: dict[str, str]) -> dict[str, Any]:
    log(f"[{name}] starting the ML service (subprocess)")
    started = time.perf_counter()
    with common.start_ml(name, cache_dir / "ml-data", run_dir, env=env) as service:
        startup = time.perf_counter() - started
        with httpx.Client(base_url=service.url, headers=common.auth_headers(), timeout=900) as client:
            capabilities = client.get("/api/v1/capabilities").json()
            # warm-up: first calls pay one-off costs (lazy imports, torch/ORT thread pools, allocator)
            for variant in VARIANTS:
                body, headers = warm_bodies[variant]
                send(client, service, variant, body, headers, expected=warm_count)
            runs: dict[str, list[dict[str, float]]] = {variant: [] for variant in VARIANTS}
            for index in range(repeat):
                order = VARIANTS[index % 3:] + VARIANTS[: index % 3]
                for variant in order:
                    body, headers = bodies[variant]
                    runs[variant].append(send(client, service, variant, body, headers, expected=count))
                    log(f"[{name}] repeat {index + 1}/{repeat} {variant}: "
                        f"{runs[variant][-1]['request_s']:.2f}s request, "
                        f"{runs[variant][-1]['preprocess_s']:.2f}s preprocess")
    figures: dict[str, Any] = {
        "status": "measured",
        "service_startup_s": startup,
        "embedding_model": capabilities.get("embedding_model"),
        "dimension": capabilities.get("dimension"),
        "caption_kind": capabilities.get("caption_kind"),
        "meaningful": capabilities.get("meaningful"),
        "decode_workers": capabilities.get("decode_workers"),
        "model_batch_size": capabilities.get("model_batch_size"),
    }
    for variant in VARIANTS:
        keys = runs[variant][0].keys()
        figures[variant] = {key: median(run[key] for run in runs[variant]) for key in keys}
        figures[variant]["model_share_of_request"] = ratio(figures[variant]["model_s"], figures[variant]["request_s"])
        figures[variant]["runs"] = runs[variant]
    a = figures["a_original"]
    for variant in ("b_base64", "b_multipart"):
        b = figures[variant]
        # The service decodes base64 inside its pool, so its base64 variant's preprocess_seconds include it:
        # compare it with (a)'s decoding *including* (a)'s b64decode; multipart has no base64 on either side.
        a_pre = a["preprocess_s"] + (a["base64_s"] if variant == "b_base64" else 0.0)
        figures[f"preprocess_ratio_a_over_{variant}"] = ratio(a_pre, b["preprocess_s"])
        figures[f"request_ratio_a_over_{variant}"] = ratio(a["request_s"], b["request_s"])
        # CPU seconds of the service per request: barely moved by other work on a shared machine, unlike wall
        figures[f"service_cpu_ratio_a_over_{variant}"] = ratio(a["service_cpu_s"], b["service_cpu_s"])
    worst = min(filter(None, (figures["preprocess_ratio_a_over_b_base64"],
                              figures["preprocess_ratio_a_over_b_multipart"])), default=None)
    figures["target_preprocess_8x"] = {"target": PREPROCESS_TARGET, "worst_ratio": worst,
                                       "met": worst is not None and worst >= PREPROCESS_TARGET}
    figures["label"] = common.backend_label(name, capabilities)
    figures["timing_equivalent"] = name in common.TIMING_EQUIVALENT
    if capabilities.get("meaningful", True) or figures["timing_equivalent"]:
        share = figures["b_multipart"]["model_share_of_request"]
        figures["target_model_larger_share"] = {"model_share_b_multipart": share,
                                                "met": share is not None and share > 0.5}
    return figures


# --------------------------------------------------------------------------------------------------


def summary_lines(fig: dict[str, Any]) -> list[str]:
    lines = [
        f"ml_batch: {fig['images']} camera-like {fig['width']}x{fig['height']} JPEGs "
        f"({fig['batch_mb']:.0f} MB; base64 JSON {fig['json_body_mb']:.0f} MB, multipart {fig['multipart_body_mb']:.0f} MB), "
        f"median of {fig['repeat']} repeat(s), {fig['machine']['cpus']} CPUs, load average {fig['machine']['loadavg_1m_at_start']:.1f} "
        f"at start / {fig['machine']['loadavg_1m_at_end']:.1f} at end (other work shares this machine)",
    ]
    for name, backend in fig["backends"].items():
        if backend.get("status") != "measured":
            lines.append(f"  [{name}] {backend.get('status')}")
            continue
        a, b64, mp = backend["a_original"], backend["b_base64"], backend["b_multipart"]
        lines.append(f"  [{name}] {backend['label']}")
        lines.append(f"    preprocessing (decode+resize) s:  a {a['preprocess_s']:7.2f} | b base64 {b64['preprocess_s']:6.2f}"
                     f" | b multipart {mp['preprocess_s']:6.2f}   a/b = {fmt_ratio(backend['preprocess_ratio_a_over_b_base64'])}"
                     f" / {fmt_ratio(backend['preprocess_ratio_a_over_b_multipart'])}")
        lines.append(f"    whole request s:                  a {a['request_s']:7.2f} | b base64 {b64['request_s']:6.2f}"
                     f" | b multipart {mp['request_s']:6.2f}   a/b = {fmt_ratio(backend['request_ratio_a_over_b_base64'])}"
                     f" / {fmt_ratio(backend['request_ratio_a_over_b_multipart'])}")
        lines.append(f"    model s:                          a {a['model_s']:7.2f} | b base64 {b64['model_s']:6.2f}"
                     f" | b multipart {mp['model_s']:6.2f}")
        lines.append(f"    (a spent another {a['base64_s']:.2f}s in b64decode, counted in the a/b base64 ratio: the service "
                     "decodes base64 in its pool, inside its preprocessing)")
        lines.append(f"    service CPU s per request:        a {a['service_cpu_s']:7.2f} | b base64 {b64['service_cpu_s']:6.2f}"
                     f" | b multipart {mp['service_cpu_s']:6.2f}   a/b = {fmt_ratio(backend['service_cpu_ratio_a_over_b_base64'])}"
                     f" / {fmt_ratio(backend['service_cpu_ratio_a_over_b_multipart'])}")
        target = backend["target_preprocess_8x"]
        lines.append(f"    target preprocessing >= {PREPROCESS_TARGET:.0f}x faster than (a): "
                     f"{'MET' if target['met'] else 'MISSED'} (worst {fmt_ratio(target['worst_ratio'])})")
        share = backend.get("target_model_larger_share")
        if share is not None:
            what = "real models' compute" if backend.get("timing_equivalent") else "real model"
            lines.append(f"    target model = larger share of request time ({what}, multipart): "
                         f"{'MET' if share['met'] else 'MISSED'} ({100 * (share['model_share_b_multipart'] or 0):.0f} % model)")
        else:
            lines.append(f"    model share of request (multipart): {100 * (mp['model_share_of_request'] or 0):.0f} % "
                         "(random test model: the 'larger share' target applies to real models only)")
    pool = fig["decode_pool"]
    s = pool["seconds"]
    lines.append(f"  decode pool ({pool['workers']} workers, {pool['images']} images, decode_image(min_side=256)): "
                 f"sequential {s['sequential']:.2f}s | threads {s['threads']:.2f}s | processes {s['processes']:.2f}s"
                 f" (medians of {pool['rounds']} rounds)")
    lines.append(f"    -> {pool['verdict']}: processes/threads speed-up {fmt_ratio(pool['processes_over_threads_speedup'])}, "
                 f"processes won {pool['processes_won_rounds']}/{pool['rounds']} rounds; threads vs sequential "
                 f"{fmt_ratio(pool['speedup_threads_vs_sequential'])}")
    if pool["verdict"] == "processes clearly faster":
        lines.append("  !!! PROCESSES BEAT THREADS CLEARLY: the service's decode thread pool (inference/batching.py, "
                     "BatchRunner.decode_pool) leaves speed on the table; use a process pool for decoding !!!")
    else:
        lines.append("    the service's thread pool stays (processes are not clearly faster)")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=32, help="images per batch (default 32)")
    parser.add_argument("--repeat", type=int, default=3, help="measured repeats; figures are medians (default 3)")
    parser.add_argument("--backends", default="tiny,lite,clip",
                        help="comma-separated from tiny, lite, clip, clip-arch (default tiny,lite,clip; clip-arch is "
                             "the real models' architecture with random weights, ~50 s per 32-image request: use --repeat 2)")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2, help="decode pool size (default: cores)")
    parser.add_argument("--cache-dir", type=Path, default=common.DEFAULT_CACHE_DIR,
                        help=f"generated images and the lite ONNX export (default {common.DEFAULT_CACHE_DIR})")
    parser.add_argument("--quick", action="store_true", help="smoke run: 8 images, 1 repeat")
    parser.add_argument("--ml-env", action="append", metavar="KEY=VALUE",
                        help="extra environment for the ML service process (repeatable), e.g. OMP_WAIT_POLICY=PASSIVE")
    args = parser.parse_args(argv)
    if args.quick:
        args.images, args.repeat = min(args.images, 8), 1

    machine = common.machine_info()
    paths = common.camera_jpegs(args.images, args.cache_dir)
    datas = [p.read_bytes() for p in paths]
    bodies = build_bodies(paths, datas)
    warm_count = min(4, len(datas))
    warm_bodies = build_bodies(paths[:warm_count], datas[:warm_count])
    run_dir = Path(tempfile.mkdtemp(prefix="sightline-bench-ml-"))
    started = time.perf_counter()
    try:
        log(f"decode pool: threads vs processes vs sequential over {len(datas)} images")
        pool = bench_decode_pool(datas, max(args.repeat, 5), args.workers)
        backends: dict[str, Any] = {}
        for name in [b.strip() for b in args.backends.split(",") if b.strip()]:
            available, why = common.backend_status(name)
            if not available:
                log(f"[{name}] {why}")
                backends[name] = {"status": why}
                continue
            try:
                backends[name] = bench_backend(name, bodies, warm_bodies, len(datas), warm_count, args.repeat,
                                               args.cache_dir, run_dir, common.parse_env(args.ml_env))
            except Exception as exc:  # report and go on with the other backends
                log(f"[{name}] failed: {exc}")
                backends[name] = {"status": f"failed: {type(exc).__name__}: {str(exc)[:300]}"}
    finally:
        shutil.rmtree(run_dir, ignore_errors=True)
    figures = {
        "images": len(datas),
        "width": 4000,
        "height": 3000,
        "repeat": args.repeat,
        "batch_mb": sum(map(len, datas)) / 1e6,
        "json_body_mb": len(bodies["b_base64"][0]) / 1e6,
        "multipart_body_mb": len(bodies["b_multipart"][0]) / 1e6,
        "machine": machine,
        "ml_env": common.parse_env(args.ml_env),
        "decode_pool": pool,
        "backends": backends,
        "total_seconds": time.perf_counter() - started,
    }
    machine["loadavg_1m_at_end"] = os.getloadavg()[0]
    common.emit("ml_batch", figures, summary_lines(figures))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
