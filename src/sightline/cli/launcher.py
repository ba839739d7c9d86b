"""`sightline up`: run the ML service and the ingestion server (+ UI) as two supervised child processes."""

from __future__ import annotations

import os
import signal
import socket
import stat
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console
from rich.markup import escape

from sightline.cli.client import DEFAULT_URL
from sightline.cli.supervisor import Child, StopRequest, stop_all, wait_ready, watch
from sightline.config import MLSettings, split_csv
from sightline.errors import SightlineError
from sightline.ingest import data_lock
from sightline.security import MIN_ADMIN_TOKEN_CHARS, check_bind, load_or_create_key

__all__ = ["up"]

ML_HOST = "127.0.0.1"  # the ML service only ever talks to the ingestion server next to it
MODELS = ("lite", "clip", "tiny")


def up(
    data_dir: Annotated[Path | None, typer.Option(help="Where all state lives (default SIGHTLINE_DATA_DIR "
                                                       "or ~/.local/share/sightline).", show_default=False)] = None,
    roots: Annotated[str | None, typer.Option(help="Comma-separated folders that may be ingested (default "
                                                   "SIGHTLINE_INGEST_ROOTS, else ~/Pictures).",
                                              show_default=False)] = None,
    models: Annotated[str, typer.Option(envvar="SIGHTLINE_MODELS", help="lite | clip | tiny.")] = "lite",
    ml_port: Annotated[int, typer.Option(help="Port of the ML service (on 127.0.0.1).")] = 8001,
    port: Annotated[int, typer.Option(help="Port of the ingestion server and web UI.")] = 8002,
    host: Annotated[str, typer.Option(help="Address of the ingestion server and web UI; other than loopback "
                                           "needs SIGHTLINE_ADMIN_TOKEN.")] = "127.0.0.1",
    startup_timeout: Annotated[float, typer.Option(help="Seconds to wait for both services.")] = 900,
) -> None:
    """Start the ML service and the ingestion server (+ web UI) together; Ctrl-C stops both."""
    out = Console(highlight=False, soft_wrap=True)
    if models not in MODELS:
        raise typer.BadParameter("must be lite, clip or tiny", param_hint="--models")
    _check_binds(out, host, port, ml_port)
    data_dir = (data_dir or MLSettings().data_dir).expanduser().absolute()
    data_dir.mkdir(parents=True, exist_ok=True)
    _check_data_dir_free(out, data_dir)
    env = {
        **os.environ,
        "SIGHTLINE_DATA_DIR": str(data_dir),
        "SIGHTLINE_MODELS": models,
        "SIGHTLINE_API_KEY": _api_key(data_dir, out),
        "SIGHTLINE_ML_URL": f"http://{ML_HOST}:{ml_port}",
        "SIGHTLINE_INGEST_ROOTS": ",".join(_ingest_roots(roots, out)),
    }
    serve = [sys.executable, "-m", "sightline.cli", "serve"]
    children = [
        Child("ML service", [*serve, "ml", "--host", ML_HOST, "--port", str(ml_port)],
              f"http://{ML_HOST}:{ml_port}/health", data_dir / "logs" / "ml.log", loads_models=True),
        Child("ingestion service", [*serve, "ingest", "--host", host, "--port", str(port)],
              f"{_url(_reachable(host), port)}/health", data_dir / "logs" / "ingest.log"),
    ]
    code = _run(children, env, out, models, startup_timeout,
                ready=lambda: _print_ready(out, host, port, ml_port, models, data_dir, children))
    out.print("Stopped." if code == 0 else "[red]Stopped after a failure.[/red]")
    raise typer.Exit(code)


def _run(children: list[Child], env: dict[str, str], out: Console, models: str, timeout: float,
         ready: Callable[[], None]) -> int:
    """Start the children, wait for them, call `ready()`, watch them (restarting one that exits) until Ctrl-C /
    SIGTERM; stop them."""
    stop = StopRequest()
    previous = {sig: signal.signal(sig, stop.request) for sig in (signal.SIGINT, signal.SIGTERM)}
    code = 0
    try:
        for child in children:
            child.start(env)
        code = wait_ready(children, stop, out, models, timeout)
        if code == 0 and not stop.requested:
            ready()
            code = watch(children, stop, out, env)
    finally:
        out.print("Stopping…")
        stop_all(children)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return code


