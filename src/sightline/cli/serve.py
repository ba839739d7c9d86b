"""`sightline serve ml | ingest`: run one service in the foreground (`sightline up` runs both)."""

from __future__ import annotations

import os
from typing import Annotated, Any

import typer

from sightline.config import IngestSettings, MLSettings
from sightline.errors import SightlineError
from sightline.http import HTTP_PROTOCOL
from sightline.security import MIN_ADMIN_TOKEN_CHARS, check_bind

__all__ = ["serve_app"]

serve_app = typer.Typer(help="Run one service in the foreground.", no_args_is_help=True)


@serve_app.command("ml")
def serve_ml(
    host: Annotated[str | None, typer.Option(help="Bind address (default SIGHTLINE_HOST or 127.0.0.1).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default 8001).")] = None,
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
    uvicorn.run(create_app(settings), host=settings.host, port=settings.port, log_level=settings.log_level,
                http=HTTP_PROTOCOL)


@serve_app.command("ingest")
def serve_ingest(
    host: Annotated[str | None, typer.Option(help="Bind address (default 127.0.0.1).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default 8002).")] = None,
) -> None:
    """The ingestion server, with the web admin UI at / (`sightline ingest` is a client of it)."""
    import uvicorn

    from sightline.server import create_app

    settings = IngestSettings(**_overrides(host, port))
    check_bind(settings.host, settings.admin_token, "SIGHTLINE_ADMIN_TOKEN", min_chars=MIN_ADMIN_TOKEN_CHARS)
    _hold_data_dir(settings)
    _check_job_store(settings)
    uvicorn.run(create_app(settings), host=settings.host, port=settings.port, log_level=settings.log_level,
                http=HTTP_PROTOCOL)


def _hold_data_dir(settings: IngestSettings) -> None:
    """One service per data directory, said in one line (the app holds it again, for as long as it runs)."""
    from sightline.ingest import data_lock

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    try:
        data_lock.hold(settings.data_dir)
    except SightlineError as exc:
        typer.echo(f"sightline: {exc.message}", err=True)
        raise typer.Exit(1) from exc


def _check_job_store(settings: IngestSettings) -> None:
    """A damaged job database stops the start with one clear line instead of a traceback."""
    from sightline.ingest.jobdb import JobStore

    try:
        JobStore(settings.data_dir / "sightline.db").close()
    except SightlineError as exc:
        typer.echo(f"sightline: {exc.message}", err=True)
        raise typer.Exit(1) from exc


def _overrides(host: str | None, port: int | None) -> dict[str, Any]:
    values: dict[str, Any] = {}
    if host is not None:
        values["host"] = host
    if port is not None:
        values["port"] = port
    return values
