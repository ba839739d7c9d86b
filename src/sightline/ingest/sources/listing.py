"""What a source's folder holds: every image file (text form of its path → size, mtime) under it, minus the
exclude globs, at the cost of `os.scandir` + one `stat` per file (no `resolve` per file: the folder is
resolved once, linked files and folders are not followed).

Exclude globs: a pattern without "/" matches any file or folder name (`*.tmp`, `@eaDir`); a pattern with "/"
matches the path below the source folder, written with a leading "/" (`**/@eaDir/**`, `/raw/*`); `*` and `**`
both match across folders. A folder that matches is not entered.
"""

from __future__ import annotations

import fnmatch
import os
import re
from dataclasses import dataclass, field
from stat import S_ISREG
from typing import NamedTuple

from sightline.imaging import IMAGE_EXTENSIONS
from sightline.ingest.paths import path_text


class FileStat(NamedTuple):  # a tuple: one per file, made fast
    size: int
    mtime_ns: int


@dataclass
class Listing:
    files: dict[str, FileStat] = field(default_factory=dict)  # text form of the path → its stat
    unreadable: list[str] = field(default_factory=list)  # folders (text form) that could not be listed
    excluded: int = 0
    links: int = 0  # linked files and folders, not followed


class Excludes:
    def __init__(self, patterns: list[str]):
        names = [p for p in patterns if "/" not in p]
        paths = [p for p in patterns if "/" in p]
        self._name = _union(names)
        self._path = _union(["/" + p.lstrip("/") if not p.startswith("**") else p for p in paths])
        self.active = bool(names or paths)

    def match(self, name: str, relative: str) -> bool:
        """`relative`: the path below the source folder with a leading "/" (and a trailing one for a folder)."""
        return bool((self._name and self._name.match(name)) or (self._path and self._path.match(relative)))

    def covers(self, relative: str) -> bool:
        """Whether the file at `relative` ("/a/b.jpg") is left out, by itself or by a folder it is in."""
        if not self.active:
            return False
        parts = relative.strip("/").split("/")
        return any(self.match(part, "/" + "/".join(parts[:depth]) + ("/" if depth < len(parts) else ""))
                   for depth, part in enumerate(parts, start=1))


def _union(patterns: list[str]) -> re.Pattern[str] | None:
    return re.compile("|".join(f"(?:{fnmatch.translate(p)})" for p in patterns)) if patterns else None


def list_source(root: str, excludes: Excludes) -> Listing:
    """Every image file under `root` (a real path, surrogate-escaped str), depth first."""
    listing = Listing()
    stack = [(root, "")]
    while stack:
        folder, relative = stack.pop()
        try:
            with os.scandir(folder) as entries:
                for entry in entries:
                    _take(entry, relative, excludes, listing, stack)
        except OSError:
            listing.unreadable.append(path_text(folder))
    return listing


def _take(entry: os.DirEntry, folder: str, excludes: Excludes, listing: Listing,
          stack: list[tuple[str, str]]) -> None:
    """`folder`: the entry's folder below the source folder ("" for the source folder itself, else "/a/b")."""
    name = entry.name
    if name.startswith("."):
        return
    if entry.is_symlink():
        listing.links += 1
        return
    relative = f"{folder}/{name}" if excludes.active else ""  # (only the excludes need it)
    if entry.is_dir(follow_symlinks=False):
        if excludes.active and excludes.match(name, relative + "/"):
            listing.excluded += 1
        else:
            stack.append((entry.path, f"{folder}/{name}"))
        return
    if name[name.rfind("."):].lower() not in IMAGE_EXTENSIONS:  # (no dot: the last letter, never an extension)
        return
    if excludes.active and excludes.match(name, relative):
        listing.excluded += 1
        return
    try:
        stat = entry.stat(follow_symlinks=False)
    except OSError:
        return  # gone between the listing and the stat
    if S_ISREG(stat.st_mode):
        path = entry.path  # plain ASCII without a backslash is its own text form: skip the slower check
        listing.files[path if path.isascii() and "\\" not in path else path_text(path)] = FileStat(
            stat.st_size, stat.st_mtime_ns)
