"""What the commands print, from the API's JSON."""

from __future__ import annotations

import io
import re

from rich.console import Console

from sightline.cli.render import job_table, jobs_table, log_line, match_cell, outcome_line, run_time
from sightline.humanize import plural

COUNTS = {"total": 5, "done": 2, "cached": 1, "skipped": 1, "failed": 1, "moved": 0, "removed": 0, "pending": 0}
JOB = {"job_id": "j1", "collection": "c", "source": "/photos", "state": "completed_with_errors", "counts": COUNTS,
       "processed": 5, "images_per_second": None, "eta_seconds": None, "created_at": "2026-01-01T10:00:00Z",
       "started_at": "2026-01-01T10:00:00+00:00", "finished_at": "2026-01-01T10:03:05+00:00", "error": None}


def plain(renderable) -> str:
    console = Console(file=io.StringIO(), width=120, record=True, color_system=None)
    console.print(renderable)
    return console.export_text()


def test_outcome_line_with_the_time_taken():
    assert plain(outcome_line(JOB, 185)) == ("completed with errors in 3 min 05 s: 5 files — 2 embedded, 1 reused "
                                             "(duplicate content), 1 unchanged, 1 failed\n")


def test_outcome_line_without_a_time():
    assert plain(outcome_line(JOB, None)).startswith("completed with errors: 5 files")


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


def test_plural_counts_one_thing_and_several():
    assert (plural(0, "file"), plural(1, "file"), plural(2, "failed file")) == ("0 files", "1 file", "2 failed files")


def test_outcome_line_of_one_file():
    one = {**JOB, "state": "failed", "counts": {**COUNTS, "total": 1, "done": 0, "cached": 0, "skipped": 0}}
    assert plain(outcome_line(one, None)).startswith("failed: 1 file — 0 embedded")


def test_job_table_names_the_counts_as_the_ui_does():
    shown = plain(job_table(JOB))
    assert [word for word in ("embedded", "reused", "unchanged") if re.search(rf"│ {word}\s+│", shown)] == [
        "embedded", "reused", "unchanged"]


def test_jobs_table_fits_80_columns_with_the_short_ids_the_ui_shows():
    def job(digit: str, state: str) -> dict:
        return {**JOB, "job_id": digit * 32, "collection": "holiday-photos-2024", "state": state,
                "counts": {**COUNTS, "total": 12345, "failed": 120}, "processed": 12000,
                "source": "/home/someone/Pictures/2024/Holidays in the mountains/raw"}

    console = Console(file=io.StringIO(), width=80, record=True, color_system=None)
    console.print(jobs_table({"jobs": [job("a", "completed_with_errors"), job("b", "running")]}))
    lines = console.export_text().splitlines()
    assert max(len(line) for line in lines) <= 80
    rows = [line for line in lines if re.search(r"\b(a{8}|b{8})\b", line)]
    assert len(rows) == 2 and "a" * 9 not in "".join(lines)  # one line per job, its id cut to 8 as in the UI
    assert "completed with errors" in rows[0] and "12000/12345" in rows[0] and "2026-01-01" in rows[0]


def test_outcome_line_names_moves_and_removals_only_when_a_sync_had_them():
    synced = {**JOB, "state": "completed", "counts": {**COUNTS, "moved": 3, "removed": 1}}
    assert plain(outcome_line(synced, None)).rstrip().endswith("1 failed, 3 moved, 1 removed")
    assert plain(outcome_line(JOB, None)).rstrip().endswith("1 failed")


def test_sizes_read_as_the_ui_writes_them():
    from sightline.humanize import size

    assert [size(None), size(512), size(1536), size(1_073_217_536), size(5 * 2**40)] == [
        "—", "512 B", "1.5 KB", "1023.5 MB", "5120.0 GB"]


def test_a_hit_its_name_found_shows_the_field_while_its_similarity_alone_is_not_strong():
    assert match_cell({"similarity": 0.31, "matched": ["filename"]}, 0.4) == "file name"
    assert match_cell({"similarity": None, "matched": ["folder"]}, 0.4) == "folder"


def test_a_hit_strong_by_its_similarity_shows_it_with_the_field_that_also_found_it():
    assert match_cell({"similarity": 0.52, "matched": ["filename", "folder"]}, 0.4) == "0.520 · name"
    assert match_cell({"similarity": 0.4, "matched": ["camera"]}, 0.4) == "0.400 · camera"


def test_a_hit_no_name_found_shows_its_similarity_or_a_dash():
    assert match_cell({"similarity": 0.12, "matched": ["caption", "format"]}, 0.4) == "0.120"
    assert match_cell({"similarity": None, "matched": []}, None) == "-"


def test_a_listing_has_no_strong_from_so_a_name_shows_the_field():
    assert match_cell({"similarity": 0.9, "matched": ["filename"]}, None) == "file name"


def test_a_weak_hit_its_folder_found_shows_its_similarity_beside_the_field():
    """`dogs at home`: a daisy in `Home` is weak; its folder only orders it among the weak."""
    assert match_cell({"similarity": 0.271, "matched": ["folder"], "weak": True}, 0.4) == "0.271 · folder"
