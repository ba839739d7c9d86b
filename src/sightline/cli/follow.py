"""Following a job to its end: a progress bar from the server's job JSON, then the outcome and exit status."""

from __future__ import annotations

import time

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from sightline.cli.client import IngestClient, Json
from sightline.cli.command import EXIT_INTERRUPTED, EXIT_JOB_NOT_CLEAN
from sightline.cli.render import Output, errors_table, outcome_line, run_time, state_words
from sightline.humanize import duration

__all__ = ["POLL_SECONDS", "finish_following", "follow_job"]

POLL_SECONDS = 0.5
MAX_ERRORS_SHOWN = 50  # after a job; `sightline jobs errors ID` shows them all


def finish_following(api: IngestClient, job_id: str, out: Output, *, time_following: bool = False) -> None:
    """Follow to the end, print the outcome, exit 0 (completed) or 1; Ctrl-C only stops following.

    `time_following`: report the time spent following, not the job's run time (a retried job keeps its
    first `started_at`)."""
    began = time.monotonic()
    try:
        job = follow_job(api, job_id, out)
    except KeyboardInterrupt:
        out.print(f"\nStopped following job {job_id}; it goes on in the service.\n"
                  f"  follow it again: sightline jobs show {job_id} --follow\n"
                  f"  cancel it:       sightline jobs cancel {job_id}")
        raise typer.Exit(EXIT_INTERRUPTED) from None
    print_outcome(api, job, out, time.monotonic() - began if time_following else run_time(job))
    if job["state"] != "completed":
        raise typer.Exit(EXIT_JOB_NOT_CLEAN)


def follow_job(api: IngestClient, job_id: str, out: Output) -> Json:
    """Poll the job every POLL_SECONDS and draw its progress until the server says it is terminal."""
    progress = Progress(
        SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
        TextColumn("{task.fields[rate]}"), TextColumn("{task.fields[eta]}"), TextColumn("{task.fields[failed]}"),
        TimeElapsedColumn(),  # rich's clock of the time spent following
        console=out.console,
    )
    with progress:
        task = progress.add_task("queued", total=None, rate="", eta="", failed="")
        while True:
            job = api.job(job_id)
            rate, eta, failed = _progress_texts(job)
            progress.update(task, description=state_words(job["state"]), total=job["counts"]["total"] or None,
                            completed=job["processed"], rate=rate, eta=eta, failed=failed)
            if job["is_terminal"]:
                return job
            time.sleep(POLL_SECONDS)


def _progress_texts(job: Json) -> tuple[str, str, str]:
    """The rate, ETA and failed-count columns ("" when there is nothing to say)."""
    rate, eta, failed = job.get("images_per_second"), job.get("eta_seconds"), job["counts"]["failed"]
    return (
        f"{rate:.1f} files/s" if rate else "",
        f"ETA {duration(eta)}" if eta is not None and job["state"] == "running" else "",
        f"[red]{failed} failed[/red]" if failed else "",
    )


def print_outcome(api: IngestClient, job: Json, out: Output, seconds: float | None) -> None:
    out.print(outcome_line(job, seconds))
    if job.get("error"):
        error = job["error"]
        out.print(f"[red]{escape(error.get('code', ''))}: {escape(error.get('message', ''))}[/red]")
    failed = job["counts"]["failed"]
    if not failed:
        return
    answer = api.job_errors(job["job_id"], limit=MAX_ERRORS_SHOWN)
    out.print(errors_table(answer))
    if failed > len(answer["errors"]):
        out.print(f"… and more: sightline jobs errors {job['job_id']}")
    if any(error.get("retriable") for error in answer["errors"]):
        out.print(f"Some errors may pass on a retry: sightline jobs retry {job['job_id']}")
