"""The `sightline` command.

Two kinds of commands: the ones that run the services (`up`, `serve ml`, `serve ingest`: `serve.py`,
`launcher.py`, `supervisor.py`), and the API client of a running ingestion server (`ingest`, `search`,
`collections ...`, `jobs ...`: `commands/`, over `client.py`, printing through `render.py`).
"""

from __future__ import annotations

import typer

from sightline.cli.commands.collections import collections_app
from sightline.cli.commands.images import images_app
from sightline.cli.commands.ingest import ingest
from sightline.cli.commands.jobs import jobs_app
from sightline.cli.commands.search import search
from sightline.cli.commands.sources import sources_app
from sightline.cli.commands import review
from sightline.cli.launcher import up
from sightline.cli.serve import serve_app

__all__ = ["app"]

app = typer.Typer(help="Sightline: self-hosted image ingestion and semantic search.", no_args_is_help=True)
app.command("up")(up)
app.command("ingest")(ingest)
app.command("search")(search)
app.add_typer(collections_app, name="collections")
app.add_typer(images_app, name="images")
app.add_typer(sources_app, name="sources")
app.add_typer(jobs_app, name="jobs")
app.add_typer(serve_app, name="serve")
app.command("duplicates")(review.duplicates)
app.command("merge")(review.merge)
app.command("random")(review.random_images)
