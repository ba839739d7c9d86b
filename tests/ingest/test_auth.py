"""The ingestion service's guard, in-process: the Host allow-list (DNS rebinding), cross-site writes refused,
random server-side sessions that logout revokes, slowed-down token guessing, no weak token beyond loopback."""

from __future__ import annotations

import httpx
import pytest

from sightline.ingest.app import create_app
from sightline.ingest.auth import SESSION_COOKIE
from sightline.ingest.sessions import LoginThrottle, SessionStore
from tests.ingest.api.conftest import loaded_ml_app  # noqa: F401  (a fixture)
from tests.ingest.api.helpers import running, settings_for
from tests.samples import distinct_image

TOKEN = "auth-test-admin-token"
CROSS_SITE = {"sec-fetch-site": "cross-site", "origin": "https://attacker.example"}
SAME_SITE_OTHER_PORT = {"sec-fetch-site": "same-site", "origin": "http://127.0.0.1:9999"}


@pytest.fixture()
async def open_api(loaded_ml_app, tmp_path, library):  # noqa: F811
    async with running(settings_for(tmp_path, library, allowed_hosts="photos.example.com, *.lan"),
                       loaded_ml_app) as (_, api):
        yield api


@pytest.fixture()
async def guarded(loaded_ml_app, tmp_path, library):  # noqa: F811
    async with running(settings_for(tmp_path, library, admin_token=TOKEN), loaded_ml_app) as (_, api):
        yield api


@pytest.mark.parametrize("host", ["attacker.example", "127.0.0.1.nip.io", "localhost.attacker.example",
                                  "127.attacker.example:8002", "evil.photos.example.com"])
async def test_a_rebound_host_name_is_refused(open_api: httpx.AsyncClient, host: str):
    response = await open_api.get("/api/v1/browse", headers={"host": host})
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "FORBIDDEN" and response.json()["error"]["where"] == "host"


@pytest.mark.parametrize("host", ["127.0.0.1:8002", "localhost:8002", "[::1]:8002", "192.168.1.20:8002",
                                  "photos.example.com", "nas.lan:8002"])
async def test_loopback_addresses_and_configured_names_are_served(open_api: httpx.AsyncClient, host: str):
    assert (await open_api.get("/api/v1/browse", headers={"host": host})).status_code == 200


async def test_health_answers_any_host(open_api: httpx.AsyncClient):
    assert (await open_api.get("/health", headers={"host": "attacker.example"})).status_code == 200


@pytest.mark.parametrize("headers", [CROSS_SITE, SAME_SITE_OTHER_PORT, {"origin": "http://127.0.0.1:9999"},
                                     {"origin": "null"}])
async def test_cross_origin_writes_are_refused(open_api: httpx.AsyncClient, headers: dict):
    response = await open_api.post("/api/v1/collections", json={"name": "photos"}, headers=headers)
    assert response.status_code == 403 and response.json()["error"]["code"] == "FORBIDDEN"
    assert (await open_api.get("/api/v1/collections")).json()["collections"] == []


async def test_a_no_cors_upload_from_another_page_creates_no_job(open_api: httpx.AsyncClient):
    assert (await open_api.post("/api/v1/collections", json={"name": "photos"})).status_code == 201
    files = {"files": ("a.jpg", distinct_image(1), "image/jpeg")}
    response = await open_api.post("/api/v1/ingest/upload", data={"collection": "photos"}, files=files,
                                   headers=SAME_SITE_OTHER_PORT)
    assert response.status_code == 403
    assert (await open_api.get("/api/v1/jobs")).json()["jobs"] == []


@pytest.mark.parametrize("headers", [{"sec-fetch-site": "same-origin", "origin": "http://localhost"},
                                     {"origin": "http://localhost"}, {}])
async def test_same_origin_pages_and_non_browser_clients_may_write(open_api: httpx.AsyncClient, headers: dict):
    response = await open_api.post("/api/v1/collections", json={"name": "photos"}, headers=headers)
    assert response.status_code == 201, response.text


