"""The server-side folder browser: sub-folders and image counts, only inside the ingest roots.

Names and paths are answered in their text form (`ingest.paths.path_text`: a byte that is not UTF-8 reads
`\\xfe`), and a path sent back in that form leads to the same folder."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Query

from sightline.errors import ErrorCode, SightlineError
from sightline.imaging import IMAGE_EXTENSIONS
from sightline.ingest.api import ServicesDep
from sightline.ingest.paths import confine, path_text

router = APIRouter(prefix="/api/v1", tags=["system"])
MAX_BROWSE_ENTRIES = 2000


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
