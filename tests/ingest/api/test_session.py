"""The admin token: required on the API when configured, as a bearer header or a session cookie."""

from __future__ import annotations

import httpx
import pytest

from tests.ingest.api.helpers import running, settings_for

TOKEN = "api-test-admin-token"


@pytest.fixture()
async def guarded(loaded_ml_app, tmp_path, library):
    async with running(settings_for(tmp_path, library, admin_token=TOKEN), loaded_ml_app) as (_, api):
        yield api


async def test_the_api_needs_the_token_but_health_does_not(guarded: httpx.AsyncClient):
    assert (await guarded.get("/health")).status_code == 200
    refused = await guarded.get("/api/v1/collections")
    assert refused.status_code == 401 and refused.json()["error"]["code"] == "UNAUTHORIZED"
    bearer = await guarded.get("/api/v1/collections", headers={"authorization": f"Bearer {TOKEN}"})
    assert bearer.status_code == 200


async def test_a_session_cookie_stands_for_the_token_until_closed(guarded: httpx.AsyncClient):
    wrong = await guarded.post("/api/v1/session", json={"token": "guess"})
    assert wrong.status_code == 401 and wrong.json()["error"]["where"] == "token"
    opened = await guarded.post("/api/v1/session", json={"token": TOKEN})
    assert opened.status_code == 204
    cookie = opened.headers["set-cookie"]
    assert "httponly" in cookie.lower() and "samesite=strict" in cookie.lower() and TOKEN not in cookie
    assert (await guarded.get("/api/v1/collections")).status_code == 200
    assert (await guarded.delete("/api/v1/session", headers={"authorization": f"Bearer {TOKEN}"})).status_code == 204
    assert (await guarded.get("/api/v1/collections")).status_code == 401


async def test_without_a_configured_token_no_session_opens(api: httpx.AsyncClient):
    response = await api.post("/api/v1/session", json={"token": "anything"})
    assert response.status_code == 401
