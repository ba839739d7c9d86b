"""The server-side folder browser: sub-folders and image counts, only inside the ingest roots; and, for browsing
a collection, its folder tree and its months (both kept until the collection changes, see `ingest.timeline`).

Names and paths are answered in their text form (`ingest.paths.path_text`: a byte that is not UTF-8 reads
`\\xfe`), and a path sent back in that form leads to the same folder."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from sightline.errors import ErrorCode, SightlineError
from sightline.imaging import IMAGE_EXTENSIONS
from sightline.ingest.api import ServicesDep
from sightline.ingest.api.search import store_filters
from sightline.ingest.paths import confine, path_text
from sightline.ingest.schemas import CollectionName, Filters
from sightline.ingest.services import Services
from sightline.ingest.review.marker import collection_marker
from sightline.ingest.timeline import ViewCache, months

router = APIRouter(prefix="/api/v1", tags=["system"])
MAX_BROWSE_ENTRIES = 2000
MAX_TREE_FOLDERS = 5000
UPLOADED = "Uploaded"  # the folder tree's one node for the uploaded photos (kept in a folder per job)


@router.get("/collections/{name}/folders", tags=["collections"])
async def folder_tree(name: CollectionName, services: ServicesDep, request: Request) -> dict:
    """The folders of the collection's photos as a tree, each with the number of photos in it and under it
    (`count`), from the deepest folder that holds them all (`root`; null for an empty collection). Uploaded photos
    are one folder named "Uploaded" under the root, which is then the deepest that holds all the others."""
    def tree() -> dict:
        counts = services.vectors.facet(name, "folder_prefixes", MAX_TREE_FOLDERS)
        return {"root": build_tree({path: count for path, count in counts if count > 0},
                                   services.settings.uploads_dir)}
    return await _cached(request, services, "folders", name, tree)


@router.get("/collections/{name}/months", tags=["collections"])
async def collection_months(name: CollectionName, services: ServicesDep, request: Request,
                            filters: Annotated[Filters, Query()]) -> dict:
    """The years and months (UTC, of the taken date, else the file's time) that hold photos the filters keep
    (those of `/search`), newest first, each with its number of photos (`count`); a listing with
    `filters.taken_before` at a month's end starts there."""
    chosen = store_filters(filters)
    what = f"months {filters.model_dump_json(exclude_none=True)}"
    return await _cached(request, services, what, name, lambda: months(services.vectors, name, chosen))


async def _cached(request: Request, services: Services, what: str, name: str,
                  compute: Callable[[], dict]) -> dict:
    """`compute()`'s answer, worked out again only when the collection has changed since it last was."""
    state = request.app.state
    if getattr(state, "view_cache", None) is None:
        state.view_cache = ViewCache()
    cache: ViewCache = state.view_cache

    def answer() -> dict:
        return cache.get(what, name, collection_marker(services.vectors, services.jobdb, name), compute)
    return await services.call(answer)


def build_tree(counts: dict[str, int], uploads: Path | None = None) -> dict | None:
    """`counts` by folder path (every ancestor included, as `folder_prefixes` has them) → the nested tree; the
    photos under `uploads` are one node, `UPLOADED`, under its root."""
    uploaded, counts = _without_uploads(counts, uploads)
    if not counts:
        return uploaded
    root = _tree(counts)
    if uploaded:
        root["children"].append(uploaded)
        root["count"] += uploaded["count"]
    return root


def _without_uploads(counts: dict[str, int], uploads: Path | None) -> tuple[dict | None, dict[str, int]]:
    """The node of the uploaded photos (None if none), and `counts` without them."""
    forms = [str(uploads), str(uploads.resolve())] if uploads else []
    key = next((path for path in forms if counts.get(path)), None)
    if key is None:
        return None, counts
    folder, count = Path(key), counts[key]
    rest = {}
    for path, total in counts.items():
        if Path(path) in folder.parents:
            total -= count
        elif path == key or folder in Path(path).parents:
            continue
        if total > 0:
            rest[path] = total
    return {"path": key, "name": UPLOADED, "count": count, "children": []}, rest


def _tree(counts: dict[str, int]) -> dict:
    everything = max(counts.values())
    root = max((path for path, count in counts.items() if count == everything), key=lambda p: len(Path(p).parts))
    nodes: dict[str, dict[str, Any]] = {
        path: {"path": path, "name": Path(path).name or path, "count": count, "children": []}
        for path, count in counts.items() if path == root or Path(root) in Path(path).parents}
    for path in sorted(nodes, key=str.lower):
        if path != root:
            parent = str(Path(path).parent)
            nodes.get(parent, nodes[root])["children"].append(nodes[path])
    return nodes[root]


@router.get("/browse")
async def browse(services: ServicesDep, path: Annotated[str | None, Query(max_length=4096)] = None) -> dict:
    """Sub-folders (and the image count) of a folder inside the ingest roots; the roots when no path."""
    roots = services.settings.roots
    if not path:
        return {"path": None, "parent": None,
                "folders": [{"name": path_text(root), "path": path_text(root)} for root in roots if root.is_dir()],
                "images": 0}
    folder = confine(path, roots, where="path")
    if not folder.is_dir():
        raise SightlineError(ErrorCode.NOT_FOUND, f"No folder {path}.", where="path", status=404)
    return await services.call(_list_folder, folder, roots)


def _list_folder(folder: Path, roots: list[Path]) -> dict:
    folders, images = [], 0
    try:
        entries = sorted(os.scandir(folder), key=lambda entry: entry.name.lower())
    except OSError as exc:
        raise SightlineError(ErrorCode.FILE_UNREADABLE, f"Cannot list {path_text(folder)}: {exc.strerror}",
                             where="path", status=403) from None
    for entry in entries[:MAX_BROWSE_ENTRIES]:
        if entry.name.startswith("."):
            continue
        if entry.is_dir(follow_symlinks=False):
            folders.append({"name": path_text(entry.name), "path": path_text(entry.path)})
        elif Path(entry.name).suffix.lower() in IMAGE_EXTENSIONS:
            images += 1
    parent = folder.parent if folder not in roots else None
    return {"path": path_text(folder), "parent": path_text(parent) if parent else None, "folders": folders,
            "images": images}
