"""`sightline sources list | add | edit | remove | sync | forget-removed`: folders a collection follows (watched,
re-scanned, synced), so that the index stays true to the disk."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Group, RenderableType
from rich.markup import escape
from rich.table import Table

from sightline.cli import follow as following
from sightline.cli.client import ApiError, IngestClient
from sightline.cli.command import CollectionOption, api_command
from sightline.cli.layout import SlashWrapped, at_least, when, whole
from sightline.cli.render import Output, state_words
from sightline.humanize import plural

__all__ = ["sources_app"]

sources_app = typer.Typer(help="Folders a collection follows: watched, re-scanned, kept in sync.",
                          no_args_is_help=True)
SourceArgument = Annotated[str, typer.Argument(
    help="The source's folder (relative or with ~ too) or its id, as `sightline sources list` shows them.")]
ExcludeOption = Annotated[list[str] | None, typer.Option(
    "--exclude", "-x", help="A glob left out (repeatable): `*.tmp` or `@eaDir` match a name anywhere, "
    "`**/@eaDir/**` or `/raw/*` a path below the folder.")]
RescanOption = Annotated[int | None, typer.Option("--rescan-minutes", min=0, max=7 * 24 * 60,
                                                  help="Full re-scan every this many minutes (0: never).")]
FollowOption = Annotated[bool, typer.Option("--follow", "-f", help="Follow the sync job to its end.")]
FOLDER_MIN_WIDTH = 20  # a folder's column is never narrower than its widest name, up to this
WORDS_MIN_WIDTH = 8  # nor the other columns than this: the table keeps within 80 columns
UNREADABLE_NAMED = 2  # the unreadable files a note names (then "and N more")
COUNT_WORDS = {"done": "embedded", "cached": "reused", "skipped": "unchanged", "moved": "moved",
               "removed": "removed", "failed": "failed"}


def sync_summary(source: dict[str, Any]) -> str:
    last = source.get("last_sync")
    if not last:
        return "never"
    counts = last["counts"]
    words = ", ".join(f"{counts[key]} {word}" for key, word in COUNT_WORDS.items() if counts.get(key))
    return state_words(last["state"]) + (f": {words}" if words else "")


def images_text(source: dict[str, Any]) -> str:
    """Its images, with a count of those a person removed from the index and of the files it cannot read."""
    counts = [f"{source['removed_by_user']} removed by you" if source.get("removed_by_user") else "",
              f"{source['unreadable']} unreadable" if source.get("unreadable") else ""]
    notes = ", ".join(filter(None, counts))
    return f"{source['images']} ({notes})" if notes else str(source["images"])


def source_notes(source: dict[str, Any]) -> list[str]:
    """Under the table, with the commands whole: the files a person removed from the index (kept out of its syncs
    while unchanged), as the Sources page says; the files it cannot read (left out too), with the job naming them."""
    notes, name = [], f"Source {source['source_id']}"
    if source.get("removed_by_user"):
        notes.append(f"{name}: {source['removed_by_user']} removed by you, kept out while unchanged; "
                     f"`sightline sources forget-removed {source['source_id']} -c {source['collection']}` "
                     "brings them back.")
    count, files = source.get("unreadable") or 0, source.get("unreadable_files") or []
    if count and files:
        names = ", ".join(file["name"] for file in files[:UNREADABLE_NAMED])
        more = f" and {count - UNREADABLE_NAMED} more" if count > UNREADABLE_NAMED else ""
        notes.append(f"{name}: {plural(count, 'file')} cannot be read: {names}{more}; "
                     f"see `sightline jobs errors {files[0]['job_id'][:8]}`.")
    return notes


def folder_forms(given: str) -> set[str]:
    """`given` as an absolute folder, as typed and with its symlinks resolved (as the service stores it)."""
    typed = Path(given).expanduser()
    forms = {os.path.abspath(typed)}
    try:
        forms.add(str(typed.resolve()))
    except (OSError, RuntimeError, ValueError):
        pass
    return forms


def source_id_of(api: IngestClient, collection: str, given: str) -> str:
    """The id of the collection's source that `given` names: its id, else its folder (exactly)."""
    sources = api.sources(collection)["sources"]
    if any(source["source_id"] == given for source in sources):
        return given
    folders = folder_forms(given)
    for source in sources:
        if source["path"] in folders:
            return source["source_id"]
    raise ApiError(f"No source {given!r} in {collection}; `sightline sources list -c {collection}` lists them.",
                   "NOT_FOUND", "source_id")


def sources_table(answer: dict[str, Any]) -> RenderableType:
    """One row a source: its id whole, its folder broken after a "/" (its widest name, up to FOLDER_MIN_WIDTH, on
    one line), words wrapped between words; then the notes that name commands to run."""
    if not answer["sources"]:
        return "No sources: add one with `sightline sources add FOLDER -c COLLECTION`."
    folders = [SlashWrapped(source["path"]) for source in answer["sources"]]
    table = Table()
    table.add_column("id", no_wrap=True)
    table.add_column("folder", min_width=min(FOLDER_MIN_WIDTH, max(folder.longest_word() for folder in folders)))
    for column in ("state", "images", "last sync"):
        table.add_column(column, overflow="fold", min_width=WORDS_MIN_WIDTH)
    for source, folder in zip(answer["sources"], folders):
        synced = f"\n{when(source['last_sync_at'])}" if source["last_sync_at"] else ""
        table.add_row(source["source_id"], folder, escape(state_text(source)), escape(images_text(source)),
                      escape(sync_summary(source)) + synced)
    notes = [whole(escape(note)) for source in answer["sources"] for note in source_notes(source)]
    return Group(at_least(table), *notes)


