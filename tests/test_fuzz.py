"""Fuzz both services from their own OpenAPI schemas, in-process: no request may get a 5xx.

schemathesis runs each app (its lifespan included) on an event loop of its own; the ingestion app reaches the
session's ML app through `httpx.ASGITransport`. The ingestion app is the one users run (API + web UI).
No socket, no process.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from schemathesis.python import asgi

from sightline.inference.app import create_app as create_ml_app
from sightline.server import create_app
from tests.conftest import TEST_KEYS, ingest_settings
from tests.helpers import wait_until

ADMIN_TOKEN = "fuzz-admin-token-0123456789"
FUZZ_HOST = "testserver"  # the Host name schemathesis's in-process client sends
FUZZ = settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True,
                database=None)
INGEST_OPERATIONS = {
    "POST /api/v1/collections", "DELETE /api/v1/collections/{name}", "POST /api/v1/ingest/scan",
    "POST /api/v1/ingest/upload", "GET /api/v1/jobs/{job_id}", "POST /api/v1/jobs/{job_id}/retry",
    "POST /api/v1/search", "POST /api/v1/search/image", "GET /api/v1/collections/{name}/points/{point_id}/original",
    "GET /api/v1/browse", "GET /api/v1/jobs", "GET /api/v1/jobs/{job_id}/errors", "GET /api/v1/jobs/{job_id}/logs",
    "GET /api/v1/jobs/{job_id}/events",
}
ML_OPERATIONS = {"POST /api/v1/embed_images", "POST /api/v1/batch_embed_and_caption", "POST /api/v1/embed_text",
                 "GET /api/v1/capabilities", "POST /api/v1/cooldown"}


@pytest.fixture()
def lifespans() -> Iterator[None]:
    """Stops the lifespans schemathesis started for the test's apps (it would keep them until exit)."""
    yield
    asgi.shutdown_lifespans()


def fuzz_every_operation(app: FastAPI, headers: dict[str, str] | None = None) -> set[str]:
    """Runs each operation's generated cases; returns the operations fuzzed ("POST /api/v1/search")."""
    schema = schemathesis.openapi.from_asgi("/openapi.json", app, headers=headers)
    operations = [result.ok() for result in schema.get_all_operations()]
    for operation in operations:
        @given(case=operation.as_strategy())
        @FUZZ
        def check(case) -> None:
            response = case.call(headers=headers, timeout=60)
            where = (case.method, case.formatted_path, response.status_code, response.text[:500])
            assert response.status_code < 500, where
            if response.status_code >= 400 and response.status_code != 405:
                assert set(response.json()["error"]) == {"code", "message", "where"}, where

        check()
    return {operation.label for operation in operations}


def test_ingestion_api_never_answers_5xx(ml_app, tmp_path, library, lifespans):
    """As deployed: an admin token set (sent with every case, so requests get past the guard) and the ML key."""
    settings = ingest_settings("http://ml.test", tmp_path, [library], admin_token=ADMIN_TOKEN,
                               allowed_hosts="testserver")  # the name schemathesis' ASGI client sends
    app = create_app(settings, ml_transport=httpx.ASGITransport(app=ml_app))
    admin = {"authorization": f"Bearer {ADMIN_TOKEN}"}
    with asgi.get_client(app) as client:  # so that some requests reach deeper code
        assert client.post("/api/v1/collections", json={"name": "photos"}).status_code == 401
        assert client.post("/api/v1/collections", json={"name": "photos"}, headers=admin).status_code == 201
    assert INGEST_OPERATIONS <= fuzz_every_operation(app, admin)


def test_ml_api_never_answers_5xx(ml_settings, lifespans):
    """An ML app of its own: the fuzzer calls /cooldown, and its lifespan's end unloads the models."""
    app = create_ml_app(ml_settings.model_copy(update={"allowed_hosts": "testserver"}))
    with asgi.get_client(app) as client:  # its lifespan loads the models in the background
        wait_until(lambda: client.get("/health").status_code == 200, what="the models loaded")
    assert ML_OPERATIONS <= fuzz_every_operation(app, {"x-api-key": TEST_KEYS[0]})
