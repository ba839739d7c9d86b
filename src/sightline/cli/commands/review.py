"""`sightline duplicates | merge | random`: the review tools of a collection from the command line."""

from __future__ import annotations

import time
from enum import Enum
from typing import Annotated, Any

import typer
from rich import box
from rich.console import RenderableType
from rich.markup import escape
from rich.table import Table

from sightline.cli import follow
from sightline.cli.client import IngestClient, Json
from sightline.cli.command import api_command
from sightline.cli.layout import SlashWrapped
from sightline.cli.render import Output
from sightline.humanize import plural

__all__ = ["duplicates", "merge", "random_images"]

NameArgument = Annotated[str, typer.Argument(help="Collection name.")]
SHORT_COLUMNS = frozenset({"group", "similarity", "size", "format"})  # a number or a word each: never broken


class Kind(str, Enum):
    exact = "exact"
    near = "near"
    all = "all"


@api_command(json_flag=True)
def duplicates(
    api: IngestClient,
    out: Output,
    name: NameArgument,
    kind: Annotated[Kind, typer.Option(help="exact: same bytes; near: alike by their vectors; all: both.")] =
    Kind.all,
    threshold: Annotated[float | None, typer.Option(min=0.5, max=1.0, help="Least similarity (near).")] = None,
    limit: Annotated[int, typer.Option(min=1, max=500, help="Groups shown, largest first.")] = 50,
) -> None:
    """Groups of duplicate images, each best first (the one to keep). A near scan is waited for."""
    answer = api.duplicates(name, kind=kind.value, threshold=threshold, limit=limit)
    while answer.get("state") == "scanning":
        wait_for_task(api, out, answer["task"], "the near-duplicate scan")
        answer = api.duplicates(name, kind=kind.value, threshold=threshold, limit=limit)
    out.show(answer, groups_view)


def wait_for_task(api: IngestClient, out: Output, task: Json, what: str) -> Json:
    """Poll a review task until it ends: the completed task; a failed one is printed and exits 1."""
    while task["state"] == "running":
        time.sleep(follow.POLL_SECONDS)
        task = api.review_task(task["task_id"])
    if task["state"] == "failed":
        error = task["error"] or {}
        out.error(f"{what} failed: {error.get('code')}: {error.get('message')}")
        raise typer.Exit(1)
    return task


def groups_view(answer: Json) -> RenderableType:
    groups = answer["groups"]
    if not groups:
        return "No duplicates."
    table = Table(box=box.SIMPLE_HEAD, title=plural(answer['total_groups'], "group"), title_justify="left")
    for column in ("group", "kind", "similarity", "", "size", "format", "path"):
        table.add_column(column, no_wrap=column in SHORT_COLUMNS, overflow="fold")
    for number, group in enumerate(groups, 1):
        for index, point in enumerate(group["points"]):
            first = index == 0
            table.add_row(str(number) if first else "", _kind(group) if first else "",
                          f"{group['score']:.3f}" if first and group.get("score") is not None else "",
                          kinship(group, point, index), _size(point), point.get("format") or "-",
                          SlashWrapped(str(point.get("path"))), end_section=index == len(group["points"]) - 1)
    return table


def kinship(group: Json, point: Json, index: int) -> str:
    """What a member is to the group's best (listed first, the one to keep), as the Duplicates page says it: the
    same bytes as the best or as another file named, or how alike the pictures are."""
    if index == 0:
        return "best: keep"
    same = point.get("exact_of")
    if same and same != group["point_ids"][0]:
        other: Json = next((member for member in group["points"] if member["id"] == same), {})
        return f"same bytes as {escape(str(other.get('filename') or 'another photo here'))}"
    if same or group["kind"] == "exact":
        return "same bytes as the best"
    if point.get("hash_bits") is None:
        return "picture not compared (unreadable)"
    return f"picture matches the best ({point['hash_bits']} of 64 hash bits differ)"


def _kind(group: Json) -> str:
    """A near group whose pictures could not all be compared (an unreadable file) says so."""
    return f"{group['kind']} (unchecked)" if group.get("checked") is False else group["kind"]


def _size(point: dict[str, Any]) -> str:
    width, height = point.get("width"), point.get("height")
    return f"{width}×{height}" if width and height else "-"


@api_command(json_flag=True)
def merge(
    api: IngestClient,
    out: Output,
    name: NameArgument,
    into: Annotated[str, typer.Argument(help="The collection that receives the images.")],
) -> None:
    """Copy every image of a collection into another of the same model (vectors copied, not re-embedded; each
    file once, so merging again adds nothing); the target follows the merged collection's folders too. Waits for
    the merge and prints its outcome."""
    task = wait_for_task(api, out, api.merge(name, into)["task"], f"the merge of {name} into {into}")
    outcome = task["result"]
    if not out.as_json:
        out.print(f"Merged {plural(outcome['merged'], 'image')} of [bold]{escape(name)}[/bold] into "
                  f"[bold]{escape(into)}[/bold]: {outcome['added']} new, {outcome['merged'] - outcome['added']} "
                  f"already there (now {outcome['points_count']}).")
        for folder in outcome.get("sources", []):
            out.print(f"{escape(into)} now follows {escape(folder)} too.")
        return
    out.show(outcome, str)


@api_command(json_flag=True)
def random_images(
    api: IngestClient,
    out: Output,
    name: NameArgument,
    limit: Annotated[int, typer.Option(min=1, max=100, help="How many.")] = 1,
) -> None:
    """Images picked at random from a collection (paths)."""
    answer = api.random(name, limit=limit)
    out.show(answer, lambda a: "\n".join(escape(str(point["path"])) for point in a["points"]))
