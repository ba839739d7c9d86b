"""`sightline ingest`: ingest a folder through a running Sightline server (`sightline serve ingest` is that
server) and follow the job."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from sightline.cli.client import ApiError, IngestClient
from sightline.cli.command import CollectionOption, api_command
from sightline.cli.follow import finish_following
from sightline.cli.render import Output

__all__ = ["ingest"]

FolderArgument = Annotated[Path, typer.Argument(help="Folder on the server's machine, inside its ingest roots.")]


@api_command()
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
    """Ingest a folder through a running Sightline server and follow the job with a progress bar."""
    folder = str(path.expanduser().absolute())
    if create:
        ensure_collection(api, collection, out)
    try:
        job_id = api.scan(collection, folder, recursive=recursive, caption=caption)["job_id"]
    except ApiError as exc:
        if exc.code == "NOT_FOUND" and exc.where == "collection":
            raise ApiError(f"{exc} (add --create to create it)") from None
        raise
    out.print(f"Job [bold]{job_id}[/bold]: ingesting {escape(folder)} into [bold]{escape(collection)}[/bold]")
    if follow:
        finish_following(api, job_id, out)
    else:
        out.print(f"Follow it with `sightline jobs show {job_id} --follow`.")


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
    out.print(f"Created collection [bold]{escape(name)}[/bold] ({params['vector_size']}-d, {params['distance']}).")
