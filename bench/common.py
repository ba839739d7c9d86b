"""Shared pieces of the benchmarks: test images, services in subprocesses, the original design, output.

Not a test helper and not part of the package: the benchmarks import it as a sibling module
(``python bench/ml_batch.py`` puts ``bench/`` on ``sys.path``). Run as a script it is the entry point of the
service subprocesses (``python bench/common.py serve ml|ingest SETTINGS_JSON PORT_FILE``).

Services run in their own processes, as in production, so the benchmark client (base64 encoding, JSON
parsing, PNG re-encoding, its own vector store) never shares a GIL with the service it measures.
"""

from __future__ import annotations

import base64
import io
import json
import math
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository root: tests.samples

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
# Generated images and the `lite` backend's one-off ONNX export survive between runs here.
DEFAULT_CACHE_DIR = Path(os.environ.get("SIGHTLINE_BENCH_CACHE", Path(tempfile.gettempdir()) / "sightline-bench"))
BENCH_API_KEY = "bench-key-" + os.urandom(8).hex()
ORIGINAL_PATH = "/bench/original/batch_embed_and_caption"

# A few cameras, so payloads (and the search benchmark's camera filter) look like a real library.
CAMERAS = [
    ("Canon", "EOS R6"), ("NIKON CORPORATION", "NIKON Z 6_2"), ("SONY", "ILCE-7M4"), ("FUJIFILM", "X-T5"),
    ("Apple", "iPhone 15 Pro"), ("Google", "Pixel 8"), ("OLYMPUS", "E-M10MarkIV"), ("Panasonic", "DC-G9"),
]


# --------------------------------------------------------------------------------------------------
# Statistics and output


def median(values: Iterable[float]) -> float:
    values = list(values)
    return statistics.median(values) if values else float("nan")


def percentile(values: Iterable[float], pct: float) -> float:
    """Linear-interpolated percentile (as numpy's default)."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = (len(ordered) - 1) * pct / 100.0
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    if numerator is None or denominator is None or denominator == 0 or math.isnan(numerator):
        return None
    return numerator / denominator


def rounded(value: Any, digits: int = 4) -> Any:
    """Round floats deep inside dicts and lists, for a readable JSON line."""
    if isinstance(value, float):
        return round(value, digits) if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: rounded(item, digits) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [rounded(item, digits) for item in value]
    return value


def emit(benchmark: str, figures: dict[str, Any], summary: list[str]) -> None:
    """One JSON line with every figure (prefix ``BENCH_JSON``), then the human summary."""
    print("BENCH_JSON " + json.dumps({"benchmark": benchmark, **rounded(figures)}, sort_keys=False), flush=True)
    print(flush=True)
    for line in summary:
        print(line, flush=True)


def machine_info() -> dict[str, Any]:
    load = os.getloadavg() if hasattr(os, "getloadavg") else (None, None, None)
    return {"cpus": os.cpu_count(), "loadavg_1m_at_start": load[0], "python": sys.version.split()[0]}


def log(message: str) -> None:
    """Progress on stderr, so stdout holds only the results."""
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def fmt_ratio(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}x"


# --------------------------------------------------------------------------------------------------
# Images


def camera_for(seed: int) -> tuple[str, str]:
    return CAMERAS[seed % len(CAMERAS)]


def _make_camera_jpeg(args: tuple[str, int, int, int]) -> str:
    from tests.samples import camera_like_jpeg

    path, seed, width, height = args
    make, model = camera_for(seed)
    data = camera_like_jpeg(width=width, height=height, seed=seed, exif={"make": make, "model": model})
    tmp = f"{path}.{os.getpid()}.tmp"
    with open(tmp, "wb") as handle:
        handle.write(data)
    os.replace(tmp, path)
    return path


def camera_jpegs(count: int, cache_dir: Path, width: int = 4000, height: int = 3000) -> list[Path]:
    """``count`` different 12 MP camera-like JPEGs (2-5 MB, EXIF with make/model/date/GPS), cached on disk.

    Generated once (two processes) and reused by later runs: seed i gives the same bytes every time.
    """
    folder = cache_dir / f"jpeg-{width}x{height}"
    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / f"camera-{seed:04d}.jpg" for seed in range(1, count + 1)]
    missing = [(str(p), seed, width, height) for seed, p in enumerate(paths, start=1) if not p.exists()]
    if missing:
        log(f"generating {len(missing)} camera-like {width}x{height} JPEGs into {folder} (cached for later runs)")
        started = time.perf_counter()
        with ProcessPoolExecutor(max_workers=max(1, min(2, os.cpu_count() or 1))) as pool:
            list(pool.map(_make_camera_jpeg, missing))
        log(f"generated in {time.perf_counter() - started:.1f}s")
    return paths


def link_folder(paths: list[Path], folder: Path) -> Path:
    """A folder holding exactly ``paths`` (hard links, copies where links fail): what a scan will see."""
    folder.mkdir(parents=True, exist_ok=True)
    for path in paths:
        target = folder / path.name
        if target.exists():
            continue
        try:
            os.link(path, target)
        except OSError:
            shutil.copyfile(path, target)
    return folder


def reduced_jpeg(data: bytes, short_side: int = 256, quality: int = 90) -> bytes:
    """The image scaled so its short side is ``short_side``, as a JPEG: a 'pre-decoded' input."""
    from PIL import Image

    from sightline.imaging import decode_image

    image = decode_image(data, min_side=short_side).image
    scale = short_side / min(image.size)
    if scale < 1:
        image = image.resize((max(1, round(image.width * scale)), max(1, round(image.height * scale))),
                             Image.Resampling.BILINEAR)
    buf = io.BytesIO()
    image.save(buf, "JPEG", quality=quality)
    return buf.getvalue()


def decode_reduced(data: bytes, min_side: int = 256) -> Any:
    """The service's decode (`decode_image`, DCT-scaled JPEG) → the pixels a worker would hand back."""
    import numpy as np

    from sightline.imaging import decode_image

    return np.asarray(decode_image(data, min_side=min_side).image)


