"""Both services over real HTTP, embedded store in a temp dir: collections, jobs, search, thumbnails."""

from __future__ import annotations

import io
import os
from pathlib import Path

import httpx
import numpy as np
import pytest
from PIL import Image

from tests.samples import distinct_image
from sightline.ingest.pipeline import point_id_for
from tests.helpers import mixed_library, wait_for_job


def create(client: httpx.Client, name: str = "photos", **params) -> dict:
    response = client.post("/api/v1/collections", json={"name": name, **params})
    assert response.status_code == 201, response.text
    return response.json()


def scan(client: httpx.Client, folder: Path, collection: str = "photos", **options) -> str:
    response = client.post(
        "/api/v1/ingest/scan", json={"collection": collection, "directory_path": str(folder), **options}
    )
    assert response.status_code == 202, response.text
    return response.json()["job_id"]


def all_points(client: httpx.Client, collection: str, ingest_server) -> list:
    store = ingest_server.server.config.app.state.services.vectors
    points, offset = [], None
    while True:
        page, offset = store.scroll(collection, limit=100, offset=offset)
        points.extend(page)
        if offset is None:
            return points


# --- collections ---------------------------------------------------------------------------------------


def test_collection_defaults_to_the_model_dimension_and_remembers_the_model(client):
    info = create(client, distance="Dot", on_disk=True, hnsw={"m": 8, "ef_construct": 64}, quantization="int8")
    assert info["params"]["vector_size"] == 64
    assert info["params"]["distance"] == "Dot"
    assert info["params"]["metadata"]["backend"] == "tiny"
    assert info["params"]["metadata"]["embedding_model"] == "tiny-random-clip"
    assert isinstance(info["ignored_params"], list)
    listed = client.get("/api/v1/collections").json()["collections"]
    assert [(c["name"], c["points_count"]) for c in listed] == [("photos", 0)]
    assert client.get("/api/v1/collections/photos").json()["params"]["hnsw_m"] == 8


@pytest.mark.parametrize(
    "body, status, code",
    [
        ({"name": "../etc"}, 422, "VALIDATION_ERROR"),
        ({"name": ""}, 422, "VALIDATION_ERROR"),
        ({"name": "x" * 65}, 422, "VALIDATION_ERROR"),
        ({"name": "ok", "vector_size": 512}, 422, "MODEL_MISMATCH"),
        ({"name": "ok", "distance": "Hamming"}, 422, "VALIDATION_ERROR"),
        ({"name": "ok", "hnsw": {"m": -1}}, 422, "VALIDATION_ERROR"),
        ({"name": "ok", "quantization": "binary"}, 422, "VALIDATION_ERROR"),
        ({"name": "ok", "surprise": 1}, 422, "VALIDATION_ERROR"),
    ],
)
def test_bad_collection_parameters_are_refused_clearly(client, body, status, code):
    response = client.post("/api/v1/collections", json=body)
    assert response.status_code == status
    assert response.json()["error"]["code"] == code
    assert response.json()["error"]["message"]


def test_duplicate_and_unknown_collections(client):
    create(client)
    assert client.post("/api/v1/collections", json={"name": "photos"}).status_code == 409
    assert client.get("/api/v1/collections/nope").status_code == 404
    assert client.delete("/api/v1/collections/nope").status_code == 404
    assert client.delete("/api/v1/collections/photos").status_code == 204
    assert client.get("/api/v1/collections").json()["collections"] == []


# --- ingestion -------------------------------------------------------------------------------------------


