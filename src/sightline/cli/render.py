"""What the API commands print: rich tables and lines built from the API's JSON, or the JSON itself."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

import typer
from rich import box
from rich.console import Console, Group, RenderableType
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from sightline.cli.layout import SlashWrapped, at_least, when, whole
from sightline.humanize import duration, plural

__all__ = [
    "Output", "collection_table", "collections_table", "errors_table", "facts_table", "job_table", "jobs_table", "log_line",
    "match_cell", "outcome_line", "plural", "results_table", "results_view", "retry_line", "run_time",
]

METADATA_LABELS = {"backend": "model backend", "embedding_model": "model", "dimension": "model dimension",
                   "caption_kind": "captions"}
EMBEDDED = "embedded"  # the built-in store's backend name: it builds a collection's vector index itself
STATE_COLORS = {"completed": "green", "completed_with_errors": "yellow"}  # every other end state: red


def state_words(state: str) -> str:
    """A job's state as people read it: `completed_with_errors` → "completed with errors"."""
    return state.replace("_", " ")
LOG_COLORS = {"error": "red", "warning": "yellow"}
FLEXIBLE_COLUMNS = {"collection": 1, "source": 2}  # share what the others leave of the width
SHORT_ID = 8  # the job id characters the UI shows (ui/templates/_macros.html job_link); the API takes them
# The words for the API's counts, as the UI and the job log say them.
COUNT_WORDS = {"total": "total", "done": "embedded", "cached": "reused", "skipped": "unchanged", "failed": "failed",
               "moved": "moved", "removed": "removed", "pending": "pending"}


class Output:
    """Where one command writes: a console made for it (so COLUMNS and the current stdout apply), stderr for
    failures, and the API's JSON instead of tables when `as_json` (the `--json` flag).

    Nothing is cropped at the terminal's width, and rich never wraps a line given as a string (nor a `whole` one
    in a group): the ids, cursors and commands to run in it, like those in a table drawn `at_least` as wide as
    its ids, run past the edge and the terminal wraps them, which copies as one line (see `layout`)."""

    def __init__(self, as_json: bool = False):
        self.as_json = as_json
        self.console = Console(width=160 if _wide(sys.stdout) else None, highlight=False)

    def print(self, *renderables: RenderableType) -> None:
        for each in renderables:  # a Text among others would be joined to them, and lose its no_wrap
            self.console.print(each, soft_wrap=isinstance(each, str), crop=False)

    def show(self, answer: Any, render: Callable[[Any], RenderableType]) -> None:
        """The answer as JSON with `--json`, else `render(answer)`."""
        if self.as_json:
            typer.echo(json.dumps(answer, indent=2, ensure_ascii=False))
        else:
            self.print(render(answer))

    def error(self, message: str) -> None:
        """One line in red, wrapped by the terminal only: the commands and ids it names are copied whole."""
        Console(stderr=True, highlight=False, width=160 if not sys.stderr.isatty() else None).print(
            f"[red]{escape(message)}[/red]", soft_wrap=True)


def _wide(stream: Any) -> bool:
    """Not a terminal and no COLUMNS: print wide rather than cut paths at 80 columns."""
    return not stream.isatty() and "COLUMNS" not in os.environ


def _key_value_table(title: str, rows: list[tuple[str, Any]]) -> Table:
    table = Table(show_header=False, title=title, title_justify="left")
    table.add_column(style="bold")
    table.add_column(overflow="fold")
    for key, value in rows:
        table.add_row(key, escape(str(value if value is not None else "-")))
    return table


# --- collections ---


def collections_table(answer: dict) -> RenderableType:
    if not answer["collections"]:
        return "No collections yet: `sightline collections create NAME`, or `sightline ingest PATH -c NAME --create`."
    table = Table()
    for column in ("name", "points", "status", "size", "distance", "model", "backend"):
        table.add_column(column, justify="right" if column in ("points", "size") else "left")
    for info in answer["collections"]:
        params = info["params"]
        model = params.get("metadata", {}).get("embedding_model", "-")
        table.add_row(escape(info["name"]), str(info["points_count"]), info["status"], str(params["vector_size"]),
                      params["distance"], escape(str(model)), info["backend"])
    return table


