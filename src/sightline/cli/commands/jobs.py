"""`sightline jobs list | show | errors | logs | cancel | retry`."""

from __future__ import annotations

import json
import time
from typing import Annotated

import typer

from sightline.cli import follow as following
from sightline.cli.client import IngestClient
from sightline.cli.command import EXIT_INTERRUPTED, api_command
from sightline.cli.commands.ingest import show_job_json
from sightline.cli.render import Output, errors_table, job_table, jobs_table, log_line, retry_line

__all__ = ["jobs_app"]

jobs_app = typer.Typer(help="Ingestion jobs: list, inspect, follow, cancel, retry.", no_args_is_help=True)
JobArgument = Annotated[str, typer.Argument(help="Job id.")]
LOG_PAGE = 5000
CANCEL_WAIT_SECONDS = 30.0  # a running job stops after its batches in flight: wait that long for its end state


@jobs_app.command("list")
@api_command(json_flag=True)
def list_jobs(
    api: IngestClient,
    out: Output,
    collection: Annotated[str | None, typer.Option("--collection", "-c", help="Only this collection.")] = None,
    state: Annotated[list[str] | None, typer.Option("--state", help="Only this state (repeatable).")] = None,
    limit: Annotated[int, typer.Option(min=1, max=500)] = 20,
) -> None:
    """Recent jobs, newest first."""
    out.show(api.jobs(collection=collection, states=state, limit=limit), jobs_table)


@jobs_app.command("show")
@api_command(json_flag=True)
def show_job(
    api: IngestClient,
    out: Output,
    job_id: JobArgument,
    follow: Annotated[bool, typer.Option("--follow", "-f", help="Follow it to its end with a progress bar.")] = False,
) -> None:
    """State, counts, speed and ETA of a job."""
    if follow:
        following.finish_following(api, job_id, out)
    else:
        out.show(api.job(job_id), job_table)


@jobs_app.command("errors")
@api_command(json_flag=True)
def job_errors(api: IngestClient, out: Output, job_id: JobArgument) -> None:
    """Per-file errors of a job: path, code, message."""
    out.show(api.job_errors(job_id), errors_table)


@jobs_app.command("logs")
@api_command(json_flag=True)
def job_logs(
    api: IngestClient,
    out: Output,
    job_id: JobArgument,
    follow: Annotated[bool, typer.Option("--follow", "-f", help="Keep printing until the job ends.")] = False,
) -> None:
    """The job's log lines."""
    last = 0
    while True:
        lines = api.job_logs(job_id, after_id=last, limit=LOG_PAGE)["logs"]
        for line in lines:
            last = line["id"]
            if out.as_json:
                typer.echo(json.dumps(line, ensure_ascii=False))  # one JSON object a line
            else:
                out.print(log_line(line))
        if not follow or (not lines and api.job(job_id)["is_terminal"]):
            return
        try:
            time.sleep(following.POLL_SECONDS)
        except KeyboardInterrupt:
            raise typer.Exit(EXIT_INTERRUPTED) from None


@jobs_app.command("cancel")
@api_command(json_flag=True)
def cancel_job(api: IngestClient, out: Output, job_id: JobArgument) -> None:
    """Stop a job after the batches in flight (their results are kept); print the state it ends in."""
    job = api.cancel(job_id)
    deadline = time.monotonic() + CANCEL_WAIT_SECONDS
    while not job.get("is_terminal", True) and time.monotonic() < deadline:
        time.sleep(following.POLL_SECONDS)
        job = api.job(job_id)
    ending = "" if job.get("is_terminal", True) else " — cancel requested; it stops after the batches in flight"
    out.show(job, lambda job: f"Job {job['job_id']}: {job['state']}{ending}.")


@jobs_app.command("retry")
@api_command(json_flag=True)
def retry_job(
    api: IngestClient,
    out: Output,
    job_id: JobArgument,
    follow: Annotated[bool, typer.Option("--follow", "-f", help="Follow the retried job to its end.")] = False,
) -> None:
    """Queue a finished job again for its failed files and those it did not reach."""
    answer = api.retry(job_id)
    if out.as_json:
        if follow:
            show_job_json(api, answer["job_id"], out, follow=True)
        else:
            out.show(answer, str)
        return
    out.print(retry_line(answer))
    if follow:
        following.finish_following(api, job_id, out, time_following=True)
