"""`sightline search`: search a collection by text or by an image."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from sightline.cli.client import IngestClient
from sightline.cli.command import CollectionOption, api_command
from sightline.cli.render import Output, results_table

__all__ = ["search"]

ImageOption = Annotated[Path | None, typer.Option("--image", exists=True, dir_okay=False, readable=True,
                                                  help="Search by this image instead of text.")]


@api_command(json_flag=True)
def search(
    api: IngestClient,
    out: Output,
    text: Annotated[str | None, typer.Argument(help="What to look for, in words.", show_default=False)] = None,
    *,
    collection: CollectionOption,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, max=500)] = 10,
    image: ImageOption = None,
    min_score: Annotated[float | None, typer.Option("--min-score", help="Score threshold.")] = None,
    folder: Annotated[str | None, typer.Option("--folder", help="Only under this folder (a relative one is taken "
                                                "from the current directory).")] = None,
    camera: Annotated[str | None, typer.Option("--camera", help='Only this camera ("Make Model").')] = None,
    fmt: Annotated[str | None, typer.Option("--format", help="Only this format: jpeg, png, heif... (any case; "
                                            "jpg, tif, heic too).")] = None,
) -> None:
    """Search a collection by meaning (TEXT) or by an image (--image FILE)."""
    if (text is None) == (image is None):
        raise typer.BadParameter("give a TEXT query or --image FILE" if text is None else
                                 "give a TEXT query or --image FILE, not both")
    if folder and not Path(folder).expanduser().is_absolute():
        folder = str(Path(folder).expanduser().resolve())  # the server stores resolved absolute paths
    filters = {key: value for key, value in {"folder": folder, "camera": camera, "format": fmt}.items() if value}
    if image is None:
        answer = api.search(collection, text or "", limit=limit, min_score=min_score, filters=filters)
    else:
        answer = api.search_image(collection, image, limit=limit, min_score=min_score, filters=filters)
    out.show(answer, results_table)