# --------------------------------------------------------------------------------------------------
# Backends


def lite_status() -> tuple[bool, str]:
    try:
        import sightline.inference.models.lite  # noqa: F401
    except Exception as exc:  # not finished, or a dependency missing
        return False, f"skipped: sightline.inference.models.lite does not import ({type(exc).__name__}: {exc})"
    return True, "available"


def clip_status() -> tuple[bool, str]:
    source = os.environ.get("SIGHTLINE_CLIP_MODEL") or os.environ.get("CLIP_MODEL")
    if not source:
        return False, "skipped: no local CLIP weights (SIGHTLINE_CLIP_MODEL is not set)"
    if not Path(source).is_dir():
        return False, f"skipped: no local CLIP weights (SIGHTLINE_CLIP_MODEL={source!r} is not a local directory)"
    return True, "available"


def backend_status(name: str) -> tuple[bool, str]:
    if name == "tiny":
        return True, "available"
    if name == "lite":
        return lite_status()
    if name == "clip":
        return clip_status()
    if name == CLIP_ARCH:
        return clip_arch_status()
    return False, f"skipped: unknown backend {name!r}"


# --------------------------------------------------------------------------------------------------
# clip-arch: the real models' architecture with random weights, for timing where no weights can be had

CLIP_ARCH = "clip-arch"
CLIP_ARCH_LABEL = ("clip-arch: CLIP ViT-B/32 + BLIP-base architecture, random weights — timing only, "
                   "equivalent compute to the real models")
