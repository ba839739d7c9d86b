"""Confinement of every server-side path to the ingest roots, folder scanning and upload names."""

from __future__ import annotations

import os
import re
import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from sightline.errors import ErrorCode, SightlineError
from sightline.imaging import IMAGE_EXTENSIONS

SAFE_NAME = re.compile(r"[^A-Za-z0-9._ -]+")


def is_inside(path: Path, roots: Sequence[Path]) -> bool:
    return any(path == root or root in path.parents for root in roots)


def confine(raw: str | os.PathLike, roots: Sequence[Path], *, where: str = "directory_path") -> Path:
    """The real path of `raw` if it lies inside a root (after resolving `..` and symlinks), else 403."""
    if "\x00" in str(raw):
        raise SightlineError(ErrorCode.VALIDATION_ERROR, "The path contains a NUL byte.", where=where, status=422)
    try:
        real = Path(raw).expanduser().resolve()
    except (OSError, RuntimeError) as exc:
        raise SightlineError(ErrorCode.FORBIDDEN, f"The path cannot be resolved: {exc}", where=where, status=403)
    if not is_inside(real, roots):
        allowed = ", ".join(str(root) for root in roots) or "(none configured)"
        raise SightlineError(
            ErrorCode.FORBIDDEN,
            f"{raw} is outside the ingest roots ({allowed}); set SIGHTLINE_INGEST_ROOTS to allow it.",
            where=where,
            status=403,
        )
    return real


@dataclass
class ScanReport:
    ignored: int = 0  # not an image extension
    hidden: int = 0
    outside: list[str] = field(default_factory=list)  # symlinks leading outside the roots
    unreadable: list[tuple[str, str]] = field(default_factory=list)  # folders that could not be listed


def scan_folder(
    folder: Path, roots: Sequence[Path], *, recursive: bool, report: ScanReport
) -> Iterator[tuple[str, int | None, float | None]]:
    """(real path, size, mtime) of every image file under `folder`, in a stable order; size and mtime are
    None for a file that cannot be stat'ed."""
    def on_error(error: OSError) -> None:
        report.unreadable.append((str(error.filename), error.strerror or str(error)))

    for current, dirs, files in os.walk(folder, onerror=on_error, followlinks=False):
        hidden_dirs = [name for name in dirs if name.startswith(".")]
        report.hidden += len(hidden_dirs)
        dirs[:] = sorted(name for name in dirs if not name.startswith(".")) if recursive else []
        for name in sorted(files):
            if name.startswith("."):
                report.hidden += 1
                continue
            if Path(name).suffix.lower() not in IMAGE_EXTENSIONS:
                report.ignored += 1
                continue
            entry = _image_entry(Path(current) / name, roots, report)
            if entry is not None:
                yield entry


def _image_entry(
    path: Path, roots: Sequence[Path], report: ScanReport
) -> tuple[str, int | None, float | None] | None:
    try:
        real = path.resolve()
    except (OSError, RuntimeError):
        report.outside.append(str(path))
        return None
    if not is_inside(real, roots):
        report.outside.append(str(path))
        return None
    try:
        stat = real.stat()
    except OSError:
        return (str(real), None, None)  # recorded as FILE_UNREADABLE by the pipeline
    return (str(real), stat.st_size, stat.st_mtime)


def safe_upload_name(name: str | None, taken: set[str]) -> str:
    """A file name that cannot escape its folder, is not hidden, and is unique within `taken`."""
    base = unicodedata.normalize("NFKC", (name or "").replace("\\", "/").rsplit("/", 1)[-1])
    base = SAFE_NAME.sub("_", base).strip(" .") or "upload"
    base = base[:120]
    stem, dot, suffix = base.rpartition(".")
    if not dot:
        stem, suffix = base, ""
    candidate, counter = base, 1
    while candidate.lower() in taken:
        candidate = f"{stem}-{counter}.{suffix}" if suffix else f"{stem}-{counter}"
        counter += 1
    taken.add(candidate.lower())
    return candidate