def test_ingest_mixed_folder_counts_errors_and_payloads(client, library, ingest_server):
    expected = mixed_library(library)
    create(client)
    job = wait_for_job(client, scan(client, library))
    assert job["state"] == "completed_with_errors"
    good = len(expected["done"]) + len(expected["cached"])
    assert job["counts"] == {
        "total": good + len(expected["failed"]), "done": len(expected["done"]),
        "cached": len(expected["cached"]), "skipped": 0, "failed": len(expected["failed"]), "pending": 0,
    }
    errors = client.get(f"/api/v1/jobs/{job['job_id']}/errors").json()["errors"]
    assert {Path(e["path"]).name: e["code"] for e in errors} == expected["failed"]
    for error in errors:
        assert error["stage"] in {"read", "decode"} and error["message"] and error["at"]
        assert error["retriable"] is False

    points = all_points(client, "photos", ingest_server)
    assert len(points) == good
    by_name = {Path(p.payload["path"]).relative_to(library).as_posix(): p.payload for p in points}
    assert set(by_name) == set(expected["done"]) | set(expected["cached"])
    heic = by_name["2024/summer/f.heic"]
    assert (heic["format"], heic["width"], heic["height"]) == ("heif", 80, 60)
    assert by_name["png-named.jpg"]["format"] == "png"
    assert by_name["raw/h.dng"]["format"] == "dng"
    photo = by_name["2024/summer/g.jpg"]
    assert photo["camera_make"] and photo["camera_model"] and photo["taken_at"]
    assert photo["camera"] == f"{photo['camera_make']} {photo['camera_model']}"
    assert photo["gps_latitude"] is not None
    for payload in by_name.values():
        assert payload["folder"] == str(Path(payload["path"]).parent)
        assert payload["sha256"] and payload["bytes"] > 0 and payload["ingested_at"]
        assert payload["embedding_model"] == "tiny-random-clip"
        assert payload["caption_model"] == "tiny-random-blip"
        assert isinstance(payload["caption"], str)
    assert by_name["2024/copy-of-a.jpg"]["sha256"] == by_name["a.jpg"]["sha256"]
    logs = [line["message"] for line in client.get(f"/api/v1/jobs/{job['job_id']}/logs").json()["logs"]]
    assert any("ignored 1 non-image, 2 hidden" in line for line in logs)


def test_reingest_skips_unchanged_files_and_adds_no_points(client, library, ingest_server):
    for index in range(6):
        (library / f"{index}.jpg").write_bytes(distinct_image(index))
    (library / "sub").mkdir()
    (library / "sub" / "copy.jpg").write_bytes(distinct_image(0))
    create(client)
    first = wait_for_job(client, scan(client, library))
    assert (first["counts"]["done"], first["counts"]["cached"]) == (6, 1)
    second = wait_for_job(client, scan(client, library))
    assert second["state"] == "completed"
    assert second["counts"]["skipped"] == 7 and second["counts"]["done"] == 0
    assert client.get("/api/v1/collections/photos").json()["points_count"] == 7

    (library / "0.jpg").write_bytes(distinct_image(20))  # changed content, same path
    third = wait_for_job(client, scan(client, library))
    assert third["counts"]["done"] == 1 and third["counts"]["skipped"] == 6
    assert client.get("/api/v1/collections/photos").json()["points_count"] == 7
    point = client.get(f"/api/v1/collections/photos/points/{point_id_for('photos', str(library / '0.jpg'))}")
    assert point.json()["payload"]["sha256"] == __import__("hashlib").sha256(distinct_image(20)).hexdigest()


def test_duplicate_content_reuses_results_across_jobs(client, library, tmp_path):
    (library / "one").mkdir()
    (library / "two").mkdir()
    (library / "one" / "x.jpg").write_bytes(distinct_image(4))
    create(client)
    wait_for_job(client, scan(client, library / "one"))
    (library / "two" / "x-copy.jpg").write_bytes(distinct_image(4))
    job = wait_for_job(client, scan(client, library / "two"))
    assert job["counts"]["cached"] == 1 and job["counts"]["done"] == 0


def test_non_recursive_scan(client, library):
    (library / "sub").mkdir()
    (library / "top.jpg").write_bytes(distinct_image(1))
    (library / "sub" / "deep.jpg").write_bytes(distinct_image(2))
    create(client)
    job = wait_for_job(client, scan(client, library, recursive=False))
    assert job["counts"]["total"] == 1


def test_caption_off_stores_empty_captions(client, library, ingest_server):
    (library / "a.jpg").write_bytes(distinct_image(1))
    create(client)
    wait_for_job(client, scan(client, library, caption=False))
    assert all_points(client, "photos", ingest_server)[0].payload["caption"] == ""


@pytest.mark.parametrize("path_of", [
    lambda lib: "/etc",
    lambda lib: str(lib / ".." / ".."),
    lambda lib: str(lib) + "/../../etc",
    lambda lib: "~root",
])
def test_scan_outside_the_roots_is_refused(client, library, path_of):
    create(client)
    response = client.post("/api/v1/ingest/scan", json={"collection": "photos", "directory_path": path_of(library)})
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "FORBIDDEN"
    assert response.json()["error"]["where"] == "directory_path"


def test_symlinks_cannot_escape_the_root(client, library, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "private.jpg").write_bytes(distinct_image(7))
    (library / "ok.jpg").write_bytes(distinct_image(1))
    os.symlink(outside, library / "link-dir")
    os.symlink(outside / "private.jpg", library / "link.jpg")
    create(client)
    response = client.post("/api/v1/ingest/scan", json={"collection": "photos",
                                                         "directory_path": str(library / "link-dir")})
    assert response.status_code == 403
    job = wait_for_job(client, scan(client, library))
    assert job["counts"]["total"] == 1 and job["counts"]["done"] == 1
    logs = " ".join(line["message"] for line in client.get(f"/api/v1/jobs/{job['job_id']}/logs").json()["logs"])
    assert "outside the ingest roots" in logs