# Backends whose outputs mean nothing but whose compute is the real models': the timing targets about
# "real models" apply to them (the service itself reports meaningful=False, as it must).
TIMING_EQUIVALENT = frozenset({CLIP_ARCH})
# A real BLIP-base caption ("a woman sitting on the beach with her dog") is ~10 word pieces + [SEP]:
# every caption is forced to exactly this many new tokens, so the decoder's cost does not depend on
# where a random model happens to emit [SEP].
CLIP_ARCH_CAPTION_TOKENS = 12
# What the real checkpoints are (openai/clip-vit-base-patch32, Salesforce/blip-image-captioning-base);
# the models are built from transformers' default configs and checked against these, so a change of
# defaults in a later transformers cannot silently change the compute.
CLIP_ARCH_EXPECTED = {
    "clip.projection_dim": 512,
    "clip.vision.image_size": 224, "clip.vision.patch_size": 32, "clip.vision.hidden_size": 768,
    "clip.vision.num_hidden_layers": 12, "clip.vision.num_attention_heads": 12,
    "clip.vision.intermediate_size": 3072,
    "clip.text.vocab_size": 49408, "clip.text.hidden_size": 512, "clip.text.num_hidden_layers": 12,
    "clip.text.num_attention_heads": 8, "clip.text.intermediate_size": 2048,
    "clip.text.max_position_embeddings": 77,
    "blip.vision.image_size": 384, "blip.vision.patch_size": 16, "blip.vision.hidden_size": 768,
    "blip.vision.num_hidden_layers": 12, "blip.vision.num_attention_heads": 12,
    "blip.vision.intermediate_size": 3072,
    "blip.text.vocab_size": 30524, "blip.text.hidden_size": 768, "blip.text.num_hidden_layers": 12,
    "blip.text.num_attention_heads": 12, "blip.text.intermediate_size": 3072,
    "blip.text.encoder_hidden_size": 768, "blip.text.bos_token_id": 30522, "blip.text.sep_token_id": 102,
    "blip.text.pad_token_id": 0,
}


def clip_arch_status() -> tuple[bool, str]:
    try:
        import torch  # noqa: F401
        from transformers import BlipForConditionalGeneration, CLIPModel  # noqa: F401
    except Exception as exc:
        return False, f"skipped: torch/transformers do not import ({type(exc).__name__}: {exc})"
    return True, "available"


def _clip_arch_clip_tokenizer(vocab_size: int) -> Any:
    """A character-level CLIPTokenizer whose vocab is padded to the real one's size, with the real special ids
    (<|startoftext|> 49406, <|endoftext|> 49407), so every id the model knows is a valid token."""
    import string

    from transformers import CLIPTokenizer

    symbols = list(string.ascii_lowercase + string.digits)
    tokens = symbols + [f"{symbol}</w>" for symbol in symbols]
    tokens += [f"<unused{index}>" for index in range(vocab_size - 2 - len(tokens))]
    tokens += ["<|startoftext|>", "<|endoftext|>"]
    return CLIPTokenizer(vocab={token: index for index, token in enumerate(tokens)}, merges=[])


def _clip_arch_blip_tokenizer(bert_vocab_size: int = 30522) -> Any:
    """A BertTokenizer laid out like BLIP's (bert-base-uncased ids: [PAD] 0, [UNK] 100, [CLS] 101, [SEP] 102,
    [MASK] 103; then [DEC] 30522 as bos and [ENC] 30523), every id up to the model's vocab a real token, so
    decoding any generated id goes through the ordinary WordPiece decode and cannot fail."""
    from transformers import BertTokenizer

    specials = {0: "[PAD]", 100: "[UNK]", 101: "[CLS]", 102: "[SEP]", 103: "[MASK]"}
    vocab = {specials.get(index, f"w{index}"): index for index in range(bert_vocab_size)}
    tokenizer = BertTokenizer(vocab=vocab, bos_token="[DEC]")
    tokenizer.add_special_tokens({"bos_token": "[DEC]", "additional_special_tokens": ["[ENC]"]})
    return tokenizer


def _clip_arch_sizes(clip: Any, blip: Any) -> dict[str, int]:
    sizes: dict[str, int] = {"clip.projection_dim": clip.config.projection_dim}
    for prefix, config in (("clip.vision", clip.config.vision_config), ("clip.text", clip.config.text_config),
                           ("blip.vision", blip.config.vision_config), ("blip.text", blip.config.text_config)):
        for key in CLIP_ARCH_EXPECTED:
            if key.startswith(prefix + "."):
                sizes[key] = getattr(config, key[len(prefix) + 1:])
    return sizes


