"""`sightline up`: run the ML service and the ingestion service (+ UI) as two supervised child processes."""

from __future__ import annotations

import os
import signal
import socket
import stat
import subprocess
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, BinaryIO

import httpx
import typer
from rich.console import Console
from rich.markup import escape

from sightline.config import MLSettings, split_csv
from sightline.security import check_bind, load_or_create_key

__all__ = ["up"]

ML_HOST = "127.0.0.1"  # the ML service only ever talks to the ingestion service next to it
STOP_TIMEOUT = 10.0
LOG_TAIL_LINES = 25


@dataclass
class Child:
    name: str
    command: list[str]
    health_url: str
    log_path: Path
    process: subprocess.Popen | None = None
    loads_models: bool = False  # answers 503 on /health while loading
    ready: bool = False
    log_file: BinaryIO | None = field(default=None, repr=False)

    def start(self, env: dict[str, str]) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self.log_file = self.log_path.open("wb")
        self.process = subprocess.Popen(
            self.command, env=env, stdin=subprocess.DEVNULL, stdout=self.log_file, stderr=subprocess.STDOUT,
            start_new_session=True,  # Ctrl-C reaches only the supervisor, which stops the children in order
            preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None,
        )

    def exit_code(self) -> int | None:
        return self.process.poll() if self.process else None

    def tail(self, lines: int = LOG_TAIL_LINES) -> list[str]:
        """The last lines of its log, less the supervisor's own /health polls."""
        try:
            with self.log_path.open("r", errors="replace") as handle:
                return list(deque((line for line in handle if '"GET /health ' not in line), maxlen=lines))
        except OSError:
            return []