def test_scan_unknown_collection_or_folder(client, library):
    assert client.post("/api/v1/ingest/scan", json={"collection": "nope", "directory_path": str(library)}
                       ).status_code == 404
    create(client)
    response = client.post("/api/v1/ingest/scan", json={"collection": "photos",
                                                         "directory_path": str(library / "missing")})
    assert response.status_code == 404


def test_upload_sanitises_names_and_ingests(client, ingest_server, tmp_path):
    create(client)
    files = [
        ("files", ("../../../evil.jpg", distinct_image(1), "image/jpeg")),
        ("files", (".hidden.png", distinct_image(2, fmt="PNG"), "image/png")),
        ("files", ("evil.jpg", distinct_image(3), "image/jpeg")),
        ("files", ("broken.jpg", b"\xff\xd8\xff\xe0 broken", "image/jpeg")),
    ]
    response = client.post("/api/v1/ingest/upload", data={"collection": "photos"}, files=files)
    assert response.status_code == 202
    job = wait_for_job(client, response.json()["job_id"])
    assert job["counts"]["done"] == 3 and job["counts"]["failed"] == 1
    uploads = tmp_path / "data" / "uploads" / job["job_id"]
    names = sorted(path.name for path in uploads.iterdir())
    assert names == ["broken.jpg", "evil-1.jpg", "evil.jpg", "hidden.png"]
    assert not (tmp_path / "evil.jpg").exists()


def test_wrong_ml_key_fails_the_job_fast(ml_server, tmp_path, library):
    from tests.conftest import ingest_settings, start_ingest

    (library / "a.jpg").write_bytes(distinct_image(1))
    good = start_ingest(ingest_settings(ml_server.url, tmp_path, [library]))
    with httpx.Client(base_url=good.url, timeout=30) as client:
        create(client)
    good.stop()
    bad = start_ingest(ingest_settings(ml_server.url, tmp_path, [library], api_key="wrong-key"))
    try:
        with httpx.Client(base_url=bad.url, timeout=30) as client:
            job = wait_for_job(client, scan(client, library), timeout=15)
            assert job["state"] == "failed"
            assert job["error"]["code"] == "ML_UNAUTHORIZED"
            assert job["counts"]["total"] == 0  # refused before scanning anything
    finally:
        bad.stop()
    fixed = start_ingest(ingest_settings(ml_server.url, tmp_path, [library]))
    try:
        with httpx.Client(base_url=fixed.url, timeout=30) as client:
            assert client.post(f"/api/v1/jobs/{job['job_id']}/retry").status_code == 202
            assert wait_for_job(client, job["job_id"])["counts"]["done"] == 1
    finally:
        fixed.stop()


def test_collection_built_with_another_model_is_refused(client, library, ingest_server):
    from sightline.ingest.vectors import CollectionParams

    store = ingest_server.server.config.app.state.services.vectors
    store.create_collection("legacy", CollectionParams(
        vector_size=64, metadata={"backend": "lite", "embedding_model": "other", "dimension": 64}))
    (library / "a.jpg").write_bytes(distinct_image(1))
    job = wait_for_job(client, scan(client, library, collection="legacy"))
    assert job["state"] == "failed"
    assert job["error"]["code"] == "MODEL_MISMATCH"
    assert "other" in job["error"]["message"]


def test_cancel_and_retry(client, library):
    create(client)
    (library / "bad.jpg").write_bytes(b"nope" * 100)
    (library / "good.jpg").write_bytes(distinct_image(1))
    job = wait_for_job(client, scan(client, library))
    assert job["counts"]["failed"] == 1
    assert client.post(f"/api/v1/jobs/{job['job_id']}/cancel").status_code == 409
    (library / "bad.jpg").write_bytes(distinct_image(2))  # the user fixes the file
    response = client.post(f"/api/v1/jobs/{job['job_id']}/retry")
    assert response.status_code == 202 and response.json()["retried"] == 1
    retried = wait_for_job(client, job["job_id"])
    assert retried["state"] == "completed"
    assert retried["counts"]["done"] == 2 and retried["counts"]["failed"] == 0
    assert client.get(f"/api/v1/jobs/{job['job_id']}/errors").json()["errors"] == []
    assert client.post(f"/api/v1/jobs/{job['job_id']}/retry").status_code == 409


