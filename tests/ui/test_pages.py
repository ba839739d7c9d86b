"""`sightline.ui.pages` without a browser."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator

import httpx
import pytest
from fastapi.testclient import TestClient

from sightline.server import create_app
from sightline.ui.pages import ml_summary, safe_next
from tests.conftest import ingest_settings
from tests.helpers import wait_for_job
from tests.samples import distinct_image


def test_safe_next_keeps_a_path_on_this_site():
    assert safe_next("/jobs/abc?x=1") == "/jobs/abc?x=1"


@pytest.mark.parametrize("hostile", [None, "", "//evil.example", "/\\evil.example", "https://evil.example",
                                     "javascript:x", "evil", "/\r\nSet-Cookie: x", "/a\\b"])
def test_safe_next_refuses_anything_else(hostile):
    assert safe_next(hostile) == "/"



@pytest.fixture()
def site(ml_app, tmp_path) -> Iterator[TestClient]:
    """The ingestion service with its pages, in-process; synchronous, like the rest of tests/ui (Playwright's
    sync API holds an event loop there)."""
    app = create_app(ingest_settings("http://ml.test", tmp_path, [tmp_path]),
                     ml_transport=httpx.ASGITransport(app=ml_app))
    with TestClient(app, base_url="http://127.0.0.1", follow_redirects=False) as client:
        yield client


def test_a_short_job_id_redirects_to_the_jobs_page_under_its_full_id(site):
    job = site.app.state.services.jobdb.create_job("photos", "upload", "upload", {})
    short = site.get(f"/jobs/{job.job_id[:8]}")
    assert short.status_code == 303 and short.headers["location"] == f"/jobs/{job.job_id}"
    page = site.get(short.headers["location"])
    assert page.status_code == 200 and f"job id <code>{job.job_id}</code>" in page.text
    assert ">Files/s</dt>" in page.text  # every file processed counts, an unchanged or failed one too


@pytest.mark.parametrize("job_id", ["no-such-job", "0123abcd", "0123abcd0123abcd0123abcd0123abcd"])
def test_an_unknown_job_id_is_the_html_not_found_page(site, job_id):
    page = site.get(f"/jobs/{job_id}")
    assert page.status_code == 404 and page.headers["content-type"].startswith("text/html")
    text = html.unescape(page.text)
    assert f"There is no job with the id {job_id}." in text and "Find the job in the list:" in text
    assert '<a href="/jobs">All jobs</a>' in text  # what to do next


def test_a_browser_asking_for_an_unknown_page_gets_a_page_and_a_client_its_json(site):
    page = site.get("/photos", headers={"accept": "text/html,application/xhtml+xml"})
    assert page.status_code == 404 and page.headers["content-type"].startswith("text/html")
    assert "There is no page at /photos." in page.text
    assert "Check the address for a typo, or go on from one of these pages:" in page.text
    assert re.findall(r'<a href="([^"]+)">', page.text.split('class="plain error-links"', 1)[1].split("</ul>")[0]) \
        == ["/search", "/collections", "/"]  # where to go next, besides the navigation
    assert 'href="/search"' in page.text  # the navigation
    for path, accept in (("/photos", "application/json"), ("/api/v1/nothing", "text/html")):
        answer = site.get(path, headers={"accept": accept})
        assert (answer.status_code, answer.json()["error"]["code"]) == (404, "NOT_FOUND")


@pytest.mark.parametrize("page", ["sources", "duplicates", "map"])
def test_a_collections_page_of_an_unknown_collection_says_so_and_links_to_the_list(site, page):
    answer = site.get(f"/collections/nope/{page}")
    assert answer.status_code == 404 and answer.headers["content-type"].startswith("text/html")
    text = html.unescape(answer.text)
    assert "<h1>Collection not found</h1>" in text and "There is no collection named “nope”." in text
    assert "It may have been deleted. Choose a collection in the list:" in text
    assert '<a href="/collections">All collections</a>' in text


def test_an_unknown_job_state_in_the_jobs_filter_names_the_states(site):
    answer = site.get("/jobs", params={"state": "done"})
    assert answer.status_code == 422
    text = html.unescape(answer.text)
    assert "“done” is not a state a job can be in; the states are: queued, running, completed, " \
           "completed with errors, failed, cancelled." in text
    assert '<a href="/jobs">All jobs</a>' in text


def test_the_jobs_list_names_a_syncs_folder_and_a_queued_job_by_its_state_alone(site):
    job = site.app.state.services.jobdb.create_job("photos", "sync", "/photos/2024", {})
    row = site.get("/jobs").text.split(f'href="/jobs/{job.job_id}"', 1)[1].split("</tr>", 1)[0]
    assert '<td class="path" data-label="Source">sync: /photos/2024</td>' in row
    assert '<td data-label="Progress"></td>' in row  # "queued" alone, not "queued · scanning…"


@pytest.mark.parametrize("statuses, state", [(["loading"], "loading"), (["loading", "loading"], "loading"),
                                             (["loading", "unreachable"], "down"), (["error"], "down"), ([], "down")])
def test_the_ml_service_is_loading_only_while_every_replica_loads(statuses, state):
    replicas = [{"url": f"http://ml{i}", "status": status} for i, status in enumerate(statuses)]
    assert ml_summary({"ml": {"replicas": replicas, "capabilities": None, "error": "no ML replica is ready"}})[
        "state"] == state


def test_the_sources_page_names_the_folder_its_copies_follow(site, tmp_path):
    folder = tmp_path / "walk"
    folder.mkdir()
    for i in range(2):
        (folder / f"p{i}.jpg").write_bytes(distinct_image(i))
    for name in ("walk", "picked"):
        assert site.post("/api/v1/collections", json={"name": name}).status_code == 201
    added = site.post("/api/v1/collections/walk/sources", json={"path": str(folder), "watch": False})
    assert wait_for_job(site, added.json()["job_id"])["state"] == "completed"
    scan = site.post("/api/v1/ingest/scan", json={"collection": "picked", "directory_path": str(folder)})
    assert wait_for_job(site, scan.json()["job_id"])["state"] == "completed"  # scanned, not followed

    page = html.unescape(site.get("/collections/picked/sources").text)
    assert "No folders of its own yet" in page
    assert f"2 photos here lie in {folder}, which walk follows: what its syncs change there" in " ".join(
        re.sub(r"<[^>]+>", "", page).split())
    assert "copies-follow" not in site.get("/collections/walk/sources").text  # its own folder: no copies
