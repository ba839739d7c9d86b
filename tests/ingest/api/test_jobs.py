"""Ingestion jobs: scan and upload, counts, per-file errors and logs, confinement, events, cancel and retry."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from sightline.ingest.pipeline import point_id_for
from sightline.ingest.vectors import CollectionParams
from tests.helpers import mixed_library
from tests.ingest.api.helpers import all_points, create, finished, ingested, running, scan, settings_for
from tests.samples import distinct_image


async def errors_of(api, job_id: str) -> list[dict]:
    return (await api.get(f"/api/v1/jobs/{job_id}/errors")).json()["errors"]


async def log_text(api, job_id: str) -> str:
    return "\n".join(line["message"] for line in (await api.get(f"/api/v1/jobs/{job_id}/logs")).json()["logs"])


async def test_ingest_mixed_folder_counts_errors_and_payloads(api, library, services):
    expected = mixed_library(library)
    await create(api)
    job = await ingested(api, library)
    assert job["state"] == "completed_with_errors"
    good = len(expected["done"]) + len(expected["cached"])
    assert job["counts"] == {
        "total": good + len(expected["failed"]), "done": len(expected["done"]),
        "cached": len(expected["cached"]), "skipped": 0, "failed": len(expected["failed"]), "moved": 0, "removed": 0,
        "pending": 0,
    }
    assert (job["processed"], job["percent"]) == (job["counts"]["total"], 100)
    errors = await errors_of(api, job["job_id"])
    assert {Path(e["path"]).name: e["code"] for e in errors} == expected["failed"]
    for error in errors:
        assert error["stage"] in {"read", "decode"} and error["message"] and error["at"]
        assert error["retriable"] is False

    points = all_points(services, "photos")
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
        assert len(payload["phash"]) == 16  # the ML service's perceptual hash, kept for near-duplicate review
    assert by_name["2024/copy-of-a.jpg"]["sha256"] == by_name["a.jpg"]["sha256"]
    assert by_name["2024/copy-of-a.jpg"]["phash"] == by_name["a.jpg"]["phash"]
    assert "ignored 1 non-image, 2 hidden" in await log_text(api, job["job_id"])


async def test_reingest_skips_unchanged_files_and_adds_no_points(api, library):
    for index in range(6):
        (library / f"{index}.jpg").write_bytes(distinct_image(index))
    (library / "sub").mkdir()
    (library / "sub" / "copy.jpg").write_bytes(distinct_image(0))
    await create(api)
    first = await ingested(api, library)
    assert (first["counts"]["done"], first["counts"]["cached"]) == (6, 1)
    second = await ingested(api, library)
    assert second["state"] == "completed"
    assert (second["counts"]["skipped"], second["counts"]["done"]) == (7, 0)
    assert (await api.get("/api/v1/collections/photos")).json()["points_count"] == 7

    (library / "0.jpg").write_bytes(distinct_image(20))  # changed content, same path
    third = await ingested(api, library)
    assert (third["counts"]["done"], third["counts"]["skipped"]) == (1, 6)
    assert (await api.get("/api/v1/collections/photos")).json()["points_count"] == 7
    point = await api.get(f"/api/v1/collections/photos/points/{point_id_for('photos', str(library / '0.jpg'))}")
    assert point.json()["payload"]["sha256"] == hashlib.sha256(distinct_image(20)).hexdigest()


async def test_duplicate_content_reuses_results_across_jobs(api, library):
    (library / "one").mkdir()
    (library / "two").mkdir()
    (library / "one" / "x.jpg").write_bytes(distinct_image(4))
    await create(api)
    await ingested(api, library / "one")
    (library / "two" / "x-copy.jpg").write_bytes(distinct_image(4))
    job = await ingested(api, library / "two")
    assert (job["counts"]["cached"], job["counts"]["done"]) == (1, 0)


async def test_non_recursive_scan(api, library):
    (library / "sub").mkdir()
    (library / "top.jpg").write_bytes(distinct_image(1))
    (library / "sub" / "deep.jpg").write_bytes(distinct_image(2))
    await create(api)
    job = await ingested(api, library, recursive=False)
    assert job["counts"]["total"] == 1


async def test_a_scan_of_one_image_file_ingests_it_where_it_lies(api, library, services):
    (library / "top.jpg").write_bytes(distinct_image(1))
    (library / "other.jpg").write_bytes(distinct_image(2))
    (library / "notes.txt").write_text("not a photo")
    await create(api)
    job = await ingested(api, library / "top.jpg")
    assert (job["counts"]["total"], job["counts"]["done"]) == (1, 1)
    assert [point.payload["path"] for point in all_points(services, "photos")] == [str(library / "top.jpg")]
    assert (await ingested(api, library / "notes.txt"))["counts"]["total"] == 0


async def test_caption_off_stores_empty_captions(api, library, services):
    (library / "a.jpg").write_bytes(distinct_image(1))
    await create(api)
    await ingested(api, library, caption=False)
    assert all_points(services, "photos")[0].payload["caption"] == ""


@pytest.mark.parametrize("path_of", [
    lambda lib: "/etc",
    lambda lib: str(lib / ".." / ".."),
    lambda lib: str(lib) + "/../../etc",
    lambda lib: "~root",
])
async def test_scan_outside_the_roots_is_refused(api, library, path_of):
    await create(api)
    response = await api.post("/api/v1/ingest/scan",
                              json={"collection": "photos", "directory_path": path_of(library)})
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "FORBIDDEN"
    assert response.json()["error"]["where"] == "directory_path"


async def test_symlinks_cannot_escape_the_root(api, library, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "private.jpg").write_bytes(distinct_image(7))
    (library / "ok.jpg").write_bytes(distinct_image(1))
    os.symlink(outside, library / "link-dir")
    os.symlink(outside / "private.jpg", library / "link.jpg")
    await create(api)
    for link in ("link-dir", "link.jpg"):
        response = await api.post("/api/v1/ingest/scan", json={"collection": "photos",
                                                               "directory_path": str(library / link)})
        assert response.status_code == 403, link
    job = await ingested(api, library)
    assert (job["counts"]["total"], job["counts"]["done"]) == (1, 1)
    assert "outside the ingest roots" in await log_text(api, job["job_id"])


async def test_scan_unknown_collection_or_folder(api, library):
    unknown = await api.post("/api/v1/ingest/scan", json={"collection": "nope", "directory_path": str(library)})
    assert unknown.status_code == 404
    await create(api)
    response = await api.post("/api/v1/ingest/scan", json={"collection": "photos",
                                                           "directory_path": str(library / "missing")})
    assert response.status_code == 404


async def test_upload_sanitises_names_and_ingests(api, tmp_path):
    await create(api)
    files = [
        ("files", ("../../../evil.jpg", distinct_image(1), "image/jpeg")),
        ("files", (".hidden.png", distinct_image(2, fmt="PNG"), "image/png")),
        ("files", ("evil.jpg", distinct_image(3), "image/jpeg")),
        ("files", ("broken.jpg", b"\xff\xd8\xff\xe0 broken", "image/jpeg")),
    ]
    response = await api.post("/api/v1/ingest/upload", data={"collection": "photos"}, files=files)
    assert response.status_code == 202 and response.json()["files"] == 4
    job = await finished(api, response.json()["job_id"])
    assert (job["counts"]["done"], job["counts"]["failed"]) == (3, 1)
    uploads = tmp_path / "data" / "uploads" / job["job_id"]
    assert sorted(path.name for path in uploads.iterdir()) == ["broken.jpg", "evil-1.jpg", "evil.jpg", "hidden.png"]
    assert not (tmp_path / "evil.jpg").exists()


async def test_wrong_ml_key_fails_the_job_fast_and_retry_resumes_it(loaded_ml_app, tmp_path, library):
    (library / "a.jpg").write_bytes(distinct_image(1))
    async with running(settings_for(tmp_path, library), loaded_ml_app) as (_, api):
        await create(api)
    async with running(settings_for(tmp_path, library, api_key="wrong-key"), loaded_ml_app) as (_, api):
        job = await ingested(api, library)
        assert job["state"] == "failed"
        assert job["error"]["code"] == "ML_UNAUTHORIZED"
        assert job["counts"]["total"] == 0  # refused before scanning anything
    async with running(settings_for(tmp_path, library), loaded_ml_app) as (_, api):
        assert (await api.post(f"/api/v1/jobs/{job['job_id']}/retry")).status_code == 202
        assert (await finished(api, job["job_id"]))["counts"]["done"] == 1


async def test_collection_built_with_another_model_is_refused(api, library, services):
    services.vectors.create_collection("legacy", CollectionParams(
        vector_size=64, metadata={"backend": "lite", "embedding_model": "other", "dimension": 64}))
    (library / "a.jpg").write_bytes(distinct_image(1))
    job = await ingested(api, library, collection="legacy")
    assert job["state"] == "failed"
    assert job["error"]["code"] == "MODEL_MISMATCH"
    assert "other" in job["error"]["message"]


async def test_cancel_and_retry(api, library):
    await create(api)
    (library / "bad.jpg").write_bytes(b"nope" * 100)
    (library / "good.jpg").write_bytes(distinct_image(1))
    job = await ingested(api, library)
    assert job["counts"]["failed"] == 1
    assert (await api.post(f"/api/v1/jobs/{job['job_id']}/cancel")).status_code == 409
    (library / "bad.jpg").write_bytes(distinct_image(2))  # the user fixes the file
    response = await api.post(f"/api/v1/jobs/{job['job_id']}/retry")
    assert response.status_code == 202 and response.json()["retried"] == 1
    retried = await finished(api, job["job_id"])
    assert retried["state"] == "completed"
    assert (retried["counts"]["done"], retried["counts"]["failed"]) == (2, 0)
    assert await errors_of(api, job["job_id"]) == []
    assert (await api.post(f"/api/v1/jobs/{job['job_id']}/retry")).status_code == 409


async def test_jobs_are_listed_and_filtered(api, library):
    (library / "a.jpg").write_bytes(distinct_image(1))
    await create(api)
    await create(api, "other")
    job = await ingested(api, library)
    listed = (await api.get("/api/v1/jobs", params={"collection": "photos", "state": "completed"})).json()["jobs"]
    assert [entry["job_id"] for entry in listed] == [job["job_id"]]
    assert (await api.get("/api/v1/jobs", params={"collection": "other"})).json()["jobs"] == []
    bad = await api.get("/api/v1/jobs", params={"state": "exploded"})
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "VALIDATION_ERROR"


@pytest.mark.parametrize("path", ["", "/errors", "/logs", "/events"])
async def test_unknown_job_is_404(api, path):
    response = await api.get(f"/api/v1/jobs/nope{path}")
    assert response.status_code == 404 and response.json()["error"]["code"] == "NOT_FOUND"


async def test_events_stream_logs_progress_and_end(api, library):
    for index in range(5):
        (library / f"{index}.jpg").write_bytes(distinct_image(index))
    await create(api)
    job_id = await scan(api, library)
    stream = (await api.get(f"/api/v1/jobs/{job_id}/events")).text
    events = [line.split(":", 1)[1].strip() for line in stream.splitlines() if line.startswith("event:")]
    assert events[0] == "log"  # the "queued" line was written before the job was queued
    assert "progress" in events and events[-1] == "end" and events.count("end") == 1
    resumed = (await api.get(f"/api/v1/jobs/{job_id}/events", headers={"last-event-id": "999999"})).text
    assert "event: log" not in resumed and "event: end" in resumed


async def test_unreadable_entries_are_per_file_errors(api, library):
    (library / "ok.jpg").write_bytes(distinct_image(1))
    os.symlink(library / "gone.jpg", library / "dangling.jpg")  # its target does not exist
    os.mkfifo(library / "pipe.jpg")  # reading it would block forever
    await create(api)
    job = await ingested(api, library)
    assert job["state"] == "completed_with_errors"
    assert (job["counts"]["done"], job["counts"]["failed"]) == (1, 2)
    errors = await errors_of(api, job["job_id"])
    assert {(Path(e["path"]).name, e["code"], e["stage"]) for e in errors} == {
        ("gone.jpg", "FILE_UNREADABLE", "read"), ("pipe.jpg", "FILE_UNREADABLE", "read")}
    assert all(e["retriable"] for e in errors)


HUGE = str(2**70)  # past SQLite's 64-bit integers


@pytest.mark.parametrize("path, params", [
    ("/api/v1/jobs", {"offset": HUGE}), ("/api/v1/jobs", {"limit": HUGE}),
    ("/api/v1/jobs/{job}/errors", {"offset": HUGE}), ("/api/v1/jobs/{job}/errors", {"limit": HUGE}),
    ("/api/v1/jobs/{job}/logs", {"after_id": HUGE}), ("/api/v1/jobs/{job}/logs", {"limit": HUGE}),
    ("/api/v1/jobs/{job}/events", {"after_id": HUGE}), ("/api/v1/jobs/{job}/events", {"after_id": "-1"}),
    ("/api/v1/collections/photos/duplicates", {"limit": HUGE}),
])
async def test_huge_integers_are_refused_as_validation_errors(api, library, path, params):
    (library / "a.jpg").write_bytes(distinct_image(1))
    await create(api)
    job = await ingested(api, library)
    response = await api.get(path.format(job=job["job_id"]), params=params)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "VALIDATION_ERROR"
    assert response.json()["error"]["where"] == f"query.{next(iter(params))}"


@pytest.mark.parametrize("last_event_id", [HUGE, "²", "-5", "1e3"])
async def test_a_strange_last_event_id_is_ignored(api, library, last_event_id):
    (library / "a.jpg").write_bytes(distinct_image(1))
    await create(api)
    job = await ingested(api, library)
    stream = await api.get(f"/api/v1/jobs/{job['job_id']}/events",
                           headers={"last-event-id": last_event_id.encode("latin-1")})
    assert stream.status_code == 200 and "event: log" in stream.text and "event: end" in stream.text
