"""Both services over real HTTP on loopback: a scan job followed live over server-sent events, then search,
a thumbnail, and the web UI served next to the API (as `sightline serve ingest` runs it)."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.samples import distinct_image

pytestmark = pytest.mark.e2e


def follow(client: httpx.Client, job_id: str) -> list[str]:
    """The job's event names, streamed as they come, up to its `end` event."""
    events = []
    with client.stream("GET", f"/api/v1/jobs/{job_id}/events") as stream:
        for line in stream.iter_lines():
            if line.startswith("event:"):
                events.append(line.split(":", 1)[1].strip())
                if events[-1] == "end":
                    return events
    raise AssertionError(f"the stream closed without an end event: {events}")


def test_scan_follow_and_search_between_both_services(client, library):
    for index in range(8):
        (library / f"{index}.jpg").write_bytes(distinct_image(index))
    (library / "broken.jpg").write_bytes(b"not a picture" * 50)
    assert client.post("/api/v1/collections", json={"name": "photos"}).status_code == 201
    response = client.post("/api/v1/ingest/scan", json={"collection": "photos", "directory_path": str(library)})
    assert response.status_code == 202
    job_id = response.json()["job_id"]

    events = follow(client, job_id)
    assert events[0] == "log" and "progress" in events and events[-1] == "end"
    job = client.get(f"/api/v1/jobs/{job_id}").json()
    assert job["state"] == "completed_with_errors"
    assert (job["counts"]["done"], job["counts"]["failed"], job["percent"]) == (8, 1, 100)

    query = distinct_image(3, fmt="PNG")
    results = client.post("/api/v1/search/image", data={"collection": "photos", "limit": "5"},
                          files={"image": ("q.png", query, "image/png")}).json()["results"]
    assert len(results) == 5 and Path(results[0]["payload"]["path"]).name == "3.jpg"
    text = client.post("/api/v1/search", json={"collection": "photos", "text": "a photo", "limit": 8}).json()
    assert len(text["results"]) == 8
    thumbnail = client.get(results[0]["thumbnail_url"])
    assert thumbnail.status_code == 200 and thumbnail.headers["content-type"] == "image/jpeg"


def test_the_service_serves_the_web_ui(client):
    page = client.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert client.get("/static/app.css").status_code == 200