def collection_table(info: dict, index_from: int | None = None) -> RenderableType:
    """A collection's parameters; for the embedded store, whether its vector index is built, and when it will be
    (`index_from`: the points from which a job's end builds it, as `GET .../index` says)."""
    params = info["params"]
    metadata = params.get("metadata") or {}
    rows = [
        ("points", info["points_count"]), ("status", info["status"]), ("store", info["backend"]),
        ("vector size", params["vector_size"]), ("distance", params["distance"]), ("on disk", params["on_disk"]),
        ("hnsw m", params["hnsw_m"]), ("hnsw ef_construct", params["hnsw_ef_construct"]),
        ("quantization", params["quantization"] or "none"),
        *((METADATA_LABELS.get(key, key.replace("_", " ")), value) for key, value in metadata.items()),
    ]
    ignored = [name.replace("hnsw_", "hnsw ") for name in info.get("ignored_params") or []]
    if info["backend"] != EMBEDDED:
        if ignored:
            rows.append(("ignored here", ", ".join(ignored) + " (accepted, not applied by this store)"))
        return _key_value_table(info["name"], rows)
    listed = " and ".join([", ".join(ignored[:-1]), ignored[-1]] if len(ignored) > 1 else ignored)
    rows.append(("vector index", f"not built yet: search is exact; {listed} apply once it is" if ignored else "built"))
    table = _key_value_table(info["name"], rows)
    if not ignored:
        return table
    points = f"{index_from:,} points" if index_from else "SIGHTLINE_INDEX_MIN_POINTS points"
    return Group(table, whole(f"Its index is built after a job once it holds {points}, or now with "
                              f"`sightline collections index {escape(info['name'])}`."))


# --- jobs ---


def jobs_table(answer: dict) -> RenderableType:
    if not answer["jobs"]:
        return "No jobs."
    # One line per job within 80 columns: the ids as short as the UI shows them (any command takes them), long
    # names and folders cut with "…"; `jobs show ID` or `--json` has everything.
    table = Table(box=box.SIMPLE_HEAD, collapse_padding=True, pad_edge=False, show_edge=False, expand=True)
    for column in ("id", "collection", "state", "done/total", "failed", "source", "created"):
        table.add_column(column, no_wrap=True, overflow="ellipsis", ratio=FLEXIBLE_COLUMNS.get(column),
                         justify="right" if column in ("done/total", "failed") else "left",
                         min_width=SHORT_ID if column == "id" else None)  # the id, to copy, whole at any width
    for job in answer["jobs"]:
        counts = job["counts"]
        table.add_row(job["job_id"][:SHORT_ID], escape(job["collection"]), state_words(job["state"]),
                      f"{job['processed']}/{counts['total']}", str(counts["failed"]), escape(job["source"]),
                      when(job.get("created_at"))[:10])
    return table


def job_table(job: dict) -> Table:
    counts = job["counts"]
    rate = job.get("images_per_second")
    rows = [
        ("state", state_words(job["state"])), ("collection", job["collection"]), ("source", job["source"]),
        *((word, counts[name]) for name, word in COUNT_WORDS.items()),
        ("files/s", f"{rate:.1f}" if rate else "-"), ("ETA", duration(job.get("eta_seconds"))),
        *((moment, when(job.get(f"{moment}_at"))) for moment in ("created", "started", "finished")),
    ]
    if job.get("error"):
        rows.append(("error", f"{job['error'].get('code')}: {job['error'].get('message')}"))
    return _key_value_table(f"job {job['job_id']}", rows)


def errors_table(answer: dict) -> RenderableType:
    if not answer["errors"]:
        return "No errors."
    table = Table(title="Errors", title_justify="left")
    table.add_column("path", overflow="fold")
    table.add_column("code", style="red", no_wrap=True)
    table.add_column("message", overflow="fold")
    for error in answer["errors"]:
        table.add_row(escape(error["path"]), error["code"], escape(error["message"]))
    return table


def log_line(line: dict) -> str:
    text = f"{line['at'][:19]} {line['level']:<7} {escape(line['message'])}"
    color = LOG_COLORS.get(line["level"])
    return f"[{color}]{text}[/{color}]" if color else text


def run_time(job: dict) -> float | None:
    """Seconds from the job's start to its end, when it has both."""
    try:
        end, start = datetime.fromisoformat(job["finished_at"]), datetime.fromisoformat(job["started_at"])
    except (KeyError, TypeError, ValueError):
        return None
    return (end - start).total_seconds()


def outcome_line(job: dict, seconds: float | None) -> str:
    """`completed in 3 s: 4 files — 4 embedded, ...` (no time when `seconds` is None)."""
    counts, state = job["counts"], job["state"]
    color = STATE_COLORS.get(state, "red")
    took = f" in {duration(seconds)}" if seconds is not None else ""
    return (f"[{color}]{state_words(state)}[/{color}]{took}: {plural(counts['total'], 'file')} — {counts['done']} embedded, "
            f"{counts['cached']} reused (duplicate content), {counts['skipped']} unchanged, "
            f"{counts['failed']} failed" + "".join(f", {counts[key]} {key}" for key in ("moved", "removed")
                                                   if counts.get(key)))


def retry_line(answer: dict) -> str:
    """What a retry queued, from the API's answer: `Job ID: queued again — 1 failed file to retry.`"""
    parts = [f"{plural(answer['retried'], 'failed file')} to retry" if answer.get("retried") else "",
             f"{plural(answer['pending'], 'file')} not processed yet" if answer.get("pending") else "",
             "its folder scanned again" if answer.get("rescan") else ""]
    return f"Job {answer['job_id']}: queued again — {', '.join(part for part in parts if part) or 'nothing to do'}."


