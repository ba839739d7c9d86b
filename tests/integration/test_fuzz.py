"""Fuzz both services from their own OpenAPI schemas over real HTTP: no request may get a 5xx."""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, given, settings

from tests.conftest import TEST_KEYS

FUZZ = settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True,
                database=None)


def fuzz_every_operation(schema_url: str, headers: dict[str, str] | None = None) -> int:
    """Runs each operation's generated cases; returns how many operations were fuzzed."""
    schema = schemathesis.openapi.from_url(schema_url)
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
    return len(operations)


def test_ingestion_api_never_answers_5xx(ingest_server, client):
    client.post("/api/v1/collections", json={"name": "photos"})  # so that some requests reach deeper code
    assert fuzz_every_operation(f"{ingest_server.url}/openapi.json") >= 15


def test_ml_api_never_answers_5xx(ml_server):
    assert fuzz_every_operation(f"{ml_server.url}/openapi.json", {"x-api-key": TEST_KEYS[0]}) >= 6
