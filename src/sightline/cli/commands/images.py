"""`sightline images show | delete`: one image's details; remove images from the index (the originals on disk are
never touched)."""

from __future__ import annotations

import shlex
import uuid
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from sightline.cli.client import ApiError, IngestClient
from sightline.cli.command import CollectionOption, api_command
from sightline.cli.render import Output, facts_table
from sightline.humanize import plural

__all__ = ["images_app"]

images_app = typer.Typer(help="Look at one image's details; remove images from the index.", no_args_is_help=True)
EXIT_SOME_MISSING = 1
IDS_SHOWN = "the id column of `sightline search`"


def check_point_ids(given: list[str], collection: str) -> None:
    """Every id a point id (a UUID, as the service checks it), before anything is asked or sent; a path or a bad
    id says what is wanted and how to find it."""
    bad = [each for each in given if not _is_uuid(each)]
    if not bad:
        return
    name = Path(bad[0]).name
    if "/" in bad[0] or Path(bad[0]).suffix:
        raise ApiError(f"{bad[0]} is a path; this takes a point id ({IDS_SHOWN}): "
                       f"`sightline search {shlex.quote(name)} -c {shlex.quote(collection)}` shows that photo's.",
                       "VALIDATION_ERROR", "point_id")
    raise ApiError(f"Not a point id: {', '.join(bad)}. Point ids look like 8cfa3d1d-f09c-50c8-bcb2-17e0234f32c1 "
                   f"({IDS_SHOWN}).", "VALIDATION_ERROR", "point_id")


def _is_uuid(text: str) -> bool:
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return True


@images_app.command("show")
@api_command(json_flag=True)
def show_image(
    api: IngestClient,
    out: Output,
    point_id: Annotated[str, typer.Argument(help="Point id, as the id column of `sightline search` shows it.")],
    collection: CollectionOption,
    technical: Annotated[bool, typer.Option("--technical", help="Also the hashes, ids and models.")] = False,
) -> None:
    """What a photographer reads about one image: when, camera, lens, exposure, place."""
    check_point_ids([point_id], collection)
    out.show(api.point(collection, point_id), lambda detail: facts_table(detail, technical=technical))


@images_app.command("delete")
@api_command(json_flag=True)
def delete_images(
    api: IngestClient,
    out: Output,
    point_ids: Annotated[list[str], typer.Argument(help="Point ids, as the id column of `sightline search` shows "
                                                   "them.")],
    collection: CollectionOption,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
) -> None:
    """Remove images from a collection's index with their thumbnails (and Sightline's copy of an uploaded
    one); the originals on disk stay. Exits with 1 when some ids were not in the collection."""
    check_point_ids(point_ids, collection)
    if not yes:
        typer.confirm(f"Remove {plural(len(point_ids), 'image')} from {collection}? The originals on disk are kept.",
                      abort=True)
    answer = api.delete_images(collection, point_ids)
    if out.as_json:
        out.show(answer, str)
    else:
        out.print(f"Removed {plural(answer['deleted'], 'image')} from [bold]{escape(collection)}[/bold].")
        if answer["missing"]:
            out.error(f"Not in {collection}: {', '.join(answer['missing'])}")
    if answer["missing"]:
        raise typer.Exit(EXIT_SOME_MISSING)
