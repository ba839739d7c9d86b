"""GET /health (open), capabilities, warmup and cooldown."""

from __future__ import annotations

import asyncio
import threading

import pytest

from sightline import __version__
from sightline.config import MLSettings
from sightline.inference.app import create_app
from sightline.inference.models.base import ModelBackend
from sightline.inference.models.registry import load_backend
from tests.inference.conftest import client_of

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_health_is_open_and_reports_models(anonymous):
    response = await anonymous.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "models_loaded": True, "backend": "tiny", "version": __version__}


async def test_health_says_loading_until_the_models_are_loaded(ml_settings: MLSettings):
    loading, ready = await _before_and_after_loading(ml_settings, "/health", api_key=None)
    assert loading.status_code == 503
    assert loading.json() == {"status": "loading", "models_loaded": False, "error": None}
    assert (ready.status_code, ready.json()["status"]) == (200, "ok")


async def test_a_backend_that_fails_to_load_is_reported(ml_settings: MLSettings):
    def broken_loader(settings: MLSettings) -> ModelBackend:
        raise OSError("weights missing")

    app = create_app(ml_settings, loader=broken_loader)
    async with client_of(app) as client:
        refused = await client.post("/api/v1/warmup")
        health = await client.get("/health")
    assert refused.status_code == 503
    assert refused.json()["error"]["code"] == "MODEL_NOT_READY"
    assert "weights missing" in refused.json()["error"]["message"]
    assert health.status_code == 503
    assert health.json() == {"status": "error", "models_loaded": False, "error": "OSError: weights missing"}


async def test_capabilities_have_original_and_new_keys(api):
    caps = (await api.get("/api/v1/capabilities")).json()
    for key in ("safe_clip_batch", "safe_blip_batch", "safe_batch_size", "clip_model_loaded",
                "blip_model_loaded", "device_type", "cuda_available"):
        assert key in caps
    assert caps["backend"] == "tiny"
    assert caps["dimension"] == 64
    assert caps["meaningful"] is False
    assert caps["max_batch_size"] == 64
    assert (caps["embedding_model"], caps["model_name_clip"]) == ("tiny-random-clip", "tiny-random-clip")
    assert (caps["caption_model"], caps["model_name_blip"]) == ("tiny-random-blip", "tiny-random-blip")
    assert "heif" in caps["formats"] and "dng" in caps["formats"]


async def test_cooldown_unloads_and_warmup_loads_again(api):
    cooled = await api.post("/api/v1/cooldown")
    assert cooled.status_code == 200 and cooled.json()["message"]
    health = await api.get("/health")  # up and answering; the models load again on the next request
    assert (health.status_code, health.json()) == (
        200, {"status": "ok", "models_loaded": False, "backend": "tiny", "version": __version__}
    )
    warmed = await api.post("/api/v1/warmup")
    assert warmed.json() == {"message": "Models loaded: tiny-random-clip"}
    health = await api.get("/health")
    assert (health.status_code, health.json()["models_loaded"]) == (200, True)


async def test_the_root_answers_like_the_original(anonymous):
    """The original's start script probes GET / (open, like /health)."""
    response = await anonymous.get("/", headers={"host": "localhost:8001"})
    assert (response.status_code, response.json()) == (200, {"message": "ML Inference Service is running."})


async def test_capabilities_answer_at_once_while_the_models_load(ml_settings: MLSettings):
    loading, loaded = await _before_and_after_loading(ml_settings, "/api/v1/capabilities")
    caps = loading.json()
    assert loading.status_code == 200
    assert (caps["models_loaded"], caps["clip_model_loaded"], caps["blip_model_loaded"]) == (False, False, False)
    assert (caps["safe_blip_batch"], caps["max_batch_size"], caps["backend"]) == (1, 64, "tiny")
    assert (loaded.json()["models_loaded"], loaded.json()["dimension"]) == (True, 64)


async def _before_and_after_loading(ml_settings: MLSettings, path: str, **client_options):
    """`path`'s answer while the models load (the loader waits for a release), then once they are loaded."""
    release = threading.Event()

    def slow_loader(settings: MLSettings) -> ModelBackend:
        assert release.wait(60)
        return load_backend(settings)

    app = create_app(ml_settings, loader=slow_loader)
    try:
        async with app.router.lifespan_context(app), client_of(app, **client_options) as client:
            loading = await client.get(path)
            release.set()
            await asyncio.to_thread(app.state.holder.load)
            return loading, await client.get(path)
    finally:
        release.set()
