"""The `sightline` command: run the services, and drive the ingestion API from a terminal."""

from __future__ import annotations

import os

import typer

from sightline.cli_client import collections_app, ingest, jobs_app, search
from sightline.config import IngestSettings, MLSettings
from sightline.launcher import up
from sightline.security import check_bind

app = typer.Typer(help="Sightline: self-hosted image ingestion and semantic search.", no_args_is_help=True)
serve_app = typer.Typer(help="Run one service in the foreground.", no_args_is_help=True)
app.command("up")(up)
app.command("ingest")(ingest)
app.command("search")(search)
app.add_typer(collections_app, name="collections")
app.add_typer(jobs_app, name="jobs")
app.add_typer(serve_app, name="serve")


@serve_app.command("ml")
def serve_ml(
    host: str = typer.Option(None, help="Bind address (default SIGHTLINE_HOST or 127.0.0.1)."),
    port: int = typer.Option(None, help="Port (default 8001)."),
) -> None:
    """The ML inference service."""
    # Read once when torch loads: idle OpenMP threads sleep instead of spinning on the decode pool's cores.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    import uvicorn

    from sightline.inference.app import create_app

    settings = MLSettings(**_overrides(host, port))
    check_bind(settings.host, bool(settings.api_keys), "SIGHTLINE_API_KEY")
    if not settings.api_keys:
        typer.echo("No SIGHTLINE_API_KEY: the ML service is open to this machine only (loopback).", err=True)
    uvicorn.run(create_app(settings), host=settings.host, port=settings.port, log_level=settings.log_level)


@serve_app.command("ingest")
def serve_ingest(
    host: str = typer.Option(None, help="Bind address (default 127.0.0.1)."),
    port: int = typer.Option(None, help="Port (default 8002)."),
) -> None:
    """The ingestion service, with the web admin UI at /."""
    import uvicorn

    from sightline.ingest.app import create_app

    settings = IngestSettings(**_overrides(host, port))
    check_bind(settings.host, bool(settings.admin_token), "SIGHTLINE_ADMIN_TOKEN")
    uvicorn.run(create_app(settings), host=settings.host, port=settings.port, log_level=settings.log_level)


def _overrides(host: str | None, port: int | None) -> dict:
    values: dict = {}
    if host is not None:
        values["host"] = host
    if port is not None:
        values["port"] = port
    return values


if __name__ == "__main__":
    app()