def test_unknown_job_is_404(client):
    for path in ("", "/errors", "/logs", "/events"):
        response = client.get(f"/api/v1/jobs/nope{path}")
        assert response.status_code == 404 and response.json()["error"]["code"] == "NOT_FOUND"


def test_events_stream_progress_logs_and_end(client, library):
    for index in range(5):
        (library / f"{index}.jpg").write_bytes(distinct_image(index))
    create(client)
    job_id = scan(client, library)
    events = []
    with client.stream("GET", f"/api/v1/jobs/{job_id}/events") as stream:
        event = None
        for line in stream.iter_lines():
            if line.startswith("event:"):
                event = line.split(":", 1)[1].strip()
                events.append(event)
            if event == "end":
                break
    assert events[0] in {"log", "progress"} and "progress" in events and events[-1] == "end"
    assert "log" in events


# --- search and images ------------------------------------------------------------------------------------


def test_search_by_image_text_and_point(client, library):
    for index in range(8):
        (library / f"{index}.png").write_bytes(distinct_image(index, fmt="PNG"))
    create(client)
    wait_for_job(client, scan(client, library))

    query = distinct_image(5, fmt="JPEG")  # the same picture, re-encoded as JPEG
    response = client.post("/api/v1/search/image", data={"collection": "photos", "limit": "3"},
                           files={"image": ("q.jpg", query, "image/jpeg")})
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert Path(results[0]["payload"]["path"]).name == "5.png"
    assert results[0]["score"] > 0.95
    assert results[0]["thumbnail_url"].endswith("/thumbnail")

    text = client.post("/api/v1/search", json={"collection": "photos", "text": "a red square", "limit": 4}).json()
    assert len(text["results"]) == 4
    assert text["results"][0]["score"] >= text["results"][-1]["score"]

    more = client.post("/api/v1/search", json={"collection": "photos", "point_id": results[0]["id"], "limit": 3})
    assert results[0]["id"] not in [hit["id"] for hit in more.json()["results"]]
    assert len(more.json()["results"]) == 3


def test_search_filters_and_threshold(client, library):
    (library / "a").mkdir()
    (library / "b").mkdir()
    for index in range(3):
        (library / "a" / f"{index}.jpg").write_bytes(distinct_image(index))
        (library / "b" / f"{index}.png").write_bytes(distinct_image(index + 3, fmt="PNG"))
    create(client)
    wait_for_job(client, scan(client, library))
    base = {"collection": "photos", "text": "anything", "limit": 50}
    in_a = client.post("/api/v1/search", json={**base, "filters": {"folder": str(library / "a")}}).json()
    assert {Path(r["payload"]["path"]).parent.name for r in in_a["results"]} == {"a"}
    pngs = client.post("/api/v1/search", json={**base, "filters": {"format": "png"}}).json()
    assert len(pngs["results"]) == 3
    whole = client.post("/api/v1/search", json={**base, "filters": {"folder": str(library)}}).json()
    assert len(whole["results"]) == 6
    strict = client.post("/api/v1/search", json={**base, "score_threshold": 0.9999}).json()
    assert len(strict["results"]) < 6
    future = client.post("/api/v1/search", json={**base, "filters": {"taken_after": "2100-01-01T00:00:00Z"}})
    assert future.json()["results"] == []
    facets = client.get("/api/v1/collections/photos/facets").json()
    assert {f["value"]: f["count"] for f in facets["format"]} == {"jpeg": 3, "png": 3}


@pytest.mark.parametrize("body", [
    {"collection": "photos"},
    {"collection": "photos", "text": "x", "point_id": "1"},
    {"collection": "photos", "point_id": "not-a-uuid"},
    {"collection": "photos", "text": "x", "limit": 0},
    {"collection": "photos", "text": "x", "filters": {"taken_after": "yesterday"}},
])
def test_bad_searches_get_structured_errors(client, body):
    create(client)
    response = client.post("/api/v1/search", json=body)
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "VALIDATION_ERROR"


def test_image_search_with_a_corrupt_image_is_a_clear_422(client):
    create(client)
    response = client.post("/api/v1/search/image", data={"collection": "photos"},
                           files={"image": ("q.jpg", b"\xff\xd8\xff garbage", "image/jpeg")})
    assert response.status_code == 422
    assert response.json()["error"]["code"] in {"DECODE_FAILED", "UNSUPPORTED_FORMAT"}


