"""The ingestion service as people run it: the API plus the web UI pages and static files, in-process."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from sightline.server import create_app
from tests.ingest.api.helpers import create, ingested, running, settings_for
from tests.samples import distinct_image


@pytest.fixture()
async def site(ml_app, tmp_path, library) -> AsyncIterator[httpx.AsyncClient]:
    ml_app.state.holder.load()  # what its lifespan starts in the background
    async with running(settings_for(tmp_path, library), ml_app, factory=create_app) as (_, client):
        yield client


@pytest.mark.parametrize("path", ["/", "/collections", "/ingest", "/jobs", "/search", "/login"])
async def test_every_page_renders_with_the_security_headers(site, path):
    page = await site.get(path)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert page.headers["cache-control"] == "no-store"


async def test_pages_show_the_data_the_api_answers(site, library):
    (library / "a.jpg").write_bytes(distinct_image(1))
    await create(site)
    job = await ingested(site, library)
    assert job["job_id"] in (await site.get("/jobs", params={"collection": "photos"})).text
    assert job["job_id"] in (await site.get("/")).text
    assert "photos" in (await site.get("/collections", params={"created": "photos"})).text
    assert job["job_id"] in (await site.get(f"/jobs/{job['job_id']}")).text


async def test_bad_filters_and_unknown_jobs_are_error_pages(site):
    bad = await site.get("/jobs", params={"state": "exploded"})
    assert bad.status_code == 422 and "Unknown job filter" in bad.text
    missing = await site.get("/jobs/nope")
    assert missing.status_code == 404 and "Job not found" in missing.text


async def test_static_files_are_versioned_and_cached(site):
    page = (await site.get("/")).text
    stylesheet = page.split('href="/static/app.css?v=', 1)[1].split('"', 1)[0]
    assert len(stylesheet) == 12  # a content hash
    response = await site.get(f"/static/app.css?v={stylesheet}")
    assert response.status_code == 200
    assert response.headers["cache-control"].startswith("public, max-age=")
