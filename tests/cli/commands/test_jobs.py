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
    row = rf"^{mixed_job[:8]}\s+jobs-mixed\s+completed with errors\s+4/4\s+1\s"
    assert re.search(row, listed.output, re.MULTILINE), listed.output


def test_list_json_is_the_api_answer(service, mixed_job, sightline):
    listed = sightline("jobs", "list", "-c", "jobs-mixed", "--json")
    assert json.loads(listed.stdout) == service.http.get("/api/v1/jobs?collection=jobs-mixed&limit=20").json()


def test_show_prints_the_counts(mixed_job, sightline):
    shown = sightline("jobs", "show", mixed_job).output
    counts = dict(re.findall(r"(total|embedded|reused|unchanged|failed|pending)\s*│\s*(\d+)", shown))
    assert counts == {"total": "4", "embedded": "3", "reused": "0", "unchanged": "0", "failed": "1", "pending": "0"}


def test_show_prints_no_eta_for_a_finished_job(mixed_job, sightline):
    assert re.search(r"ETA\s*│\s*—\s", sightline("jobs", "show", mixed_job).output)


def test_show_follow_of_a_finished_job_prints_its_outcome(mixed_job, sightline):
    followed = sightline("jobs", "show", mixed_job, "--follow")
    assert re.search(r"completed with errors in \d+ s: 4 files — 3 embedded", followed.output), followed.output


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
    assert retried.output.startswith(f"Job {mixed_job}: queued again — 1 failed file to retry.\n")
    assert retried.exit_code == 1  # still corrupt
    assert str(service.mixed / "broken.jpg") in retried.output


def test_cancel_prints_the_state_the_server_answers():
    def server(request: httpx.Request) -> httpx.Response:
        assert (request.method, request.url.path) == ("POST", "/api/v1/jobs/abc/cancel")
        return httpx.Response(200, json={"job_id": "abc", "state": "cancelled"})

    assert invoke(httpx.MockTransport(server), "jobs", "cancel", "abc").output == "Job abc: cancelled.\n"


def test_the_short_id_the_ui_shows_names_the_job_everywhere(service, mixed_job, sightline):
    short = mixed_job[:8]
    for route in ("", "/errors", "/logs"):
        answer = service.http.get(f"/api/v1/jobs/{short}{route}")
        assert answer.status_code == 200, (route, answer.text)
        assert answer.json() == service.http.get(f"/api/v1/jobs/{mixed_job}{route}").json()
    with service.http.stream("GET", f"/api/v1/jobs/{short}/events") as events:
        assert events.status_code == 200  # a finished job: progress, then end
    assert service.http.post(f"/api/v1/jobs/{short}/cancel").json()["error"]["message"] == (
        "The job is already completed_with_errors.")
    shown = sightline("jobs", "show", short)
    assert shown.exit_code == 0 and f"job {mixed_job}" in shown.output
    assert str(service.mixed / "broken.jpg") in sightline("jobs", "errors", short).output


def test_an_unknown_short_id_is_not_found(service):
    answer = service.http.get("/api/v1/jobs/0123456789abcdef0123")
    assert (answer.status_code, answer.json()["error"]["code"]) == (404, "NOT_FOUND")


def test_cancel_of_a_running_job_prints_the_state_it_ends_in():
    """The API answers a running job "running" (its batches in flight finish first); the CLI waits for the end."""
    answers = iter(["running", "running", "cancelled"])

    def server(request: httpx.Request) -> httpx.Response:
        state = next(answers)
        return httpx.Response(200, json={"job_id": "abc", "state": state, "is_terminal": state == "cancelled"})

    assert invoke(httpx.MockTransport(server), "jobs", "cancel", "abc").output == "Job abc: cancelled.\n"


def test_retry_of_a_cancelled_job_says_it_resumes_its_unprocessed_files(service, sightline):
    jobdb = service.http.app.state.services.jobdb
    images = sorted(service.clean.iterdir())
    job_id = jobdb.create_job("jobs-resumed", "scan", str(service.clean), {"recursive": True, "caption": False}).job_id
    jobdb.add_files(job_id, [(str(path), path.stat().st_size, path.stat().st_mtime) for path in images])
    jobdb.set_state(job_id, "cancelled")
    assert sightline("collections", "create", "jobs-resumed").exit_code == 0
    retried = sightline("jobs", "retry", job_id, "--follow")
    assert retried.output.startswith(f"Job {job_id}: queued again — 4 files not processed yet.\n"), retried.output
    assert re.search(r"completed in \d+ s: 4 files — 4 embedded", retried.output), retried.output


def test_json_of_the_commands_that_act(service, sightline):
    ingest = sightline("ingest", str(service.mixed), "-c", "acting", "--create", "--json")
    started = json.loads(ingest.stdout)
    assert (ingest.exit_code, started["state"], started["counts"]["failed"]) == (1, "completed_with_errors", 1)
    logs = [json.loads(line) for line in sightline("jobs", "logs", started["job_id"], "--json").stdout.splitlines()]
    assert logs and all({"id", "level", "message"} <= set(line) for line in logs)
    retried = json.loads(sightline("jobs", "retry", started["job_id"], "--json").stdout)
    assert retried["job_id"] == started["job_id"]
    deleted = json.loads(sightline("collections", "delete", "acting", "--yes", "--json").stdout)
    assert deleted == {"deleted": "acting"}


def test_cancel_json_is_the_job_in_the_state_it_ends_in():
    answers = iter(["running", "cancelled"])

    def server(request: httpx.Request) -> httpx.Response:
        state = next(answers)
        return httpx.Response(200, json={"job_id": "abc", "state": state, "is_terminal": state == "cancelled"})

    shown = json.loads(invoke(httpx.MockTransport(server), "jobs", "cancel", "abc", "--json").stdout)
    assert shown == {"job_id": "abc", "state": "cancelled", "is_terminal": True}