def test_thumbnails_are_cached_and_originals_confined(client, library, ingest_server, tmp_path):
    (library / "a.jpg").write_bytes(distinct_image(1, size=(900, 600)))
    create(client)
    wait_for_job(client, scan(client, library))
    point_id = point_id_for("photos", str(library / "a.jpg"))
    response = client.get(f"/api/v1/collections/photos/points/{point_id}/thumbnail")
    assert response.status_code == 200 and response.headers["content-type"] == "image/jpeg"
    assert "max-age" in response.headers["cache-control"]
    assert max(Image.open(io.BytesIO(response.content)).size) <= 320
    etag = response.headers["etag"]
    assert client.get(f"/api/v1/collections/photos/points/{point_id}/thumbnail",
                      headers={"if-none-match": etag}).status_code == 304
    assert list((tmp_path / "data" / "thumbnails" / "photos").glob("*.jpg"))
    original = client.get(f"/api/v1/collections/photos/points/{point_id}/original")
    assert original.content == (library / "a.jpg").read_bytes()

    from sightline.ingest.vectors import Point
    store = ingest_server.server.config.app.state.services.vectors
    rogue = point_id_for("photos", "/etc/passwd")
    store.upsert("photos", [Point(rogue, list(np.ones(64) / 8.0), {"path": "/etc/passwd"})])
    for kind in ("original", "thumbnail"):
        response = client.get(f"/api/v1/collections/photos/points/{rogue}/{kind}")
        assert response.status_code == 403 and response.json()["error"]["code"] == "FORBIDDEN"


def test_browse_is_confined_to_the_roots(client, library):
    (library / "holiday").mkdir()
    (library / "holiday" / "x.jpg").write_bytes(distinct_image(1))
    roots = client.get("/api/v1/browse").json()
    assert str(library) in [folder["path"] for folder in roots["folders"]]
    listing = client.get("/api/v1/browse", params={"path": str(library / "holiday")}).json()
    assert listing["images"] == 1
    assert client.get("/api/v1/browse", params={"path": "/etc"}).status_code == 403
    assert client.get("/api/v1/browse", params={"path": str(library / "..")}).status_code == 403


def test_status_reports_the_ml_service(client):
    status = client.get("/api/v1/status").json()
    assert status["ml"]["capabilities"]["backend"] == "tiny"
    assert status["ml"]["replicas"][0]["reachable"] is True
    assert status["store"]["backend"] == "embedded"


def test_api_docs_work_offline(client):
    page = client.get("/docs")
    assert page.status_code == 200
    assert "cdn." not in page.text
    script = next(part.split('"')[0] for part in page.text.split('src="')[1:] if "swagger-ui-bundle" in part)
    assert client.get(script).status_code == 200


def test_unreadable_entries_are_per_file_errors(client, library):
    (library / "ok.jpg").write_bytes(distinct_image(1))
    os.symlink(library / "gone.jpg", library / "dangling.jpg")  # its target does not exist
    os.mkfifo(library / "pipe.jpg")  # reading it would block forever
    create(client)
    job = wait_for_job(client, scan(client, library), timeout=30)
    assert job["state"] == "completed_with_errors"
    assert job["counts"]["done"] == 1 and job["counts"]["failed"] == 2
    errors = client.get(f"/api/v1/jobs/{job['job_id']}/errors").json()["errors"]
    assert {(Path(e["path"]).name, e["code"], e["stage"]) for e in errors} == {
        ("gone.jpg", "FILE_UNREADABLE", "read"), ("pipe.jpg", "FILE_UNREADABLE", "read")}
    assert all(e["retriable"] for e in errors)


def test_searching_a_collection_of_another_model_is_refused(client, ingest_server):
    from sightline.ingest.vectors import CollectionParams

    store = ingest_server.server.config.app.state.services.vectors
    store.create_collection("other", CollectionParams(
        vector_size=64, metadata={"backend": "clip", "embedding_model": "some-other-clip", "dimension": 64}))
    response = client.post("/api/v1/search", json={"collection": "other", "text": "a cat"})
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "MODEL_MISMATCH"
    image = client.post("/api/v1/search/image", data={"collection": "other"},
                        files={"image": ("q.jpg", distinct_image(1), "image/jpeg")})
    assert image.status_code == 409 and image.json()["error"]["code"] == "MODEL_MISMATCH"


def test_exact_duplicates_are_grouped(client, library):
    (library / "a").mkdir()
    for name in ("a/1.jpg", "a/2.jpg", "3.jpg"):
        (library / name).write_bytes(distinct_image(5))
    (library / "unique.jpg").write_bytes(distinct_image(6))
    create(client)
    wait_for_job(client, scan(client, library))
    groups = client.get("/api/v1/collections/photos/duplicates").json()["groups"]
    assert len(groups) == 1 and groups[0]["count"] == 3
    assert sorted(Path(p["path"]).name for p in groups[0]["points"]) == ["1.jpg", "2.jpg", "3.jpg"]