def _check_binds(out: Console, host: str, port: int, ml_port: int) -> None:
    try:
        check_bind(host, os.environ.get("SIGHTLINE_ADMIN_TOKEN"), "SIGHTLINE_ADMIN_TOKEN",
                   min_chars=MIN_ADMIN_TOKEN_CHARS)
    except SystemExit as exc:
        _fail(out, str(exc))
    for bind_host, bind_port, flag in ((ML_HOST, ml_port, "--ml-port"), (host, port, "--port")):
        if not _port_free(bind_host, bind_port):
            _fail(out, f"port {bind_port} on {bind_host} is in use (is Sightline already running?); "
                       f"pick another with {flag} (a second Sightline also needs its own --data-dir)")


def _check_data_dir_free(out: Console, data_dir: Path) -> None:
    try:
        data_lock.check_free(data_dir)
    except SightlineError as exc:
        _fail(out, exc.message)


def _print_ready(out: Console, host: str, port: int, ml_port: int, models: str, data_dir: Path,
                 children: list[Child]) -> None:
    ui = _url(_shown(host), port)
    ml, ingest = children
    out.print(f"\n[bold green]Sightline is running[/bold green] (Ctrl-C to stop)\n"
              f"  Web UI       {ui}/\n"
              f"  API docs     {ui}/docs\n"
              f"  ML service   {_url(ML_HOST, ml_port)}  (models: {models}; /api/v1 needs the API key)\n"
              f"  data         {data_dir}\n"
              f"  logs         {ml.log_path}, {ingest.log_path}\n"
              f"  processes    ml {ml.pid()}, ingest {ingest.pid()}")
    if (reached := _url(_reachable(host), port)) != DEFAULT_URL:
        out.print(f"  CLI          export SIGHTLINE_URL={reached}  (the CLI's default is {DEFAULT_URL})")
    if os.environ.get("SIGHTLINE_ADMIN_TOKEN"):
        out.print("  admin token  required by the API and UI (SIGHTLINE_ADMIN_TOKEN)")


def _api_key(data_dir: Path, out: Console) -> str:
    if os.environ.get("SIGHTLINE_API_KEY"):
        out.print("API key: from SIGHTLINE_API_KEY")
        return os.environ["SIGHTLINE_API_KEY"]
    path = data_dir / "api_key"
    key = load_or_create_key(path)
    if stat.S_IMODE(path.stat().st_mode) & 0o077:
        path.chmod(0o600)
        out.print(f"[yellow]{path} was readable by others: now 0600.[/yellow]")
    out.print(f"API key: {path} (0600), given to both services")
    return key


def _ingest_roots(roots: str | None, out: Console) -> list[str]:
    if roots is not None:
        source, raw = "--roots", split_csv(roots)
    elif os.environ.get("SIGHTLINE_INGEST_ROOTS"):
        source, raw = "SIGHTLINE_INGEST_ROOTS", split_csv(os.environ["SIGHTLINE_INGEST_ROOTS"])
    elif (Path.home() / "Pictures").is_dir():
        source, raw = "default", [str(Path.home() / "Pictures")]
    else:
        out.print("[yellow]No ingest roots (no --roots, SIGHTLINE_INGEST_ROOTS or ~/Pictures): only uploads "
                  "can be ingested.[/yellow]")
        return []
    resolved = [str(Path(root).expanduser().absolute()) for root in raw]
    for root in resolved:
        if not Path(root).is_dir():
            out.print(f"[yellow]Ingest root {escape(root)} is not a folder (yet).[/yellow]")
    out.print(f"Ingest roots ({source}): {escape(', '.join(resolved))}")
    return resolved


def _port_free(host: str, port: int) -> bool:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def _reachable(host: str) -> str:
    """Where this machine reaches a service bound to `host` (a wildcard bind answers on loopback)."""
    return {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(host, host)


def _shown(host: str) -> str:
    return socket.gethostname() if host in ("0.0.0.0", "::", "") else host


def _url(host: str, port: int) -> str:
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def _fail(out: Console, message: str) -> NoReturn:
    out.print(f"[red]{escape(message)}[/red]")
    raise typer.Exit(2)
