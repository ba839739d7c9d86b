"""The int8 copy of the `lite` classifier: ONNX Runtime static quantization of the fp32 export.

QDQ format, per-channel int8 weights, int8 activations (ONNX Runtime's documented default, S8S8), ranges
calibrated (min/max) on a fixed, deterministic set of real photos that a runtime dependency ships: the two
sample photos of scikit-learn (`sklearn/datasets/images/china.jpg` and `flower.jpg`), each cut into 18 crops
(three scales x three positions, mirrored or not). No network, no dev-only package.

The copy is made once, from a validated fp32 export, beside it in the cache folder, with the same discipline
as the exports (onnx_export.py): written to a temp file and renamed whole (`_files.atomic_path`), under the
caller's file lock, carrying `sightline.*` metadata (recipe version, weights, a probe output) that
`onnx_export.validate_session` checks at every load. The probe is the int8 model's own output on this CPU:
int8 kernels differ between CPUs (AVX2 vs VNNI), so a cache folder moved to another kind of CPU may be
re-quantized there (10-20 s on 2 cores) rather than trusted.

Measured on the 2-core AVX2 (no VNNI) development machine: slower than fp32 and not the same vectors (see
docs/models.md, "lite precision"); `lite_precision` therefore defaults to fp32.
"""

from __future__ import annotations

import dataclasses
import logging
import tempfile
import time
from importlib.util import find_spec
from pathlib import Path
from typing import Any

import numpy as np

from sightline.inference.models import onnx_export
from sightline.inference.models._files import atomic_path

logger = logging.getLogger(__name__)

RECIPE_VERSION = "1"  # bump when the quantization recipe changes: cached int8 copies are then remade
CALIBRATION_PHOTOS = ("datasets/images/china.jpg", "datasets/images/flower.jpg")  # inside scikit-learn
CALIBRATION_SCALES = (1.0, 0.7, 0.5)  # crop side / short side of the photo
CALIBRATION_POSITIONS = (0.0, 0.5, 1.0)  # where along the long side the crop sits


def int8_spec(fp32: onnx_export.ExportSpec) -> onnx_export.ExportSpec:
    """The int8 copy's spec: its own file and version; the version names the fp32 recipe it was made from."""
    stem = fp32.filename.removesuffix(".onnx")
    return dataclasses.replace(
        fp32, name=f"{fp32.name} int8", filename=f"{stem}.int8.onnx", version=f"{fp32.version}+int8.{RECIPE_VERSION}"
    )


def calibration_inputs() -> list[np.ndarray]:
    """The preprocessed calibration crops, always the same ones in the same order."""
    from PIL import Image

    from sightline.inference.models.lite import preprocess_image

    spec = find_spec("sklearn")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("scikit-learn is not installed: its sample photos calibrate the int8 model")
    root = Path(next(iter(spec.submodule_search_locations)))
    inputs = []
    for relpath in CALIBRATION_PHOTOS:
        with Image.open(root / relpath) as source:
            photo = source.convert("RGB")
        width, height = photo.size
        for scale in CALIBRATION_SCALES:
            side = int(min(width, height) * scale)
            for position in CALIBRATION_POSITIONS:
                left, top = int((width - side) * position), (height - side) // 2
                crop = photo.crop((left, top, left + side, top + side))
                inputs.append(preprocess_image(crop))
                inputs.append(preprocess_image(crop.transpose(Image.Transpose.FLIP_LEFT_RIGHT)))
    return inputs


def _reader(input_name: str, inputs: list[np.ndarray]) -> Any:
    from onnxruntime.quantization import CalibrationDataReader

    class Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self._feeds = iter([{input_name: item[None]} for item in inputs])

        def get_next(self) -> dict[str, np.ndarray] | None:
            return next(self._feeds, None)

    return Reader()


def quantize_classifier(source: Path, dest: Path, *, threads: int = 2) -> dict[str, float]:
    """Write the int8 copy of the fp32 classifier export `source` to `dest`, checked before it is renamed."""
    import onnx
    from onnxruntime.quantization import QuantFormat, QuantType, quantize_static

    fp32 = onnx_export.CLASSIFIER
    spec = int8_spec(fp32)
    started = time.perf_counter()
    # ORT's optional quant_pre_process is left out: on this export it changes no output and costs 3-6 s.
    with tempfile.TemporaryDirectory(prefix="int8-", dir=dest.parent) as work:
        quantized = Path(work) / "quantized.onnx"
        feeds = _reader(fp32.input_names[0], calibration_inputs())
        inputs_ready = time.perf_counter()
        quantize_static(
            str(source), str(quantized), feeds, quant_format=QuantFormat.QDQ, per_channel=True,
            activation_type=QuantType.QInt8, weight_type=QuantType.QInt8,
        )
        quantized_at = time.perf_counter()
        probe = onnx_export.open_session(quantized, threads).run([spec.output_name], spec.probe_feed())[0]
        model = onnx.load_model(str(quantized))
    onnx_export.set_metadata(model, spec, [float(v) for v in probe.reshape(-1)])
    with atomic_path(dest) as tmp:
        onnx.save_model(model, str(tmp))
        onnx_export.validate_session(spec, onnx_export.open_session(tmp, threads))
    finished = time.perf_counter()
    stats = {"inputs_s": inputs_ready - started, "quantize_s": quantized_at - inputs_ready,
             "total_s": finished - started}
    logger.info("made the int8 copy of %s at %s in %.1f s", fp32.name, dest, stats["total_s"])
    return stats