async def test_a_same_site_page_cannot_use_the_session(guarded: httpx.AsyncClient):
    assert (await guarded.post("/api/v1/session", json={"token": TOKEN})).status_code == 204
    response = await guarded.post("/api/v1/collections", json={"name": "photos"}, headers=SAME_SITE_OTHER_PORT)
    assert response.status_code == 403
    assert (await guarded.post("/api/v1/collections", json={"name": "photos"})).status_code == 201


async def test_sessions_are_random_and_logout_revokes_the_cookie(guarded: httpx.AsyncClient):
    first = (await guarded.post("/api/v1/session", json={"token": TOKEN})).cookies[SESSION_COOKIE]
    guarded.cookies.clear()
    second = (await guarded.post("/api/v1/session", json={"token": TOKEN})).cookies[SESSION_COOKIE]
    assert first != second and TOKEN not in first
    assert (await guarded.delete("/api/v1/session")).status_code == 204
    guarded.cookies.clear()
    replayed = await guarded.get("/api/v1/collections", headers={"cookie": f"{SESSION_COOKIE}={second}"})
    assert replayed.status_code == 401
    still_open = await guarded.get("/api/v1/collections", headers={"cookie": f"{SESSION_COOKIE}={first}"})
    assert still_open.status_code == 200


async def test_repeated_wrong_tokens_lock_the_client_out(guarded: httpx.AsyncClient):
    answers = [(await guarded.post("/api/v1/session", json={"token": f"guess-{i}"})).status_code
               for i in range(5)]
    assert answers == [401] * 5
    locked = await guarded.post("/api/v1/session", json={"token": TOKEN})
    assert locked.status_code == 429 and int(locked.headers["retry-after"]) >= 1
    assert locked.json()["error"]["code"] == "TOO_MANY_ATTEMPTS"
    assert locked.json()["error"]["where"] == "token"
    bearer = await guarded.get("/api/v1/collections", headers={"authorization": f"Bearer {TOKEN}"})
    assert bearer.status_code == 429


async def test_bearer_guesses_count_as_failed_logins(guarded: httpx.AsyncClient):
    for i in range(5):
        guess = await guarded.get("/api/v1/collections", headers={"authorization": f"Bearer guess-{i}"})
        assert guess.status_code == 401
    assert (await guarded.post("/api/v1/session", json={"token": TOKEN})).status_code == 429


def test_a_short_admin_token_is_refused_beyond_loopback(tmp_path, library):
    with pytest.raises(SystemExit, match="at least 16 characters"):
        create_app(settings_for(tmp_path, library, host="0.0.0.0", admin_token="short-token"))
    create_app(settings_for(tmp_path, library, host="127.0.0.1", admin_token="short-token"))
    create_app(settings_for(tmp_path, library, host="0.0.0.0", admin_token="a-long-enough-token"))


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_the_lockout_doubles_with_each_failure_and_a_success_forgets():
    clock = Clock()
    throttle = LoginThrottle(tries=3, first_s=2, max_s=5, clock=clock)
    for _ in range(2):
        throttle.failed("10.0.0.9")
    assert throttle.retry_after("10.0.0.9") == 0
    throttle.failed("10.0.0.9")
    assert (throttle.retry_after("10.0.0.9"), throttle.retry_after("10.0.0.8")) == (2, 0)
    clock.now += 2
    throttle.failed("10.0.0.9")
    assert throttle.retry_after("10.0.0.9") == 4
    clock.now += 4
    for _ in range(100):
        throttle.failed("10.0.0.9")
    assert throttle.retry_after("10.0.0.9") == 5
    throttle.succeeded("10.0.0.9")
    assert throttle.retry_after("10.0.0.9") == 0


def test_sessions_expire_and_the_oldest_go_beyond_the_limit():
    clock = Clock()
    store = SessionStore(lifetime_s=60, limit=2, clock=clock)
    first, second = store.open(), store.open()
    assert store.valid(first) and store.valid(second) and not store.valid("forged") and not store.valid(None)
    third = store.open()
    assert (store.valid(first), store.valid(second), store.valid(third)) == (False, True, True)
    clock.now += 60
    assert not store.valid(second)
