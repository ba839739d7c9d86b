"""The API client: each call's request, and every kind of failure as one `ApiError`."""

from __future__ import annotations

import json
import socket
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from sightline.cli.client import ApiError, IngestClient

URL = "http://localhost:8002"  # a loopback name: the ingestion service's Host allow-list accepts it


def client_of(handler: Callable[[httpx.Request], httpx.Response], token: str | None = None) -> IngestClient:
    return IngestClient(URL, token, transport=httpx.MockTransport(handler))


def recorded(call: Callable[[IngestClient], object], token: str | None = None) -> httpx.Request:
    """The request that `call` makes."""
    requests: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        return httpx.Response(200, json={})

    call(client_of(answer, token))
    [request] = requests
    return request


@pytest.mark.parametrize(("call", "method", "url"), [
    (lambda api: api.collections(), "GET", "/api/v1/collections"),
    (lambda api: api.collection("c"), "GET", "/api/v1/collections/c"),
    (lambda api: api.delete_collection("c"), "DELETE", "/api/v1/collections/c"),
    (lambda api: api.job("j"), "GET", "/api/v1/jobs/j"),
    (lambda api: api.job_errors("j"), "GET", "/api/v1/jobs/j/errors"),
    (lambda api: api.job_errors("j", limit=50), "GET", "/api/v1/jobs/j/errors?limit=50"),
    (lambda api: api.job_logs("j", after_id=7), "GET", "/api/v1/jobs/j/logs?after_id=7&limit=5000"),
    (lambda api: api.jobs(), "GET", "/api/v1/jobs?limit=20"),
    (lambda api: api.jobs(collection="c", states=["failed", "cancelled"], limit=5), "GET",
     "/api/v1/jobs?limit=5&collection=c&state=failed&state=cancelled"),
    (lambda api: api.cancel("j"), "POST", "/api/v1/jobs/j/cancel"),
    (lambda api: api.retry("j"), "POST", "/api/v1/jobs/j/retry"),
])
def test_each_call_asks_its_url(call, method, url):
    request = recorded(call)
    assert (request.method, str(request.url)) == (method, URL + url)


@pytest.mark.parametrize(("call", "body"), [
    (lambda api: api.create_collection("c"), {"name": "c"}),
    (lambda api: api.create_collection("c", distance="Dot", hnsw={"m": 8}),
     {"name": "c", "distance": "Dot", "hnsw": {"m": 8}}),
    (lambda api: api.scan("c", "/photos", recursive=False, caption=False),
     {"collection": "c", "directory_path": "/photos", "recursive": False, "caption": False}),
    (lambda api: api.search("c", "a dog"), {"collection": "c", "text": "a dog", "limit": 10}),
    (lambda api: api.search("c", "a dog", limit=3, min_score=0.2, filters={"camera": "X"}),
     {"collection": "c", "text": "a dog", "limit": 3, "score_threshold": 0.2, "filters": {"camera": "X"}}),
])
def test_each_post_sends_its_json_body(call, body):
    assert json.loads(recorded(call).content) == body


def test_an_image_search_posts_the_file_and_the_form(tmp_path: Path):
    image = tmp_path / "dog.png"
    image.write_bytes(b"\x89PNG fake")
    request = recorded(lambda api: api.search_image("c", image, limit=3, min_score=0.5, filters={"format": "png"}))
    content = request.content.decode("latin-1")
    parts = [
        'name="collection"\r\n\r\nc\r\n', 'name="limit"\r\n\r\n3\r\n', 'name="score_threshold"\r\n\r\n0.5\r\n',
        'name="filters"\r\n\r\n{"format": "png"}\r\n',
        'name="image"; filename="dog.png"\r\nContent-Type: image/png\r\n\r\n\x89PNG fake\r\n',
    ]
    assert [part in content for part in parts] == [True] * len(parts)


def test_the_token_is_sent_as_a_bearer():
    request = recorded(lambda api: api.job("j"), token="s3cret")
    assert request.headers["authorization"] == "Bearer s3cret"


def test_no_token_sends_no_authorization():
    assert "authorization" not in recorded(lambda api: api.job("j")).headers


def test_an_empty_answer_is_none():
    assert client_of(lambda request: httpx.Response(204)).delete_collection("c") is None


def failure(handler: Callable[[httpx.Request], httpx.Response]) -> ApiError:
    with pytest.raises(ApiError) as raised:
        client_of(handler).collections()
    return raised.value


def raising(exception: type[Exception]) -> Callable[[httpx.Request], httpx.Response]:
    def handler(request: httpx.Request) -> httpx.Response:
        raise exception("boom", request=request)

    return handler


def test_a_refused_connection_says_to_start_the_service():
    assert str(failure(raising(httpx.ConnectError))) == (
        f"the ingestion service is not running at {URL} — start it with `sightline up` "
        "(or pass --url / set SIGHTLINE_URL if it runs elsewhere)")


def test_a_timeout_says_so():
    assert str(failure(raising(httpx.ReadTimeout))) == f"the ingestion service at {URL} did not answer in time"


def test_another_transport_error_is_shown():
    assert str(failure(raising(httpx.RemoteProtocolError))) == f"cannot reach the ingestion service at {URL}: boom"


def test_an_error_answer_gives_its_code_message_and_place():
    error = failure(lambda request: httpx.Response(404, json={
        "error": {"code": "NOT_FOUND", "message": "collection 'x' does not exist", "where": "collection"}}))
    assert (str(error), error.code, error.where) == ("NOT_FOUND: collection 'x' does not exist", "NOT_FOUND",
                                                     "collection")


def test_an_error_answer_that_is_not_ours_gives_its_status_and_first_line():
    error = failure(lambda request: httpx.Response(502, text="Bad gateway\nnginx"))
    assert (str(error), error.code) == ("HTTP 502: Bad gateway", None)


def test_an_empty_error_answer_gives_the_reason():
    assert str(failure(lambda request: httpx.Response(503))) == "HTTP 503: Service Unavailable"


def test_a_success_that_is_not_json_asks_whether_this_is_sightline():
    error = failure(lambda request: httpx.Response(200, text="<html>"))
    assert str(error) == f"{URL}/api/v1/collections did not answer JSON: is this a Sightline service?"


def test_the_client_against_the_server_creates_and_reads_a_collection(service):
    with IngestClient(URL, transport=service.transport) as api:
        created = api.create_collection("client-made", distance="Euclid")
        assert api.collection("client-made") == created


def test_the_client_against_the_server_raises_not_found_with_its_place(service):
    with IngestClient(URL, transport=service.transport) as api, pytest.raises(ApiError) as raised:
        api.scan("never-made", str(service.clean))
    assert (raised.value.code, raised.value.where) == ("NOT_FOUND", "collection")


@pytest.mark.e2e
def test_a_port_where_nothing_listens_says_to_start_the_service():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))  # bound, not listening: connections are refused
        url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        with pytest.raises(ApiError) as raised:
            IngestClient(url).collections()
    assert str(raised.value) == (f"the ingestion service is not running at {url} — start it with `sightline up` "
                                 "(or pass --url / set SIGHTLINE_URL if it runs elsewhere)")
