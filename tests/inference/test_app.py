"""What the factory wires around every route: API keys, the body limit, error answers, the lifespan."""

from __future__ import annotations

import asyncio
import threading

import httpx
import pytest

from sightline.config import MLSettings
from sightline.inference.app import create_app
from sightline.inference.models.base import ModelBackend
from sightline.inference.models.registry import load_backend
from tests.conftest import TEST_KEYS
from tests.inference.conftest import client_of

pytestmark = pytest.mark.asyncio(loop_scope="session")


@pytest.mark.parametrize("key", [None, "wrong", ""])
async def test_missing_and_wrong_key_get_the_same_401(inference_app, key):
    async with client_of(inference_app, api_key=key) as client:
        response = await client.get("/api/v1/capabilities")
    assert response.status_code == 401
    assert response.json() == {
        "error": {
            "code": "UNAUTHORIZED",
            "message": "Missing or invalid API key: send a valid key in the x-api-key header.",
            "where": "x-api-key",
        }
    }


@pytest.mark.parametrize("key", TEST_KEYS)
async def test_every_configured_key_works_for_rotation(inference_app, key):
    async with client_of(inference_app, api_key=key) as client:
        assert (await client.get("/api/v1/capabilities")).status_code == 200


@pytest.mark.parametrize(
    "path", ["/api/v1/warmup", "/api/v1/cooldown", "/api/v1/embed_text", "/api/v1/batch_embed_and_caption",
             "/api/v1/embed_images"]
)
async def test_every_api_route_needs_the_key(anonymous, path):
    assert (await anonymous.post(path, json={})).status_code == 401


async def test_request_over_the_size_limit_is_413(api):
    body = {"images": [{"unique_id": "big", "image_base64": "A" * (65 * 1024 * 1024)}]}
    response = await api.post("/api/v1/batch_embed_and_caption", json=body)
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "REQUEST_TOO_LARGE"


async def test_invalid_json_is_422(api):
    response = await api.post(
        "/api/v1/batch_embed_and_caption", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "VALIDATION_ERROR"


async def test_unknown_path_is_a_structured_404(api):
    response = await api.get("/api/v1/nope")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "NOT_FOUND"


async def test_lifespan_loads_the_models_at_start_and_unloads_them_at_shutdown(ml_settings: MLSettings):
    loads: list[str] = []
    loaded = threading.Event()

    def loader(settings: MLSettings) -> ModelBackend:
        loads.append(settings.models)
        loaded.set()
        return load_backend(settings)

    app = create_app(ml_settings, loader=loader)
    holder = app.state.holder
    async with app.router.lifespan_context(app):
        assert await asyncio.to_thread(loaded.wait, 60)
        await asyncio.to_thread(holder.load)  # waits for that load to finish; loads nothing itself
        assert loads == ["tiny"]
        assert holder.backend is not None and holder.backend.info.backend == "tiny"
    assert holder.backend is None and holder.runner is None


async def test_openapi_lists_every_route_once(api: httpx.AsyncClient):
    paths = (await api.get("/openapi.json")).json()["paths"]
    assert sorted(paths) == [
        "/", "/api/v1/batch_embed_and_caption", "/api/v1/capabilities", "/api/v1/cooldown", "/api/v1/embed_images",
        "/api/v1/embed_text", "/api/v1/warmup", "/health",
    ]


async def _asgi_call(app, method: str, path: str, headers: dict[str, str]) -> tuple[int, bool]:
    """One request straight through the ASGI interface: the status, and whether the app asked for the body."""
    asked = False
    status = 0

    async def receive() -> dict:
        nonlocal asked
        asked = True
        return {"type": "http.request", "body": b"A" * (1 << 20), "more_body": True}

    async def send(message: dict) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method,
             "scheme": "http", "path": path, "raw_path": path.encode(), "root_path": "", "query_string": b"",
             "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 8001),
             "headers": [(k.encode(), v.encode()) for k, v in headers.items()]}
    await app(scope, receive, send)
    return status, asked


@pytest.mark.parametrize("key", [None, "wrong"])
async def test_a_request_without_a_valid_key_is_refused_before_its_body_is_read(inference_app, key):
    headers = {"host": "127.0.0.1:8001", "content-type": "application/json",
               "content-length": str(200 * 1024 * 1024)}
    if key:
        headers["x-api-key"] = key
    status, asked = await _asgi_call(inference_app, "POST", "/api/v1/batch_embed_and_caption", headers)
    assert (status, asked) == (401, False)


def _local(app, api_key: str | None = None, host: str = "localhost:8001") -> httpx.AsyncClient:
    headers = {"host": host, **({"x-api-key": api_key} if api_key else {})}
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://localhost:8001",
                             headers=headers)


async def test_without_keys_a_rebound_host_name_is_refused(ml_settings: MLSettings):
    app = create_app(ml_settings.model_copy(update={"api_key": ""}))
    async with _local(app, host="attacker.example") as client:
        refused = await client.post("/api/v1/embed_text", json={})
        health = await client.get("/health")
    async with _local(app) as client:
        served = await client.post("/api/v1/embed_text", json={})
    assert refused.status_code == 403 and refused.json()["error"]["where"] == "host"
    assert health.json()["status"] == "loading"
    assert served.status_code == 422


async def test_without_keys_a_cross_site_write_is_refused(ml_settings: MLSettings):
    app = create_app(ml_settings.model_copy(update={"api_key": ""}))
    async with _local(app) as client:
        response = await client.post("/api/v1/embed_text", json={"texts": ["x"]},
                                     headers={"sec-fetch-site": "cross-site", "origin": "https://attacker.example"})
    assert response.status_code == 403 and response.json()["error"]["code"] == "FORBIDDEN"


@pytest.mark.parametrize("path", ["/docs", "/openapi.json", "/redoc"])
async def test_api_docs_need_the_key_beyond_loopback(ml_settings: MLSettings, path: str):
    exposed = create_app(ml_settings.model_copy(update={"host": "0.0.0.0"}))
    local = create_app(ml_settings)
    async with _local(exposed, host="10.0.0.7:8001") as anonymous, _local(exposed, TEST_KEYS[0]) as keyed:
        refused = await anonymous.get(path)
        allowed = await keyed.get(path)
        health = await anonymous.get("/health")
    async with _local(local) as anonymous:
        open_locally = await anonymous.get(path)
    assert refused.status_code == 401 and refused.json()["error"]["code"] == "UNAUTHORIZED"
    assert allowed.status_code != 401 and open_locally.status_code != 401
    assert health.status_code != 401
