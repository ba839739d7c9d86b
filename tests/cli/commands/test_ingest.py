"""`sightline ingest` (the client command) against the in-process server."""

from __future__ import annotations

import re

import httpx
import pytest

from tests.cli.conftest import invoke, job_id_in
from tests.helpers import wait_for_job


def test_create_makes_the_collection_and_follows_to_completion(service, sightline):
    result = sightline("ingest", str(service.clean), "-c", "clean", "--create", "--no-caption")
    assert result.exit_code == 0, result.output
    assert "Created collection clean (" in result.output
    assert re.search(r"completed in \d+ s: 4 files — 4 embedded, 0 reused \(duplicate content\), 0 unchanged, "
                     r"0 failed", result.output), result.output
    assert service.http.get("/api/v1/collections/clean").json()["points_count"] == 4


def test_an_existing_collection_needs_no_create_and_unchanged_files_are_skipped(service, sightline):
    assert sightline("ingest", str(service.clean), "-c", "again", "--create").exit_code == 0
    again = sightline("ingest", str(service.clean), "-c", "again")
    assert re.search(r"4 files — 0 embedded, 0 reused \(duplicate content\), 4 unchanged", again.output), again.output


def test_a_corrupt_file_exits_1(service, sightline):
    result = sightline("ingest", str(service.mixed), "-c", "mixed", "--create")
    assert result.exit_code == 1, result.output


@pytest.fixture()
def mixed_run(service, sightline):
    result = sightline("ingest", str(service.mixed), "-c", "mixed-table", "--create")
    [error] = service.http.get(f"/api/v1/jobs/{job_id_in(result.output)}/errors").json()["errors"]
    return result, error


def test_a_corrupt_file_is_counted(mixed_run):
    result, _ = mixed_run
    assert "completed with errors in" in result.output
    assert "completed_with_errors" not in result.output  # the progress bar says it in words too
    assert re.search(r"4 files — 3 embedded, 0 reused .*, 0 unchanged, 1 failed", result.output), result.output


def test_a_corrupt_file_is_listed_with_its_code_and_message(service, mixed_run):
    result, error = mixed_run
    row = next(line for line in result.output.splitlines() if "broken.jpg" in line)
    assert re.search(rf"{re.escape(str(service.mixed / 'broken.jpg'))}\s*│\s*{error['code']}\s*│\s*"
                     rf"{re.escape(error['message'])}", row), row


def test_no_follow_prints_how_to_follow_and_returns(service, sightline):
    result = sightline("ingest", str(service.clean), "-c", "nofollow", "--create", "--no-follow")
    job_id = job_id_in(result.output)
    assert result.output.endswith(f"Follow it with `sightline jobs show {job_id} --follow`.\n")
    assert result.exit_code == 0


def test_a_job_started_without_following_can_be_followed_to_its_end(service, sightline):
    started = sightline("ingest", str(service.clean), "-c", "followed-later", "--create", "--no-follow")
    shown = sightline("jobs", "show", job_id_in(started.output), "--follow")
    assert re.search(r"^completed in \d+ s: 4 files — 4 embedded", shown.output, re.MULTILINE), shown.output


def test_ctrl_c_while_following_only_stops_following(service):
    def interrupted_on_progress(request: httpx.Request) -> httpx.Response:
        if request.method == "GET" and request.url.path.startswith("/api/v1/jobs/"):
            raise KeyboardInterrupt
        return service.send(request)

    result = invoke(httpx.MockTransport(interrupted_on_progress), "ingest", str(service.clean), "-c",
                    "interrupted", "--create")
    job_id = job_id_in(result.output)
    assert result.exit_code == 130
    assert f"cancel it:       sightline jobs cancel {job_id}" in result.output
    assert wait_for_job(service.http, job_id)["state"] == "completed"  # it went on


def test_a_folder_outside_the_roots_is_refused(sightline):
    outside = sightline("ingest", "/etc", "-c", "clean")
    assert outside.exit_code == 2
    assert outside.stderr.startswith("FORBIDDEN: /etc is outside the ingest roots")
    assert " ".join(outside.stderr.split()).endswith(
        "; to allow it, start `sightline up --roots …` with it (or set SIGHTLINE_INGEST_ROOTS).")


def test_an_unknown_collection_suggests_create(service, sightline):
    unknown = sightline("ingest", str(service.clean), "-c", "never-made")
    assert unknown.stderr.endswith(" (add --create to create it)\n")


def test_one_file_inside_the_roots_is_ingested_where_it_lies(service, sightline):
    """`sightline ingest photos/Pets/IMG_0001.jpg` said "No folder …IMG_0001.jpg" although the file exists; then
    it uploaded a copy, which made a second point of a photo already indexed where it lies."""
    photo = service.clean / "img1.jpg"
    for _ in range(2):
        result = sightline("ingest", str(photo), "-c", "one-file", "--create")
        assert result.exit_code == 0, result.output
        assert f"ingesting {photo}" in result.output
    assert re.search(r"completed in \d+ s: 1 file — 0 embedded, 0 reused \(duplicate content\), 1 unchanged",
                     result.output), result.output
    [hit] = service.http.post("/api/v1/search", json={"collection": "one-file"}).json()["results"]
    assert hit["payload"]["path"] == str(photo), hit


def test_one_file_outside_the_roots_is_uploaded(service, sightline, tmp_path):
    photo = tmp_path / "desktop.jpg"
    photo.write_bytes((service.clean / "img2.jpg").read_bytes())
    result = sightline("ingest", str(photo), "-c", "one-upload", "--create")
    assert result.exit_code == 0, result.output
    assert "uploading desktop.jpg: it lies outside the service's ingest roots, so the service keeps a copy" \
        in " ".join(result.output.split()), result.output
    [hit] = service.http.post("/api/v1/search", json={"collection": "one-upload"}).json()["results"]
    assert hit["payload"]["filename"] == "desktop.jpg" and hit["payload"]["path"] != str(photo), hit


def test_one_file_into_an_unknown_collection_suggests_create(service, sightline):
    unknown = sightline("ingest", str(service.clean / "img1.jpg"), "-c", "never-made")
    assert unknown.exit_code == 2 and unknown.stderr.endswith(" (add --create to create it)\n"), unknown.stderr


@pytest.mark.parametrize("columns", [80, 40])
def test_the_command_to_follow_is_printed_whole_at_any_width(service, sightline, columns):
    result = sightline("ingest", str(service.clean), "-c", "nofollow", "--create", "--no-follow", columns=columns)
    job_id = job_id_in(result.output)
    assert result.output.endswith(f"\nFollow it with `sightline jobs show {job_id} --follow`.\n"), result.output
