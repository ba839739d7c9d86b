"""The API-client commands of `sightline`: ingest, search, collections, jobs (all over the ingestion API)."""

from __future__ import annotations

import functools
import json
import mimetypes
import os
import sys
import time
from datetime import datetime
from enum import Enum
from pathlib import Path
from typing import Annotated, Any, Callable, TypeVar

import httpx
import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

__all__ = ["ApiClient", "CliFailure", "collections_app", "ingest", "jobs_app", "search"]

DEFAULT_URL = "http://127.0.0.1:8002"
TERMINAL_STATES = frozenset({"completed", "completed_with_errors", "failed", "cancelled"})
POLL_SECONDS = 0.5
MAX_ERRORS_SHOWN = 50  # after a job; `sightline jobs errors ID` shows them all
EXIT_API_ERROR = 2
EXIT_JOB_NOT_CLEAN = 1
EXIT_INTERRUPTED = 130

collections_app = typer.Typer(help="List, create, inspect and delete collections.", no_args_is_help=True)
jobs_app = typer.Typer(help="Ingestion jobs: list, inspect, follow, cancel, retry.", no_args_is_help=True)

UrlOption = Annotated[str, typer.Option("--url", envvar="SIGHTLINE_URL", help="The ingestion service.")]
TokenOption = Annotated[
    str | None,
    typer.Option("--token", envvar="SIGHTLINE_ADMIN_TOKEN", show_default=False,
                 help="Admin token (sent as 'Authorization: Bearer'), when the service requires one."),
]
CollectionOption = Annotated[str, typer.Option("--collection", "-c", help="Collection name.")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print the API's JSON answer.")]


# --- talking to the API ---------------------------------------------------------------------------------


class CliFailure(Exception):
    """Printed in red as is, then the command exits with status 2 (never a traceback)."""

    def __init__(self, message: str, code: str | None = None, where: str | None = None):
        super().__init__(message)
        self.code = code
        self.where = where


class ApiClient:
    """A thin httpx client that turns every failure into a `CliFailure` with a human message."""

    def __init__(self, url: str, token: str | None = None, timeout: float = 120.0):
        self.url = url.rstrip("/")
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.http = httpx.Client(base_url=self.url, headers=headers, timeout=timeout)

    def __enter__(self) -> ApiClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.http.close()

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            response = self.http.request(method, path, **kwargs)
        except httpx.ConnectError:
            raise CliFailure(
                f"the ingestion service is not running at {self.url} — start it with `sightline up`"
            ) from None
        except httpx.TimeoutException:
            raise CliFailure(f"the ingestion service at {self.url} did not answer in time") from None
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            raise CliFailure(f"cannot reach the ingestion service at {self.url}: {exc}") from None
        if response.is_error:
            raise api_failure(response)
        if response.status_code == 204 or not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            raise CliFailure(f"{self.url}{path} did not answer JSON: is this a Sightline service?") from None

    def get(self, path: str, **kwargs: Any) -> Any:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> Any:
        return self.request("POST", path, **kwargs)


def api_failure(response: httpx.Response) -> CliFailure:
    """`CODE: message` from the services' `{"error": {"code", "message", "where"}}` answers."""
    try:
        error = response.json()["error"]
        return CliFailure(f"{error['code']}: {error['message']}", error["code"], error.get("where"))
    except (ValueError, KeyError, TypeError):
        text = response.text.strip().splitlines()[0][:200] if response.text.strip() else response.reason_phrase
        return CliFailure(f"HTTP {response.status_code}: {text}")


F = TypeVar("F", bound=Callable[..., Any])


def friendly(func: F) -> F:
    """Turn `CliFailure` into a red `code: message` line on stderr and exit status 2."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except CliFailure as exc:
            error_console().print(f"[red]{escape(str(exc))}[/red]")
            raise typer.Exit(EXIT_API_ERROR) from None

    return wrapper  # type: ignore[return-value]


def console() -> Console:
    """Made per command, so that COLUMNS and the current stdout apply; wide when not a terminal."""
    wide = not sys.stdout.isatty() and "COLUMNS" not in os.environ
    return Console(width=160 if wide else None, highlight=False)


def error_console() -> Console:
    return Console(stderr=True, highlight=False, width=160 if not sys.stderr.isatty() else None)


def print_json(data: Any) -> None:
    typer.echo(json.dumps(data, indent=2, ensure_ascii=False))


# --- ingest ---------------------------------------------------------------------------------------------


@friendly
def ingest(
    path: Annotated[Path, typer.Argument(help="Folder on the service's machine, inside its ingest roots.")],
    collection: CollectionOption,
    create: Annotated[bool, typer.Option("--create", help="Create the collection if it does not exist.")] = False,
    caption: Annotated[bool, typer.Option("--caption/--no-caption", help="Caption the images.")] = True,
    follow: Annotated[bool, typer.Option("--follow/--no-follow", help="Follow the job to its end.")] = True,
    recursive: Annotated[bool, typer.Option("--recursive/--no-recursive", help="Include sub-folders.")] = True,
    url: UrlOption = DEFAULT_URL,
    token: TokenOption = None,
) -> None:
    """Ingest a folder into a collection and follow the job with a progress bar."""
    out = console()
    folder = str(path.expanduser().absolute())
    with ApiClient(url, token) as api:
        if create:
            ensure_collection(api, collection, out)
        try:
            started = api.post("/api/v1/ingest/scan", json={
                "collection": collection, "directory_path": folder, "recursive": recursive, "caption": caption})
        except CliFailure as exc:
            if exc.code == "NOT_FOUND" and exc.where == "collection":
                raise CliFailure(f"{exc} (add --create to create it)") from None
            raise
        job_id = started["job_id"]
        out.print(f"Job [bold]{job_id}[/bold]: ingesting {escape(folder)} into [bold]{escape(collection)}[/bold]")
        if not follow:
            out.print(f"Follow it with `sightline jobs show {job_id} --follow`.")
            return
        finish_following(api, job_id, out)


def ensure_collection(api: ApiClient, name: str, out: Console) -> None:
    """Create the collection unless it exists (asked first: creating needs the ML service up)."""
    try:
        api.get(f"/api/v1/collections/{name}")
        return
    except CliFailure as exc:
        if exc.code != "NOT_FOUND":
            raise
    try:
        info = api.post("/api/v1/collections", json={"name": name})
    except CliFailure as exc:
        if exc.code == "CONFLICT":
            return  # made meanwhile by someone else
        raise
    params = info["params"]
    out.print(f"Created collection [bold]{escape(name)}[/bold] ({params['vector_size']}-d, {params['distance']}).")


def finish_following(api: ApiClient, job_id: str, out: Console, local_time: bool = False) -> None:
    """Follow to the end, print the outcome, exit 0 (completed) or 1; Ctrl-C only stops following.

    `local_time`: report the time spent following (a retried job keeps its first `started_at`)."""
    began = time.monotonic()
    try:
        job = follow_job(api, job_id, out)
    except KeyboardInterrupt:
        out.print(f"\nStopped following job {job_id}; it goes on in the service.\n"
                  f"  follow it again: sightline jobs show {job_id} --follow\n"
                  f"  cancel it:       sightline jobs cancel {job_id}")
        raise typer.Exit(EXIT_INTERRUPTED) from None
    print_outcome(api, job, out, took=duration_text(time.monotonic() - began) if local_time else None)
    if job["state"] != "completed":
        raise typer.Exit(EXIT_JOB_NOT_CLEAN)


def follow_job(api: ApiClient, job_id: str, out: Console, poll: float = POLL_SECONDS) -> dict:
    progress = Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]}"),
        TextColumn("{task.fields[eta]}"),
        TextColumn("{task.fields[failed]}"),
        TimeElapsedColumn(),
        console=out,
    )
    with progress:
        task = progress.add_task("queued", total=None, rate="", eta="", failed="")
        while True:
            job = api.get(f"/api/v1/jobs/{job_id}")
            counts = job["counts"]
            processed = counts["done"] + counts["cached"] + counts["skipped"] + counts["failed"]
            rate, eta = job.get("images_per_second"), job.get("eta_seconds")
            progress.update(
                task,
                description=job["state"],
                total=counts["total"] or None,
                completed=processed,
                rate=f"{rate:.1f} img/s" if rate else "",
                eta=f"ETA {format_seconds(eta)}" if eta is not None and job["state"] == "running" else "",
                failed=f"[red]{counts['failed']} failed[/red]" if counts["failed"] else "",
            )
            if job["state"] in TERMINAL_STATES:
                return job
            time.sleep(poll)


def print_outcome(api: ApiClient, job: dict, out: Console, took: str | None = None) -> None:
    counts, state = job["counts"], job["state"]
    color = {"completed": "green", "completed_with_errors": "yellow"}.get(state, "red")
    took = took or duration(job.get("started_at"), job.get("finished_at"))
    out.print(
        f"[{color}]{state}[/{color}]{f' in {took}' if took else ''}: {counts['total']} files — "
        f"{counts['done']} ingested, {counts['cached']} reused (duplicate content), "
        f"{counts['skipped']} unchanged, {counts['failed']} failed"
    )
    if job.get("error"):
        out.print(f"[red]{escape(job['error'].get('code', ''))}: {escape(job['error'].get('message', ''))}[/red]")
    if counts["failed"]:
        errors = api.get(f"/api/v1/jobs/{job['job_id']}/errors", params={"limit": MAX_ERRORS_SHOWN})["errors"]
        out.print(errors_table(errors))
        if counts["failed"] > len(errors):
            out.print(f"… and more: sightline jobs errors {job['job_id']}")
        if any(error.get("retriable") for error in errors):
            out.print(f"Some errors may pass on a retry: sightline jobs retry {job['job_id']}")


def errors_table(errors: list[dict]) -> Table:
    table = Table(title="Errors", title_justify="left")
    table.add_column("path", overflow="fold")
    table.add_column("code", style="red", no_wrap=True)
    table.add_column("message", overflow="fold")
    for error in errors:
        table.add_row(escape(error["path"]), error["code"], escape(error["message"]))
    return table


def format_seconds(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    seconds = int(round(seconds))
    minutes, secs = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def duration(start: str | None, end: str | None) -> str:
    try:
        seconds = (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds()  # type: ignore
    except (TypeError, ValueError):
        return ""
    return duration_text(seconds)


def duration_text(seconds: float) -> str:
    return f"{seconds:.1f} s" if seconds < 60 else format_seconds(seconds)


# --- search ---------------------------------------------------------------------------------------------


@friendly
def search(
    text: Annotated[str | None, typer.Argument(help="What to look for, in words.", show_default=False)] = None,
    *,
    collection: CollectionOption,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, max=500)] = 10,
    image: Annotated[Path | None, typer.Option("--image", exists=True, dir_okay=False, readable=True,
                                               help="Search by this image instead of text.")] = None,
    min_score: Annotated[float | None, typer.Option("--min-score", help="Score threshold.")] = None,
    folder: Annotated[str | None, typer.Option("--folder", help="Only under this folder.")] = None,
    camera: Annotated[str | None, typer.Option("--camera", help='Only this camera ("Make Model").')] = None,
    fmt: Annotated[str | None, typer.Option("--format", help="Only this format (jpeg, png, heif...).")] = None,
    json_output: JsonOption = False,
    url: UrlOption = DEFAULT_URL,
    token: TokenOption = None,
) -> None:
    """Search a collection by meaning (TEXT) or by an image (--image FILE)."""
    if (text is None) == (image is None):
        raise typer.BadParameter("give a TEXT query or --image FILE" if text is None else
                                 "give a TEXT query or --image FILE, not both")
    filters = {k: v for k, v in {"folder": folder, "camera": camera, "format": fmt}.items() if v}
    with ApiClient(url, token) as api:
        if image is None:
            body: dict[str, Any] = {"collection": collection, "text": text, "limit": limit}
            if min_score is not None:
                body["score_threshold"] = min_score
            if filters:
                body["filters"] = filters
            answer = api.post("/api/v1/search", json=body)
        else:
            form = {"collection": collection, "limit": str(limit)}
            if min_score is not None:
                form["score_threshold"] = str(min_score)
            if filters:
                form["filters"] = json.dumps(filters)
            mime = mimetypes.guess_type(image.name)[0] or "application/octet-stream"
            with image.open("rb") as handle:
                answer = api.post("/api/v1/search/image", data=form, files={"image": (image.name, handle, mime)})
    if json_output:
        print_json(answer)
        return
    out = console()
    results = answer["results"]
    if not results:
        out.print("No results.")
        return
    table = Table()
    table.add_column("score", justify="right", no_wrap=True)
    table.add_column("path", overflow="fold")
    table.add_column("caption", overflow="fold")
    for hit in results:
        payload = hit.get("payload") or {}
        table.add_row(f"{hit['score']:.4f}", escape(str(payload.get("path", hit["id"]))),
                      escape(str(payload.get("caption") or "")))
    out.print(table)


# --- collections ----------------------------------------------------------------------------------------


class Distance(str, Enum):
    cosine = "cosine"
    dot = "dot"
    euclid = "euclid"
    manhattan = "manhattan"


class Quantization(str, Enum):
    int8 = "int8"


NameArgument = Annotated[str, typer.Argument(help="Collection name.")]


@collections_app.command("list")
@friendly
def collections_list(json_output: JsonOption = False, url: UrlOption = DEFAULT_URL,
                     token: TokenOption = None) -> None:
    """Every collection with its point count and parameters."""
    with ApiClient(url, token) as api:
        answer = api.get("/api/v1/collections")
    if json_output:
        print_json(answer)
        return
    out = console()
    if not answer["collections"]:
        out.print("No collections yet: `sightline collections create NAME`, "
                  "or `sightline ingest PATH -c NAME --create`.")
        return
    table = Table()
    for column in ("name", "points", "status", "size", "distance", "model", "backend"):
        table.add_column(column, justify="right" if column in ("points", "size") else "left")
    for info in answer["collections"]:
        params = info["params"]
        table.add_row(escape(info["name"]), str(info["points_count"]), info["status"], str(params["vector_size"]),
                      params["distance"], escape(str(params.get("metadata", {}).get("embedding_model", "-"))),
                      info["backend"])
    out.print(table)


@collections_app.command("create")
@friendly
def collections_create(
    name: NameArgument,
    distance: Annotated[Distance, typer.Option(case_sensitive=False)] = Distance.cosine,
    on_disk: Annotated[bool, typer.Option("--on-disk", help="Vectors and payload on disk, not in RAM.")] = False,
    hnsw_m: Annotated[int | None, typer.Option("--hnsw-m", help="HNSW edges per node (0: no graph).")] = None,
    ef_construct: Annotated[int | None, typer.Option("--ef-construct", help="HNSW build width.")] = None,
    quantization: Annotated[Quantization | None, typer.Option(help="Scalar quantization.")] = None,
    vector_size: Annotated[int | None, typer.Option(help="Default: the ML model's dimension.")] = None,
    json_output: JsonOption = False,
    url: UrlOption = DEFAULT_URL,
    token: TokenOption = None,
) -> None:
    """Create a collection for the ML service's current model."""
    body: dict[str, Any] = {"name": name, "distance": distance.value.capitalize(), "on_disk": on_disk}
    hnsw = {k: v for k, v in {"m": hnsw_m, "ef_construct": ef_construct}.items() if v is not None}
    if hnsw:
        body["hnsw"] = hnsw
    if quantization is not None:
        body["quantization"] = quantization.value
    if vector_size is not None:
        body["vector_size"] = vector_size
    with ApiClient(url, token) as api:
        info = api.post("/api/v1/collections", json=body)
    if json_output:
        print_json(info)
        return
    out = console()
    out.print(f"Created collection [bold]{escape(name)}[/bold].")
    out.print(info_table(info))


@collections_app.command("info")
@friendly
def collections_info(name: NameArgument, json_output: JsonOption = False, url: UrlOption = DEFAULT_URL,
                     token: TokenOption = None) -> None:
    """Point count, status and parameters of a collection."""
    with ApiClient(url, token) as api:
        info = api.get(f"/api/v1/collections/{name}")
    if json_output:
        print_json(info)
        return
    console().print(info_table(info))


METADATA_LABELS = {"backend": "model backend", "embedding_model": "model", "dimension": "model dimension",
                   "caption_kind": "captions"}


def info_table(info: dict) -> Table:
    params = info["params"]
    metadata = params.get("metadata") or {}
    table = Table(show_header=False, title=info["name"], title_justify="left")
    table.add_column(style="bold")
    table.add_column(overflow="fold")
    rows = [
        ("points", info["points_count"]), ("status", info["status"]), ("store", info["backend"]),
        ("vector size", params["vector_size"]), ("distance", params["distance"]), ("on disk", params["on_disk"]),
        ("hnsw m", params["hnsw_m"]), ("hnsw ef_construct", params["hnsw_ef_construct"]),
        ("quantization", params["quantization"] or "none"),
        *((METADATA_LABELS.get(key, key.replace("_", " ")), value) for key, value in metadata.items()),
    ]
    if info.get("ignored_params"):
        rows.append(("ignored here", ", ".join(info["ignored_params"]) + " (accepted, not applied by this backend)"))
    for key, value in rows:
        table.add_row(key, escape(str(value)))
    return table


@collections_app.command("delete")
@friendly
def collections_delete(
    name: NameArgument,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    url: UrlOption = DEFAULT_URL,
    token: TokenOption = None,
) -> None:
    """Delete a collection, its points and its jobs' records (running jobs on it are cancelled)."""
    with ApiClient(url, token) as api:
        if not yes:
            info = api.get(f"/api/v1/collections/{name}")
            typer.confirm(f"Delete collection {name} and its {info['points_count']} points?", abort=True)
        api.request("DELETE", f"/api/v1/collections/{name}")
    console().print(f"Deleted collection [bold]{escape(name)}[/bold].")


# --- jobs -----------------------------------------------------------------------------------------------

JobArgument = Annotated[str, typer.Argument(help="Job id.")]


@jobs_app.command("list")
@friendly
def jobs_list(
    collection: Annotated[str | None, typer.Option("--collection", "-c", help="Only this collection.")] = None,
    state: Annotated[list[str] | None, typer.Option("--state", help="Only this state (repeatable).")] = None,
    limit: Annotated[int, typer.Option(min=1, max=500)] = 20,
    json_output: JsonOption = False,
    url: UrlOption = DEFAULT_URL,
    token: TokenOption = None,
) -> None:
    """Recent jobs, newest first."""
    params: dict[str, Any] = {"limit": limit}
    if collection:
        params["collection"] = collection
    if state:
        params["state"] = state
    with ApiClient(url, token) as api:
        answer = api.get("/api/v1/jobs", params=params)
    if json_output:
        print_json(answer)
        return
    out = console()
    if not answer["jobs"]:
        out.print("No jobs.")
        return
    table = Table()
    for column in ("id", "collection", "state", "done/total", "failed", "source", "created"):
        table.add_column(column, overflow="fold")
    for job in answer["jobs"]:
        counts = job["counts"]
        processed = counts["done"] + counts["cached"] + counts["skipped"] + counts["failed"]
        table.add_row(job["job_id"], escape(job["collection"]), job["state"], f"{processed}/{counts['total']}",
                      str(counts["failed"]), escape(job["source"]), (job.get("created_at") or "")[:19])
    out.print(table)


@jobs_app.command("show")
@friendly
def jobs_show(
    job_id: JobArgument,
    follow: Annotated[bool, typer.Option("--follow", "-f", help="Follow it to its end with a progress bar.")] = False,
    json_output: JsonOption = False,
    url: UrlOption = DEFAULT_URL,
    token: TokenOption = None,
) -> None:
    """State, counts, speed and ETA of a job."""
    with ApiClient(url, token) as api:
        if follow:
            finish_following(api, job_id, console())
            return
        job = api.get(f"/api/v1/jobs/{job_id}")
    if json_output:
        print_json(job)
        return
    counts = job["counts"]
    table = Table(show_header=False, title=f"job {job['job_id']}", title_justify="left")
    table.add_column(style="bold")
    table.add_column(overflow="fold")
    rate, eta = job.get("images_per_second"), job.get("eta_seconds")
    rows = [
        ("state", job["state"]), ("collection", job["collection"]), ("source", job["source"]),
        *((name, counts[name]) for name in ("total", "done", "cached", "skipped", "failed", "pending")),
        ("images/s", f"{rate:.1f}" if rate else "-"), ("ETA", format_seconds(eta)),
        ("created", job.get("created_at")), ("started", job.get("started_at")), ("finished", job.get("finished_at")),
    ]
    if job.get("error"):
        rows.append(("error", f"{job['error'].get('code')}: {job['error'].get('message')}"))
    for key, value in rows:
        table.add_row(key, escape(str(value if value is not None else "-")))
    console().print(table)


@jobs_app.command("errors")
@friendly
def jobs_errors(job_id: JobArgument, json_output: JsonOption = False, url: UrlOption = DEFAULT_URL,
                token: TokenOption = None) -> None:
    """Per-file errors of a job: path, code, message."""
    with ApiClient(url, token) as api:
        answer = api.get(f"/api/v1/jobs/{job_id}/errors")
    if json_output:
        print_json(answer)
    elif not answer["errors"]:
        console().print("No errors.")
    else:
        console().print(errors_table(answer["errors"]))


@jobs_app.command("logs")
@friendly
def jobs_logs(
    job_id: JobArgument,
    follow: Annotated[bool, typer.Option("--follow", "-f", help="Keep printing until the job ends.")] = False,
    url: UrlOption = DEFAULT_URL,
    token: TokenOption = None,
) -> None:
    """The job's log lines."""
    out = console()
    last = 0
    with ApiClient(url, token) as api:
        while True:
            lines = api.get(f"/api/v1/jobs/{job_id}/logs", params={"after_id": last, "limit": 5000})["logs"]
            for line in lines:
                last = line["id"]
                style = {"error": "red", "warning": "yellow"}.get(line["level"], "")
                text = f"{line['at'][:19]} {line['level']:<7} {escape(line['message'])}"
                out.print(f"[{style}]{text}[/{style}]" if style else text)
            if not follow or (not lines and api.get(f"/api/v1/jobs/{job_id}")["state"] in TERMINAL_STATES):
                return
            try:
                time.sleep(POLL_SECONDS)
            except KeyboardInterrupt:
                raise typer.Exit(EXIT_INTERRUPTED) from None


@jobs_app.command("cancel")
@friendly
def jobs_cancel(job_id: JobArgument, url: UrlOption = DEFAULT_URL, token: TokenOption = None) -> None:
    """Stop a job after the batches in flight (their results are kept)."""
    with ApiClient(url, token) as api:
        job = api.post(f"/api/v1/jobs/{job_id}/cancel")
    console().print(f"Job {job_id}: {job['state']}.")


@jobs_app.command("retry")
@friendly
def jobs_retry(
    job_id: JobArgument,
    follow: Annotated[bool, typer.Option("--follow", "-f", help="Follow the retried job to its end.")] = False,
    url: UrlOption = DEFAULT_URL,
    token: TokenOption = None,
) -> None:
    """Queue a finished job again for its failed files."""
    with ApiClient(url, token) as api:
        answer = api.post(f"/api/v1/jobs/{job_id}/retry")
        out = console()
        out.print(f"Job {job_id}: {answer['retried']} failed files queued again.")
        if follow:
            finish_following(api, job_id, out, local_time=True)
