"""Stage 0 of a scan job: list the image files of its folder into the job store as pending files."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

from sightline.errors import ErrorCode
from sightline.ingest.jobdb import Job, JobStore
from sightline.ingest.paths import ScanReport, fs_path, scan_folder
from sightline.ingest.pipeline.patience import Persist, patiently

JobLog = Callable[..., Awaitable[None]]  # (message, level="info"): a line of the job's log


async def scan_into_job(
    job: Job, jobdb: JobStore, roots: Sequence[Path], log: JobLog, persist: Persist = patiently
) -> None:
    folder = Path(fs_path(job.source))  # the job store holds the text form of paths (see ingest.paths)
    recursive = bool(job.options.get("recursive", True))
    await log(f"scanning {job.source}{' recursively' if recursive else ''}")
    report = ScanReport()
    entries = await asyncio.to_thread(lambda: list(scan_folder(folder, roots, recursive=recursive, report=report)))
    added = await persist(jobdb.add_files, job.job_id, entries)
    await log(
        f"found {len(entries)} image files ({added} new to this job); ignored {report.ignored} non-image, "
        f"{report.hidden} hidden"
    )
    for path in report.outside:
        await log(f"skipped {path}: its link leads outside the ingest roots", "warning")
    if report.unreadable:
        errors = [(path, "scan", ErrorCode.FILE_UNREADABLE, f"cannot list folder: {why}")
                  for path, why in report.unreadable]
        await persist(jobdb.record_errors, job.job_id, errors)
