"""`sightline collections list | create | info | index | delete`."""

from __future__ import annotations

import time
from enum import Enum
from typing import Annotated, Any

import typer
from rich.markup import escape

from sightline.cli import follow
from sightline.cli.client import IngestClient, Json
from sightline.cli.command import api_command
from sightline.cli.render import EMBEDDED, Output, collection_table, collections_table

__all__ = ["collections_app"]

collections_app = typer.Typer(help="List, create, inspect, index and delete collections.", no_args_is_help=True)
NameArgument = Annotated[str, typer.Argument(help="Collection name.")]
INDEX_EVERY_SEGMENT = 1  # threshold_kb: asked for, it indexes every vector (the engine leaves small segments exact)


class Distance(str, Enum):
    cosine = "cosine"
    dot = "dot"
    euclid = "euclid"
    manhattan = "manhattan"


class Quantization(str, Enum):
    int8 = "int8"


@collections_app.command("list")
@api_command(json_flag=True)
def list_collections(api: IngestClient, out: Output) -> None:
    """Every collection with its point count and parameters."""
    out.show(api.collections(), collections_table)


@collections_app.command("create")
@api_command(json_flag=True)
def create_collection(
    api: IngestClient,
    out: Output,
    name: NameArgument,
    distance: Annotated[Distance, typer.Option(case_sensitive=False)] = Distance.cosine,
    on_disk: Annotated[bool, typer.Option("--on-disk", help="Vectors and payload on disk, not in RAM.")] = False,
    hnsw_m: Annotated[int | None, typer.Option("--hnsw-m", help="HNSW edges per node (0: no graph); used once "
                                               "the collection's index is built.")] = None,
    ef_construct: Annotated[int | None, typer.Option("--ef-construct", help="HNSW build width; used once the index is "
                                                    "built.")] = None,
    quantization: Annotated[Quantization | None, typer.Option(help="Scalar quantization.")] = None,
    vector_size: Annotated[int | None, typer.Option(help="Default: the ML model's dimension.")] = None,
) -> None:
    """Create a collection for the ML service's current model."""
    params: dict[str, Any] = {"distance": distance.value.capitalize(), "on_disk": on_disk}
    hnsw = {key: value for key, value in {"m": hnsw_m, "ef_construct": ef_construct}.items() if value is not None}
    if hnsw:
        params["hnsw"] = hnsw
    if quantization is not None:
        params["quantization"] = quantization.value
    if vector_size is not None:
        params["vector_size"] = vector_size
    info = api.create_collection(name, **params)
    if not out.as_json:
        out.print(f"Created collection [bold]{escape(name)}[/bold].")
    show_collection(api, out, info)


@collections_app.command("info")
@api_command(json_flag=True)
def collection_info(api: IngestClient, out: Output, name: NameArgument) -> None:
    """Point count, status and parameters of a collection, and whether its vector index is built."""
    show_collection(api, out, api.collection(name))


def show_collection(api: IngestClient, out: Output, info: Json) -> None:
    """The collection's table; while the embedded store has not built its index, with the size that builds it."""
    index_from = None
    if not out.as_json and info["backend"] == EMBEDDED and info.get("ignored_params"):
        index_from = api.index_status(info["name"])["automatic_from_points"]
    out.show(info, lambda info: collection_table(info, index_from))


@collections_app.command("index")
@api_command(json_flag=True)
def build_index(
    api: IngestClient,
    out: Output,
    name: NameArgument,
    wait: Annotated[bool, typer.Option("--wait/--no-wait", help="Wait for the build to end.")] = True,
) -> None:
    """Build a collection's vector index now (the embedded store builds it by itself after a job once the
    collection is big enough): HNSW with its hnsw settings, int8 vectors if asked for. Searches go on meanwhile."""
    status = api.build_index(name, threshold_kb=INDEX_EVERY_SEGMENT)
    while wait and status["state"] == "building":
        time.sleep(follow.POLL_SECONDS)
        status = api.index_status(name)
    out.show(status, lambda status: index_line(name, status))
    last = status.get("last_build") or {}
    if wait and last.get("state") == "failed":
        raise typer.Exit(1)


def index_line(name: str, status: Json) -> str:
    last = status.get("last_build") or {}
    if status["state"] == "building":
        return (f"Building the index of [bold]{escape(name)}[/bold]; `sightline collections info {escape(name)}` "
                "says when it is built.")
    if last.get("state") == "failed":
        return f"[red]The index of {escape(name)} was not built: {escape(str(last['error']['message']))}[/red]"
    return f"Built the index of [bold]{escape(name)}[/bold]: {last.get('indexed_vectors', 0)} vectors indexed."


@collections_app.command("delete")
@api_command(json_flag=True)
def delete_collection(
    api: IngestClient,
    out: Output,
    name: NameArgument,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
) -> None:
    """Delete a collection, its points and its jobs' records (running jobs on it are cancelled)."""
    if not yes:
        points = api.collection(name)["points_count"]
        typer.confirm(f"Delete collection {name} and its {points} points?", abort=True)
    api.delete_collection(name)
    out.show({"deleted": name}, lambda answer: f"Deleted collection [bold]{escape(answer['deleted'])}[/bold].")