def build_clip_arch_backend(settings: Any) -> Any:
    """The ML app's backend loader for ``clip-arch`` (runs in the ``serve ml`` subprocess): the service's own
    `ClipBackend` over ``CLIPModel(CLIPConfig())`` and a BLIP-base captioner, random weights, as
    `registry.load_backend` would set it up (torch threads = ``model_threads``, i.e. cores)."""
    import torch
    from transformers import BlipConfig, BlipForConditionalGeneration, CLIPConfig, CLIPModel

    from sightline.inference.models.clip import Captioner, ClipBackend, PixelSpec
    from sightline.inference.models.registry import resolve_device

    class FixedLengthCaptioner(Captioner):
        """BLIP generation forced to exactly ``tokens`` new tokens (greedy, KV cache, as the service runs it)."""

        def __init__(self, *args: Any, tokens: int, **kwargs: Any):
            super().__init__(*args, max_new_tokens=tokens, **kwargs)
            self.tokens = tokens

        def caption(self, batch: torch.Tensor) -> list[str]:
            token_ids = self.model.generate(pixel_values=batch, min_new_tokens=self.tokens,
                                            max_new_tokens=self.tokens)
            return [text.strip() for text in self.tokenizer.batch_decode(token_ids, skip_special_tokens=True)]

    torch.set_num_threads(settings.model_threads)
    device = resolve_device(settings.device)
    torch.manual_seed(0)
    # transformers' defaults are ViT-B/32 CLIP and BLIP base; the two overrides make them the real
    # checkpoints' (CLIP's text vocab; BLIP-base's text decoder has 12 heads, the default config 8: same FLOPs)
    clip: Any = CLIPModel(CLIPConfig(text_config={"vocab_size": 49408}))
    blip: Any = BlipForConditionalGeneration(BlipConfig(text_config={"num_attention_heads": 12}))
    sizes = _clip_arch_sizes(clip, blip)
    wrong = {key: (sizes.get(key), want) for key, want in CLIP_ARCH_EXPECTED.items() if sizes.get(key) != want}
    if wrong:
        raise RuntimeError(f"clip-arch: transformers' default configs differ from the real models: {wrong}")
    clip_tokenizer = _clip_arch_clip_tokenizer(clip.config.text_config.vocab_size)
    blip_tokenizer = _clip_arch_blip_tokenizer()
    if len(blip_tokenizer) != blip.config.text_config.vocab_size:
        raise RuntimeError(f"clip-arch: BLIP tokenizer has {len(blip_tokenizer)} tokens, the model "
                           f"{blip.config.text_config.vocab_size}")
    captioner = FixedLengthCaptioner(
        blip, blip_tokenizer,
        PixelSpec(size=blip.config.vision_config.image_size, crop=False),  # BlipProcessor: squash, OpenAI mean/std
        name=f"clip-arch-blip-base-random ({CLIP_ARCH_CAPTION_TOKENS} tokens)",
        tokens=CLIP_ARCH_CAPTION_TOKENS,
    )
    return ClipBackend(
        clip, clip_tokenizer,
        PixelSpec(size=clip.config.vision_config.image_size, crop=True),  # CLIPProcessor: resize + centre crop
        backend=CLIP_ARCH,
        model_name="clip-arch-vit-b32-random",
        captioner=captioner,
        device=device,
        meaningful=False,
    )


def backend_label(name: str, capabilities: dict[str, Any] | None = None) -> str:
    """How a backend is named in the summaries."""
    if name == CLIP_ARCH:
        return CLIP_ARCH_LABEL
    capabilities = capabilities or {}
    text = f"{capabilities.get('embedding_model')} ({capabilities.get('dimension')}-d"
    return text + (", random weights: timing only)" if capabilities.get("meaningful") is False else ")")


# --------------------------------------------------------------------------------------------------
# The original design (Pixel_Detective's ML service), reproduced for side-by-side runs


