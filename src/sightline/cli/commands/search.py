"""`sightline search`: search a collection by text or by an image, or list it newest first (no query)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

from sightline.cli.client import IngestClient
from sightline.cli.command import CollectionOption, api_command
from sightline.cli.render import Output, results_view

__all__ = ["search"]

ImageOption = Annotated[Path | None, typer.Option("--image", exists=True, dir_okay=False, readable=True,
                                                  help="Search by this image instead of text.")]


@api_command(json_flag=True)
def search(
    api: IngestClient,
    out: Output,
    text: Annotated[str | None, typer.Argument(help="What to look for, in words; none lists the collection "
                                               "newest first.", show_default=False)] = None,
    *,
    collection: CollectionOption,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, max=500)] = 10,
    cursor: Annotated[str | None, typer.Option("--cursor", help="Continue where the previous page ended (it "
                                               "prints the --cursor to pass).", show_default=False)] = None,
    oldest: Annotated[bool, typer.Option("--oldest", help="List oldest first (without a query).")] = False,
    image: ImageOption = None,
    min_score: Annotated[float | None, typer.Option("--min-score", help="Score threshold.")] = None,
    folder: Annotated[str | None, typer.Option("--folder", help="Only under this folder (a relative one is taken "
                                                "from the current directory).")] = None,
    camera: Annotated[str | None, typer.Option("--camera", help='Only this camera (e.g. "Canon EOS R5").')] = None,
    fmt: Annotated[str | None, typer.Option("--format", help="Only this format: jpeg, png, heif... (any case; "
                                            "jpg, tif, heic too).")] = None,
    after: Annotated[datetime | None, typer.Option("--after", help="Taken on or after this day (YYYY-MM-DD).",
                                                   formats=["%Y-%m-%d"], show_default=False)] = None,
    before: Annotated[datetime | None, typer.Option("--before", help="Taken on or before this day (YYYY-MM-DD).",
                                                    formats=["%Y-%m-%d"], show_default=False)] = None,
) -> None:
    """Search a collection by meaning (TEXT) or by an image (--image FILE); with neither, list it newest first,
    a page at a time (--limit, --cursor)."""
    if text is not None and image is not None:
        raise typer.BadParameter("give a TEXT query or --image FILE, not both")
    filters = search_filters(folder, camera, fmt, after, before)
    if image is not None:
        answer = api.search_image(collection, image, limit=limit, min_score=min_score, filters=filters,
                                  cursor=cursor)
    else:
        answer = api.search(collection, text, limit=limit, min_score=min_score, filters=filters, cursor=cursor,
                            order="oldest" if oldest else None)
    out.show(answer, results_view)


def search_filters(folder: str | None, camera: str | None, fmt: str | None, after: datetime | None,
                   before: datetime | None) -> dict[str, str]:
    if folder and not Path(folder).expanduser().is_absolute():
        folder = str(Path(folder).expanduser().resolve())  # the server stores resolved absolute paths
    dates = {"taken_after": after and f"{after:%Y-%m-%d}T00:00:00Z",
             "taken_before": before and f"{before:%Y-%m-%d}T23:59:59Z"}
    chosen = {"folder": folder, "camera": camera, "format": fmt, **dates}
    return {key: value for key, value in chosen.items() if value}