# --- search ---


def facts_table(detail: dict, *, technical: bool = False) -> Table:
    """One image's details in words (and its technical ones with `technical`)."""
    facts = detail.get("facts", []) + (detail.get("technical", []) if technical else [])
    title = (detail.get("payload") or {}).get("filename") or detail["id"]
    return _key_value_table(title, [(fact["label"], fact["value"]) for fact in facts])


def results_view(answer: dict) -> RenderableType:
    """A page of results (or of the collection): the facts read from the query, the table, the --cursor that
    continues it."""
    lines: list[RenderableType] = []
    if answer.get("understood"):
        # where each fact was looked for: "2019" also lists the undated photos of a folder "2019 Kyoto trip"
        facts = "; ".join(f"{fact['kind']} {fact['text']} (in {fact['searched_in']})" for fact in answer["understood"])
        lines.append(f"Understood: {escape(facts)}")
    if not answer["results"]:
        lines.append("This collection is empty." if answer.get("collection_empty") else "No results.")
        return Group(*lines)
    if answer.get("mode") == "browse":
        table = listing_table(answer["results"])
    else:
        table = results_table(answer["results"], answer.get("strong_from"))
    if answer.get("total") is not None:
        table.caption = "; ".join(filter(None, [f"{plural(answer['total'], 'image')} in all", table.caption]))
    lines.append(at_least(table))
    if answer.get("next_cursor"):
        # never wrapped: the cursor is copied as one piece
        lines.append(whole(f"More: the same command with --cursor {answer['next_cursor']}"))
    return Group(*lines)


# fields whose words name a photo rather than describe it: the word shown alone, the one beside a similarity
NAMED_BY = {"filename": ("file name", "name"), "folder": ("folder", "folder"), "camera": ("camera", "camera"),
            "lens": ("lens", "lens"), "date": ("date", "date")}


def match_cell(hit: dict, strong_from: float | None) -> str:
    """Why a hit is there, as the UI's cards say it. A hit its name, folder, camera, lens or date found shows that
    field alone only when the words are what made it strong: a strong hit (not `weak`) whose similarity is under
    `strong_from` (that similarity, which ranks it blended with the words, would read as a bug beside weaker hits'
    higher ones). Strong by its similarity alone, or weak, it shows that with the field beside it ("0.583 · name",
    "0.271 · folder")."""
    similarity = hit.get("similarity")
    number = "-" if similarity is None else f"{similarity:.3f}"
    named = [NAMED_BY[field] for field in hit.get("matched") or [] if field in NAMED_BY]
    if not named:
        return number
    strong_alone = similarity is not None and strong_from is not None and similarity >= strong_from
    if strong_alone or (hit.get("weak") and similarity is not None):
        return f"{number} · {escape(named[0][1])}"
    return escape(named[0][0])


def photo_cell(hit: dict) -> RenderableType:
    """A hit's path, broken after a "/" where it must, its caption (dim) under it."""
    payload = hit.get("payload") or {}
    path = SlashWrapped(str(payload.get("path", hit["id"])))
    return Group(path, Text(str(payload["caption"]), style="dim")) if payload.get("caption") else path


def results_table(results: list[dict], strong_from: float | None = None) -> Table:
    """Search hits, the strong matches first, then a line before the weaker ones (`strong_from`: the answer's);
    each with its id whole (`images show` and `images delete` take it)."""
    table = Table()
    table.add_column("match", justify="right", no_wrap=True)
    table.add_column("id", no_wrap=True)
    table.add_column("path · caption", overflow="fold")
    shown_weak = False
    for hit in results:
        if hit.get("weak") and not shown_weak:
            table.add_section()
            table.add_row("", "", "[dim]weaker matches:[/dim]")
            shown_weak = True
        table.add_row(match_cell(hit, strong_from), hit["id"], photo_cell(hit))
    return table


def listing_table(results: list[dict]) -> Table:
    """The collection newest first: the date (a file date marked `~`), the id whole, the path."""
    table = Table()
    table.add_column("date", no_wrap=True)
    table.add_column("id", no_wrap=True)
    table.add_column("path", overflow="fold")
    for hit in results:
        payload = hit.get("payload") or {}
        stamp = payload.get("sort_ts")
        day = datetime.fromtimestamp(stamp, tz=timezone.utc).strftime("%Y-%m-%d") if stamp is not None else "-"
        marked = f"~{day}" if payload.get("date_source") == "file" else f" {day}"
        table.add_row(marked, hit["id"], SlashWrapped(str(payload.get("path", hit["id"]))))
    if any((hit.get("payload") or {}).get("date_source") == "file" for hit in results):
        table.caption = "~ the file's date: the photo has none"
    return table