def original_decode(images_base64: list[str], backend: Any) -> tuple[list[Any], list[str | None], dict[str, float]]:
    """What the original service did before its model ran, step for step and one image after another:
    ``base64.b64decode`` → ``Image.open(...).convert("RGB")`` at full size for every image of the request
    (all kept in memory), then the model's preprocessing of each full-size image.

    The preprocessing is our backend's own (`ModelBackend.preprocess`), so (a) and (b) feed the model the
    same kind of input and only decoding and transport differ. The original ran CLIPProcessor on full-size
    images, which is slower than this, so (a) here is if anything flattering to the original.

    Returns the model inputs, per-item errors and the seconds spent in base64 decoding (``base64_seconds``;
    the service does that outside its own ``preprocess_seconds`` too) and in decoding + preprocessing
    (``preprocess_seconds``).
    """
    from PIL import Image

    timings = {"base64_seconds": 0.0, "preprocess_seconds": 0.0}
    decoded: list[Any] = []
    errors: list[str | None] = []
    for value in images_base64:
        try:
            started = time.perf_counter()
            raw = base64.b64decode(value)
            timings["base64_seconds"] += time.perf_counter() - started
            started = time.perf_counter()
            decoded.append(Image.open(io.BytesIO(raw)).convert("RGB"))
            timings["preprocess_seconds"] += time.perf_counter() - started
            errors.append(None)
        except Exception as exc:
            decoded.append(None)
            errors.append(f"Failed to decode image: {exc}")
    started = time.perf_counter()
    inputs = [backend.preprocess(image) if image is not None else None for image in decoded]
    timings["preprocess_seconds"] += time.perf_counter() - started
    return inputs, errors, timings


def original_router(holder: Any) -> Any:
    """``POST /bench/original/batch_embed_and_caption``: the original endpoint, on the same backend object
    as the service it is mounted in. Decoding runs sequentially on the event loop (as in the original) and
    the model runs once on the whole request, no chunking (as in the original)."""
    from fastapi import APIRouter, Query

    router = APIRouter()

    # no string annotations here: FastAPI must see the real classes (this module has postponed evaluation)
    async def batch_embed_and_caption(body, caption=Query(True)):
        runner = await holder.ready_runner()
        backend = runner.backend
        inputs, errors, decode_timings = original_decode([item.image_base64 for item in body.images], backend)
        started = time.perf_counter()
        good = [item for item in inputs if item is not None]
        output = backend.embed_images(good, caption) if good else None
        model_seconds = time.perf_counter() - started
        info = backend.info
        results, index = [], 0
        for item, error in zip(body.images, errors):
            if error is not None:
                results.append({"unique_id": item.unique_id, "filename": item.filename, "embedding": None,
                                "embedding_shape": None, "caption": None, "error": error})
                continue
            embedding = output.embeddings[index]
            results.append({
                "unique_id": item.unique_id,
                "filename": item.filename,
                "embedding": embedding.tolist(),
                "embedding_shape": list(embedding.shape),
                "caption": output.captions[index] if output.captions is not None else "",
                "error": None,
                "model_name_clip": info.embedding_model,
                "model_name_blip": info.caption_model,
                "device_used": info.device,
            })
            index += 1
        return {"results": results,
                "timings": {**decode_timings, "model_seconds": model_seconds}}

    batch_embed_and_caption.__annotations__ = {"body": _original_models()[1], "caption": bool, "return": dict}
    router.add_api_route(ORIGINAL_PATH, batch_embed_and_caption, methods=["POST"])
    return router


def legacy_multipart_router(holder: Any) -> Any:
    """``POST /api/v1/embed_images`` as it was before the streaming parser (for side-by-side runs):
    Starlette's form parser (parts over 1 MB spooled to temporary files), the images read once the whole
    body is in, then decoded and embedded as the service does now."""
    from fastapi import APIRouter, File, Form, UploadFile

    from sightline.inference.api.embed import check_batch_size, open_stream, respond, too_large

    router = APIRouter()

    async def embed_images(images=File(...), unique_ids=Form(None), caption=Form(True)):
        settings = holder.settings
        check_batch_size(len(images), settings)
        runner = await holder.ready_runner()
        stream = open_stream(runner, settings, caption)
        for upload in images:
            data = await upload.read(settings.max_image_bytes + 1)
            await stream.add(too_large(settings.max_image_bytes) if len(data) > settings.max_image_bytes else data)
        outcomes, timings = await stream.finish()
        ids = unique_ids or [str(index) for index in range(len(images))]
        return await respond(runner, outcomes, timings, ids, [upload.filename for upload in images], caption)

    embed_images.__annotations__ = {"images": list[UploadFile], "unique_ids": list[str] | None, "caption": bool}
    router.add_api_route("/api/v1/embed_images", embed_images, methods=["POST"])
    return router


