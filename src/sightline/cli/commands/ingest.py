"""`sightline ingest`: ingest a folder (or upload one file) through a running Sightline server (`sightline serve
ingest` is that server) and follow the job."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from sightline.cli.client import ApiError, IngestClient
from sightline.cli.command import EXIT_JOB_NOT_CLEAN, CollectionOption, api_command
from sightline.cli import follow as following
from sightline.cli.render import Output

__all__ = ["ingest", "show_job_json"]

FolderArgument = Annotated[Path, typer.Argument(help="Folder or image file on the server's machine, inside its "
                                                     "ingest roots; a file elsewhere is uploaded (the service keeps "
                                                     "a copy).")]


@api_command(json_flag=True)
def ingest(
    api: IngestClient,
    out: Output,
    path: FolderArgument,
    collection: CollectionOption,
    create: Annotated[bool, typer.Option("--create", help="Create the collection if it does not exist.")] = False,
    caption: Annotated[bool, typer.Option("--caption/--no-caption", help="Caption the images.")] = True,
    follow: Annotated[bool, typer.Option("--follow/--no-follow", help="Follow the job to its end.")] = True,
    recursive: Annotated[bool, typer.Option("--recursive/--no-recursive", help="Include sub-folders.")] = True,
) -> None:
    """Ingest a folder, or one image file, through a running Sightline server and follow the job with a progress
    bar. Photos are indexed where they are; a file outside the server's ingest roots is uploaded instead (the
    service ingests a copy it keeps)."""
    given = path.expanduser().absolute()
    if create:
        ensure_collection(api, collection, out)
    try:
        job_id, doing = start(api, given, collection, recursive=recursive, caption=caption)
    except ApiError as exc:
        if exc.code == "NOT_FOUND" and exc.where == "collection":
            raise ApiError(f"{exc} (add --create to create it)") from None
        raise
    if out.as_json:
        show_job_json(api, job_id, out, follow=follow)
        return
    out.print(f"Job [bold]{job_id}[/bold]: {doing} into [bold]{escape(collection)}[/bold]")
    if follow:
        following.finish_following(api, job_id, out)
    else:
        out.print(f"Follow it with `sightline jobs show {job_id} --follow`.")


def start(api: IngestClient, given: Path, collection: str, *, recursive: bool, caption: bool) -> tuple[str, str]:
    """The job ingesting ``given``, and what it does in words: a scan where it lies; for a file the service cannot
    reach there (outside its roots, or on another machine), an upload."""
    try:
        job_id = api.scan(collection, str(given), recursive=recursive, caption=caption)["job_id"]
        return job_id, f"ingesting {escape(str(given))}"
    except ApiError as exc:
        if not (given.is_file() and exc.where == "directory_path"):
            raise
    job_id = api.upload(collection, [given], caption=caption)["job_id"]
    return job_id, (f"uploading {escape(given.name)}: it lies outside the service's ingest roots, so the service "
                    "keeps a copy")


def show_job_json(api: IngestClient, job_id: str, out: Output, *, follow: bool) -> None:
    """`--json`: the job as the API has it, once it has ended when `follow` (exit 1 unless `completed`)."""
    job = api.job(job_id)
    while follow and not job["is_terminal"]:
        time.sleep(following.POLL_SECONDS)
        job = api.job(job_id)
    out.show(job, str)
    if follow and job["state"] != "completed":
        raise typer.Exit(EXIT_JOB_NOT_CLEAN)


def ensure_collection(api: IngestClient, name: str, out: Output) -> None:
    """Create the collection unless it exists (asked first: creating needs the ML service up)."""
    try:
        api.collection(name)
        return
    except ApiError as exc:
        if exc.code != "NOT_FOUND":
            raise
    try:
        params = api.create_collection(name)["params"]
    except ApiError as exc:
        if exc.code == "CONFLICT":
            return  # made meanwhile by someone else
        raise
    if not out.as_json:
        out.print(f"Created collection [bold]{escape(name)}[/bold] ({params['vector_size']}-d, "
                  f"{params['distance']}).")