def state_text(source: dict[str, Any]) -> str:
    """`watching`, `offline (why)`; the re-scan period under it, if any."""
    state = source["state"] + (f" ({source['offline_reason']})" if source["offline_reason"] else "")
    return state + (f"\nre-scan every {source['rescan_minutes']} min" if source["rescan_minutes"] else "")


def source_line(source: dict[str, Any]) -> str:
    excluded = f", excluding {', '.join(source['exclude'])}" if source["exclude"] else ""
    watch = "watched" if source["watch"] else "not watched"
    return f"Source {source['source_id']}: {escape(source['path'])} ({watch}{escape(excluded)}): {source['state']}."


@sources_app.command("list")
@api_command(json_flag=True)
def list_sources(api: IngestClient, out: Output, collection: CollectionOption) -> None:
    """The collection's sources: state (watching, idle, syncing, offline), images, last sync."""
    out.show(api.sources(collection), sources_table)


@sources_app.command("add")
@api_command(json_flag=True)
def add_source(
    api: IngestClient, out: Output,
    folder: Annotated[str, typer.Argument(help="A folder on the service's machine, inside the ingest roots.")],
    collection: CollectionOption,
    watch: Annotated[bool, typer.Option("--watch/--no-watch", help="Ingest changes as they happen.")] = True,
    exclude: ExcludeOption = None,
    rescan_minutes: RescanOption = None,
    follow: FollowOption = False,
) -> None:
    """Follow a folder; its first sync starts at once."""
    fields: dict[str, Any] = {"watch": watch, "exclude": exclude or []}
    if rescan_minutes is not None:
        fields["rescan_minutes"] = rescan_minutes
    source = api.add_source(collection, folder, **fields)
    out.show(source, lambda source: f"{source_line(source)}\nFirst sync: job {source['job_id']}.")
    if follow and not out.as_json:
        following.finish_following(api, source["job_id"], out)


@sources_app.command("edit")
@api_command(json_flag=True)
def edit_source(
    api: IngestClient, out: Output, source: SourceArgument, collection: CollectionOption,
    watch: Annotated[bool | None, typer.Option("--watch/--no-watch", help="Watch it or not.")] = None,
    exclude: ExcludeOption = None,
    no_excludes: Annotated[bool, typer.Option("--no-excludes", help="Exclude nothing any more.")] = False,
    rescan_minutes: RescanOption = None,
) -> None:
    """Change what is given; the source is synced again with it."""
    fields = {"watch": watch, "rescan_minutes": rescan_minutes, "exclude": [] if no_excludes else exclude}
    source_id = source_id_of(api, collection, source)
    out.show(api.edit_source(collection, source_id, **{k: v for k, v in fields.items() if v is not None}),
             source_line)


@sources_app.command("remove")
@api_command(json_flag=True)
def remove_source(
    api: IngestClient, out: Output, source: SourceArgument, collection: CollectionOption,
    remove_images: Annotated[bool, typer.Option("--remove-images", help="Also remove its images from the "
                                                "index (the files on disk are never touched).")] = False,
) -> None:
    """Stop following a folder; its images stay in the index unless --remove-images."""
    source_id = source_id_of(api, collection, source)
    api.remove_source(collection, source_id, remove_points=remove_images)
    kept = "removed from the index" if remove_images else "kept in the index"
    out.show({"source_id": source_id, "removed": True, "images_removed": remove_images},
             lambda _: f"Source {source_id} removed; its images are {kept}.")


@sources_app.command("sync")
@api_command(json_flag=True)
def sync_source(
    api: IngestClient, out: Output, source: SourceArgument, collection: CollectionOption,
    follow: FollowOption = False,
) -> None:
    """Bring the index in line with the folder now."""
    source_id = source_id_of(api, collection, source)
    answer = api.sync_source(collection, source_id)
    out.show(answer, lambda answer: f"Sync of source {source_id}: job {answer['job_id']} ({answer['state']}).")
    if follow and not out.as_json:
        following.finish_following(api, answer["job_id"], out)


@sources_app.command("forget-removed")
@api_command(json_flag=True)
def forget_removed(
    api: IngestClient, out: Output, source: SourceArgument, collection: CollectionOption,
    follow: FollowOption = False,
) -> None:
    """Let the photos removed from the index come back: a sync keeps a removed photo out while its file is
    unchanged; this forgets those removals and syncs the source."""
    source_id = source_id_of(api, collection, source)
    answer = api.forget_removed(collection, source_id)
    out.show(answer, lambda answer: f"Forgot {answer['forgotten']} removed photos of source {source_id}; "
             f"sync: job {answer['job_id']}.")
    if follow and not out.as_json and answer["job_id"]:
        following.finish_following(api, answer["job_id"], out)