def _original_models() -> tuple[type, type]:
    """The original service's request models (all three item fields required, as there)."""
    from pydantic import create_model

    item = create_model("OriginalItem", unique_id=(str, ...), image_base64=(str, ...), filename=(str, ...))
    request = create_model("OriginalBatchRequest", images=(list[item], ...))  # type: ignore[valid-type]
    return item, request


# --------------------------------------------------------------------------------------------------
# Services in subprocesses


@dataclass
class Service:
    name: str
    url: str
    process: subprocess.Popen
    log_path: Path

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)  # uvicorn's graceful shutdown (lifespan end)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)

    def cpu_seconds(self) -> float:
        """CPU time (user + system, all threads) the service process and its live descendants (the ingestion
        service's store process and its launcher) have used so far."""
        return process_tree_cpu_seconds(self.process.pid)

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def __enter__(self) -> "Service":
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def serve_in_thread(app: Any) -> tuple[Any, threading.Thread, str]:
    """`app` served by uvicorn on a free loopback port from a daemon thread of this process: (server, thread,
    url). Stop it with `server.should_exit = True`."""
    import uvicorn

    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    port = server.servers[0].sockets[0].getsockname()[1]
    return server, thread, f"http://127.0.0.1:{port}"


def process_cpu_seconds(pid: int | None = None) -> float:
    """CPU seconds used by a process (this one by default): unlike wall time, barely moved by other work
    on a shared machine, so it shows where the cycles go even when the wall-clock figures are noisy."""
    if pid is None or pid == os.getpid():
        times = os.times()
        return times.user + times.system
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime


def process_tree_cpu_seconds(pid: int) -> float:
    """CPU seconds of a process and of its descendants still alive."""
    from sightline.lifetime import children

    total, pids = 0.0, [pid]
    while pids:
        current = pids.pop()
        try:
            total += process_cpu_seconds(current)
            pids.extend(children(current))
        except OSError:  # ended meanwhile
            continue
    return total


def cpu_with_store_seconds(store: Any) -> float:
    """This process's CPU seconds, and its vector store's process's when it has one (`EdgeProcessStore.pid`)."""
    pid = getattr(store, "pid", None)
    return process_cpu_seconds() + (process_cpu_seconds(pid) if pid else 0.0)


def parse_env(pairs: list[str] | None) -> dict[str, str]:
    """``["KEY=VALUE", ...]`` (the benchmarks' ``--ml-env``) → a dict."""
    env: dict[str, str] = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise SystemExit(f"--ml-env wants KEY=VALUE, not {pair!r}")
        env[key] = value
    return env


def _start_service(kind: str, settings: dict[str, Any], run_dir: Path, health_path: str, timeout: float,
                   env: dict[str, str] | None = None) -> Service:
    import httpx

    run_dir.mkdir(parents=True, exist_ok=True)
    tag = f"{kind}-{os.urandom(3).hex()}"
    port_file = run_dir / f"{tag}.port"
    log_path = run_dir / f"{tag}.log"
    with open(log_path, "wb") as log_handle:
        process = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), "serve", kind, json.dumps(settings), str(port_file)],
            stdout=log_handle, stderr=subprocess.STDOUT, cwd=str(REPO_ROOT), env={**os.environ, **(env or {})},
        )
    deadline = time.monotonic() + timeout
    service = Service(kind, "", process, log_path)
    try:
        while not port_file.exists() or not port_file.read_text().strip():
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the {kind} service did not start:\n{service.log_tail()}")
            time.sleep(0.05)
        service.url = f"http://127.0.0.1:{int(port_file.read_text())}"
        while True:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the {kind} service never became healthy:\n{service.log_tail()}")
            try:
                if httpx.get(service.url + health_path, timeout=5).status_code == 200:
                    return service
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
    except BaseException:
        service.stop()
        raise


