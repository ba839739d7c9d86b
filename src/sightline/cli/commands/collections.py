"""`sightline collections list | create | info | delete`."""

from __future__ import annotations

from enum import Enum
from typing import Annotated, Any

import typer
from rich.markup import escape

from sightline.cli.client import IngestClient
from sightline.cli.command import api_command
from sightline.cli.render import Output, collection_table, collections_table

__all__ = ["collections_app"]

collections_app = typer.Typer(help="List, create, inspect and delete collections.", no_args_is_help=True)
NameArgument = Annotated[str, typer.Argument(help="Collection name.")]


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
    hnsw_m: Annotated[int | None, typer.Option("--hnsw-m", help="HNSW edges per node (0: no graph).")] = None,
    ef_construct: Annotated[int | None, typer.Option("--ef-construct", help="HNSW build width.")] = None,
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
    out.show(info, collection_table)


@collections_app.command("info")
@api_command(json_flag=True)
def collection_info(api: IngestClient, out: Output, name: NameArgument) -> None:
    """Point count, status and parameters of a collection."""
    out.show(api.collection(name), collection_table)


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
