"""The notices of the collections page, in-process (no browser): they name collections, never echo other text."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from fastapi.testclient import TestClient

from sightline.server import create_app
from tests.conftest import ingest_settings


@pytest.fixture()
def pages(ml_app, tmp_path, library) -> Iterator[TestClient]:
    """Synchronous, like the rest of tests/ui (Playwright's sync API holds an event loop there)."""
    app = create_app(ingest_settings("http://ml.test", tmp_path, [library]),
                     ml_transport=httpx.ASGITransport(app=ml_app))
    with TestClient(app, base_url="http://127.0.0.1") as client:
        yield client


@pytest.mark.parametrize("text", ["Your data was sold - call +1 555 0100", "<b>x</b>", "a" * 5000, "../x", " "])
def test_the_deleted_notice_never_echoes_arbitrary_text(pages, text):
    page = pages.get("/collections", params={"deleted": text})
    assert page.status_code == 200
    assert 'id="deleted"' not in page.text


def test_the_deleted_notice_names_a_deleted_collection(pages):
    page = pages.get("/collections", params={"deleted": "holiday-2024"})
    assert "Collection <strong>holiday-2024</strong> deleted." in page.text