def _die_with_parent() -> None:
    """Linux: the child gets SIGTERM if the supervisor dies without stopping it (e.g. SIGKILL)."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except Exception:  # noqa: BLE001 - best effort only
        pass


def up(
    data_dir: Annotated[Path | None, typer.Option(help="Where all state lives (default SIGHTLINE_DATA_DIR "
                                                       "or ~/.local/share/sightline).", show_default=False)] = None,
    roots: Annotated[str | None, typer.Option(help="Comma-separated folders that may be ingested (default "
                                                   "SIGHTLINE_INGEST_ROOTS, else ~/Pictures).",
                                              show_default=False)] = None,
    models: Annotated[str, typer.Option(envvar="SIGHTLINE_MODELS", help="lite | clip | tiny.")] = "lite",
    ml_port: Annotated[int, typer.Option(help="Port of the ML service (on 127.0.0.1).")] = 8001,
    port: Annotated[int, typer.Option(help="Port of the ingestion service and web UI.")] = 8002,
    host: Annotated[str, typer.Option(help="Address of the ingestion service and web UI; other than loopback "
                                           "needs SIGHTLINE_ADMIN_TOKEN.")] = "127.0.0.1",
    startup_timeout: Annotated[float, typer.Option(help="Seconds to wait for both services.")] = 900,
) -> None:
    """Start the ML service and the ingestion service (+ web UI) together; Ctrl-C stops both."""
    out = Console(highlight=False, soft_wrap=True)
    if models not in ("lite", "clip", "tiny"):
        raise typer.BadParameter("must be lite, clip or tiny", param_hint="--models")
    try:
        check_bind(host, bool(os.environ.get("SIGHTLINE_ADMIN_TOKEN")), "SIGHTLINE_ADMIN_TOKEN")
    except SystemExit as exc:
        _fail(out, str(exc))
    for bind_host, bind_port in ((ML_HOST, ml_port), (host, port)):
        if not _port_free(bind_host, bind_port):
            _fail(out, f"port {bind_port} on {bind_host} is in use (is Sightline already running?); "
                       f"pick another with --{'ml-port' if bind_port == ml_port else 'port'}")
    data_dir = (data_dir or MLSettings().data_dir).expanduser().absolute()
    data_dir.mkdir(parents=True, exist_ok=True)

    env = dict(os.environ)
    env.update({
        "SIGHTLINE_DATA_DIR": str(data_dir),
        "SIGHTLINE_MODELS": models,
        "SIGHTLINE_API_KEY": _api_key(data_dir, out),
        "SIGHTLINE_ML_URL": f"http://{ML_HOST}:{ml_port}",
        "SIGHTLINE_INGEST_ROOTS": ",".join(_ingest_roots(roots, out)),
    })
    serve = [sys.executable, "-m", "sightline.cli", "serve"]
    children = [
        Child("ML service", [*serve, "ml", "--host", ML_HOST, "--port", str(ml_port)],
              f"http://{ML_HOST}:{ml_port}/health", data_dir / "logs" / "ml.log", loads_models=True),
        Child("ingestion service", [*serve, "ingest", "--host", host, "--port", str(port)],
              f"{_url(_reachable(host), port)}/health", data_dir / "logs" / "ingest.log"),
    ]
    stop = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGINT, signal.SIGTERM)}
    code = 0
    try:
        for child in children:
            child.start(env)
        code = _supervise(children, stop, out, models, startup_timeout)
        if code == 0 and not stop.is_set():
            _print_ready(out, host, port, ml_port, models, data_dir, children)
            code = _watch(children, stop, out)
    finally:
        out.print("Stopping…")
        _stop_all(children)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    out.print("Stopped." if code == 0 else "[red]Stopped after a failure.[/red]")
    raise typer.Exit(code)


def _supervise(children: list[Child], stop: threading.Event, out: Console, models: str, timeout: float) -> int:
    """Wait until both answer /health (the ML one says 503 while its models load); 0 when ready."""
    deadline = time.monotonic() + timeout
    with out.status(f"Starting; loading models ({models})…") as spinner, httpx.Client(timeout=2) as http:
        while not all(child.ready for child in children):
            if stop.wait(0.3):
                return 0
            if (failed := _dead(children, out)) is not None:
                return failed
            for child in children:
                if child.ready:
                    continue
                try:
                    answer = http.get(child.health_url)
                except httpx.HTTPError:
                    continue
                if answer.status_code == 200:
                    child.ready = True
                    out.print(f"[green]✓[/green] {child.name} is ready")
                elif child.loads_models and answer.status_code == 503:
                    body = _json(answer)
                    if body.get("status") == "error":
                        out.print(f"[red]The ML service could not load its models: "
                                  f"{escape(str(body.get('error')))}[/red]")
                        _print_tail(out, child)
                        return 1
                    spinner.update(f"Loading models ({models})…")
            if time.monotonic() > deadline:
                out.print(f"[red]The services did not become ready within {timeout:.0f} s.[/red]")
                for child in children:
                    if not child.ready:
                        _print_tail(out, child)
                return 1
    return 0


def _watch(children: list[Child], stop: threading.Event, out: Console) -> int:
    while not stop.wait(0.5):
        if (failed := _dead(children, out)) is not None:
            return failed
    return 0


def _dead(children: list[Child], out: Console) -> int | None:
    for child in children:
        code = child.exit_code()
        if code is not None:
            out.print(f"[red]The {child.name} exited (status {code}).[/red]")
            _print_tail(out, child)
            return 1
    return None


def _stop_all(children: list[Child], timeout: float = STOP_TIMEOUT) -> None:
    """SIGTERM both (uvicorn shuts down gracefully), wait, then SIGKILL what is left."""
    running = [child.process for child in children if child.process and child.process.poll() is None]
    for process in running:
        try:
            process.terminate()
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + timeout
    for process in running:
        try:
            process.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    for child in children:
        if child.log_file:
            child.log_file.close()


def _print_tail(out: Console, child: Child) -> None:
    lines = child.tail()
    out.print(f"Last lines of {child.log_path}:" if lines else f"({child.log_path} is empty)")
    for line in lines:
        out.print(f"  {escape(line.rstrip())}")


def _print_ready(out: Console, host: str, port: int, ml_port: int, models: str, data_dir: Path,
                 children: list[Child]) -> None:
    ui = _url(_shown(host), port)
    out.print(f"\n[bold green]Sightline is running[/bold green] (Ctrl-C to stop)\n"
              f"  Web UI       {ui}/\n"
              f"  API docs     {ui}/docs\n"
              f"  ML service   {_url(ML_HOST, ml_port)}  (models: {models}; /api/v1 needs the API key)\n"
              f"  data         {data_dir}\n"
              f"  logs         {children[0].log_path}, {children[1].log_path}\n"
              f"  processes    ml {_pid(children[0])}, ingest {_pid(children[1])}")
    if os.environ.get("SIGHTLINE_ADMIN_TOKEN"):
        out.print("  admin token  required by the API and UI (SIGHTLINE_ADMIN_TOKEN)")


def _pid(child: Child) -> str:
    return str(child.process.pid) if child.process else "-"


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


def _json(response: httpx.Response) -> dict:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _fail(out: Console, message: str) -> None:
    out.print(f"[red]{escape(message)}[/red]")
    raise typer.Exit(2)