def start_ml(models: str, data_dir: Path, run_dir: Path, *, api_key: str = BENCH_API_KEY,
             timeout: float = 600, env: dict[str, str] | None = None, **overrides: Any) -> Service:
    """The ML service (`sightline.inference.app.create_app`) with the original endpoint mounted beside it.

    ``data_dir`` holds the `lite` backend's ONNX export: give a persistent folder to export only once.
    ``env`` is added to the subprocess's environment (e.g. ``OMP_WAIT_POLICY=PASSIVE``).
    """
    settings = {"models": models, "data_dir": str(data_dir), "api_key": api_key, **overrides}
    if models == CLIP_ARCH:  # not a service setting: MLSettings(models="clip") + the bench's own loader
        settings.update(models="clip", bench_loader=CLIP_ARCH)
    return _start_service("ml", settings, run_dir, "/health", timeout, env)


def start_ingest(ml_url: str, data_dir: Path, ingest_roots: list[Path], run_dir: Path, *,
                 api_key: str = BENCH_API_KEY, timeout: float = 120, **overrides: Any) -> Service:
    settings = {"ml_url": ml_url, "api_key": api_key, "data_dir": str(data_dir),
                "ingest_roots": ",".join(str(p) for p in ingest_roots), **overrides}
    return _start_service("ingest", settings, run_dir, "/health", timeout)


def _serve(kind: str, settings_json: str, port_file: str) -> None:
    """Child process: build the app, bind 127.0.0.1 on a free port, write the port, serve until SIGINT."""
    import logging

    import uvicorn

    from sightline.http import HTTP_PROTOCOL

    logging.basicConfig(level=logging.WARNING)
    settings = json.loads(settings_json)
    if kind == "ml":
        from sightline.config import MLSettings
        from sightline.inference.app import create_app

        bench_loader = settings.pop("bench_loader", None)
        legacy_multipart = settings.pop("bench_legacy_multipart", False)
        if bench_loader == CLIP_ARCH:
            app = create_app(MLSettings(**settings), loader=build_clip_arch_backend)
        elif bench_loader is None:
            app = create_app(MLSettings(**settings))
        else:
            raise SystemExit(f"unknown bench loader {bench_loader!r}")
        app.include_router(original_router(app.state.holder))
        if legacy_multipart:  # in front of the service's own route of the same path
            app.router.routes[:0] = legacy_multipart_router(app.state.holder).routes
    elif kind == "ingest":
        from sightline.config import IngestSettings
        from sightline.ingest.app import create_app as create_ingest_app

        ingest_settings = IngestSettings(**settings)
        if ingest_settings.ml_upload != "original":  # the setting, even where the app does not pass it on yet
            from sightline.ingest.ml_client import MLClient

            MLClient.__init__.__kwdefaults__["upload"] = ingest_settings.ml_upload
        app = create_ingest_app(ingest_settings)
    else:
        raise SystemExit(f"unknown service {kind!r}")
    # proto=IPPROTO_TCP matters: asyncio turns Nagle off (TCP_NODELAY) only on sockets whose proto says TCP,
    # and accepted sockets copy the listener's. With proto 0 every keep-alive response waits ~40 ms for a
    # delayed ACK (measured: 44 ms per GET /health). `sightline serve` binds by host/port and is not affected.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on", timeout_keep_alive=600,
                                           http=HTTP_PROTOCOL))
    tmp = port_file + ".tmp"
    Path(tmp).write_text(str(sock.getsockname()[1]))
    os.replace(tmp, port_file)
    server.run(sockets=[sock])


def auth_headers(api_key: str = BENCH_API_KEY) -> dict[str, str]:
    return {"x-api-key": api_key}


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "serve":
        if sys.argv[2] == "ml":
            # as `sightline serve ml` does, before torch is imported (OpenMP reads it once, at load): idle
            # OpenMP threads sleep instead of spinning on the decode pool's cores. --ml-env can override it.
            os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
        sys.path.insert(0, str(REPO_ROOT / "src"))
        _serve(sys.argv[2], sys.argv[3], sys.argv[4])
    else:
        raise SystemExit("usage: python bench/common.py serve ml|ingest SETTINGS_JSON PORT_FILE")
