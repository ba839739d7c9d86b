"""What the commands print, from the API's JSON."""

from __future__ import annotations

import io
import re

from rich.console import Console

from sightline.cli.render import job_table, log_line, outcome_line, run_time

COUNTS = {"total": 5, "done": 2, "cached": 1, "skipped": 1, "failed": 1, "pending": 0}
JOB = {"job_id": "j1", "collection": "c", "source": "/photos", "state": "completed_with_errors", "counts": COUNTS,
       "processed": 5, "images_per_second": None, "eta_seconds": None, "created_at": "2026-01-01T10:00:00Z",
       "started_at": "2026-01-01T10:00:00+00:00", "finished_at": "2026-01-01T10:03:05+00:00", "error": None}


def plain(renderable) -> str:
    console = Console(file=io.StringIO(), width=120, record=True, color_system=None)
    console.print(renderable)
    return console.export_text()


def test_outcome_line_with_the_time_taken():
    assert plain(outcome_line(JOB, 185)) == ("completed_with_errors in 3 min 05 s: 5 files — 2 ingested, 1 reused "
                                             "(duplicate content), 1 unchanged, 1 failed\n")


def test_outcome_line_without_a_time():
    assert plain(outcome_line(JOB, None)).startswith("completed_with_errors: 5 files")


def test_run_time_is_from_start_to_finish():
    assert run_time(JOB) == 185.0


def test_run_time_of_a_job_not_finished_is_none():
    assert run_time({**JOB, "finished_at": None}) is None


def test_job_table_shows_a_missing_eta_as_a_dash():
    assert re.search(r"│ ETA\s+│ — ", plain(job_table(JOB)))


def test_job_table_shows_the_eta_as_a_duration():
    assert re.search(r"│ ETA\s+│ 2 h 04 min ", plain(job_table({**JOB, "eta_seconds": 7440})))


def test_an_error_log_line_is_red():
    line = {"id": 1, "at": "2026-01-01T10:00:00.123Z", "level": "error", "message": "[bold]x[/bold] failed"}
    assert log_line(line) == "[red]2026-01-01T10:00:00 error   \\[bold]x\\[/bold] failed[/red]"
