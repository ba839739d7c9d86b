"""`sightline jobs list | show | errors | logs | cancel | retry` against the in-process server."""

from __future__ import annotations

import json
import re

import httpx
import pytest

from tests.cli.conftest import invoke, job_id_in


@pytest.fixture(scope="module")
def mixed_job(service) -> str:
    """A finished job over the mixed folder: 3 ingested, broken.jpg failed."""
    return job_id_in(invoke(service.transport, "ingest", str(service.mixed), "-c", "jobs-mixed", "--create").output)


def test_list_shows_the_job_with_its_state_and_progress(mixed_job, sightline):
    listed = sightline("jobs", "list", "-c", "jobs-mixed")
    row = rf"{mixed_job}\s*│\s*jobs-mixed\s*│\s*completed_with_errors\s*│\s*4/4\s*│\s*1\s"
    assert re.search(row, listed.output), listed.output


def test_list_json_is_the_api_answer(service, mixed_job, sightline):
    listed = sightline("jobs", "list", "-c", "jobs-mixed", "--json")
    assert json.loads(listed.stdout) == service.http.get("/api/v1/jobs?collection=jobs-mixed&limit=20").json()


def test_show_prints_the_counts(mixed_job, sightline):
    shown = sightline("jobs", "show", mixed_job).output
    counts = dict(re.findall(r"(total|done|cached|skipped|failed|pending)\s*│\s*(\d+)", shown))
    assert counts == {"total": "4", "done": "3", "cached": "0", "skipped": "0", "failed": "1", "pending": "0"}


def test_show_prints_no_eta_for_a_finished_job(mixed_job, sightline):
    assert re.search(r"ETA\s*│\s*—\s", sightline("jobs", "show", mixed_job).output)


def test_show_follow_of_a_finished_job_prints_its_outcome(mixed_job, sightline):
    followed = sightline("jobs", "show", mixed_job, "--follow")
    assert re.search(r"completed_with_errors in \d+ s: 4 files — 3 ingested", followed.output), followed.output


def test_errors_lists_the_failed_file(service, mixed_job, sightline):
    errors = sightline("jobs", "errors", mixed_job)
    assert str(service.mixed / "broken.jpg") in errors.output


def test_errors_json_is_the_api_answer(service, mixed_job, sightline):
    errors = sightline("jobs", "errors", mixed_job, "--json")
    assert json.loads(errors.stdout) == service.http.get(f"/api/v1/jobs/{mixed_job}/errors").json()


def test_logs_prints_every_line(service, mixed_job, sightline):
    lines = service.http.get(f"/api/v1/jobs/{mixed_job}/logs").json()["logs"]
    printed = sightline("jobs", "logs", mixed_job, "--follow").output.splitlines()
    assert [line[28:] for line in printed] == [line["message"] for line in lines]


def test_cancel_of_a_finished_job_is_a_conflict(mixed_job, sightline):
    finished = sightline("jobs", "cancel", mixed_job)
    assert finished.exit_code == 2
    assert finished.stderr == "CONFLICT: The job is already completed_with_errors.\n"


def test_retry_follow_queues_the_failed_file_again_and_fails_again(service, mixed_job, sightline):
    retried = sightline("jobs", "retry", mixed_job, "--follow")
    assert retried.output.startswith(f"Job {mixed_job}: 1 failed files queued again.\n")
    assert retried.exit_code == 1  # still corrupt
    assert str(service.mixed / "broken.jpg") in retried.output


def test_cancel_prints_the_state_the_server_answers():
    def server(request: httpx.Request) -> httpx.Response:
        assert (request.method, request.url.path) == ("POST", "/api/v1/jobs/abc/cancel")
        return httpx.Response(200, json={"job_id": "abc", "state": "cancelled"})

    assert invoke(httpx.MockTransport(server), "jobs", "cancel", "abc").output == "Job abc: cancelled.\n"
