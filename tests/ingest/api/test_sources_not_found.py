"""Every route that takes a source id answers an unknown one, a folder path given as an id included, with a
structured NOT_FOUND that names it (`where="source_id"`); a wrong method on a source's URL stays a 405."""

from __future__ import annotations

import pytest

from tests.ingest.api.helpers import create

URL = "/api/v1/collections/photos/sources"
ROUTES = [("GET", ""), ("PATCH", ""), ("DELETE", ""), ("POST", "/sync"), ("DELETE", "/removed")]


@pytest.mark.parametrize("source_id", ["nope", "/tmp/photos", "photos/2019"])
async def test_an_unknown_source_id_is_a_structured_not_found(api, source_id: str) -> None:
    await create(api)
    for method, tail in ROUTES:
        body = {"json": {}} if method == "PATCH" else {}
        answer = await api.request(method, f"{URL}/{source_id}{tail}", **body)
        assert answer.status_code == 404, (method, tail, answer.text)
        error = answer.json()["error"]
        assert (error["code"], error["where"]) == ("NOT_FOUND", "source_id"), (method, tail, error)
        assert error["message"].startswith(f"No source {source_id!r} in photos;"), (method, tail, error)


@pytest.mark.parametrize("method, path, status", [
    ("GET", "/abc123/sync", 405), ("POST", "/abc123", 405), ("PUT", "/abc123/removed", 405),
    ("GET", "/abc123/", 307)])
async def test_a_wrong_method_or_a_trailing_slash_keeps_its_answer(api, method: str, path: str, status: int) -> None:
    await create(api)
    assert (await api.request(method, f"{URL}{path}")).status_code == status
