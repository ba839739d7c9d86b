"""Confinement of every server-side path to the ingest roots, folder scanning and upload names.

The text form of a path (one rule, here): the file system gives bytes; Python decodes them with
`surrogateescape`, so a byte that is not UTF-8 becomes a lone surrogate that SQLite, JSON and the vector store
cannot hold. Everywhere outside the file system (the job store, payloads, the API, point ids) a path is its
*text form*, `path_text`: such a byte is written `\\xfe` (two lower-case hex digits), and a literal
backslash that would read as such an escape is written `\\x5c`. Names that are valid UTF-8 and hold no
backslash-x-hex-hex keep their exact text. `fs_path` turns the text form back into the exact name; the mapping
is lossless both ways. Every `str` that `confine` and `open_confined` take is a text form.
"""

from __future__ import annotations

import errno
import os
import re
import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from stat import S_ISREG
from typing import BinaryIO

from sightline.errors import ErrorCode, SightlineError
from sightline.imaging import IMAGE_EXTENSIONS

SAFE_NAME = re.compile(r"[^A-Za-z0-9._ -]+")
_ESCAPE = re.compile(r"\\x([0-9a-f]{2})")
_OPEN_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)


def path_text(path: str | os.PathLike) -> str:
    """The text form of a file-system path (see the module's docstring); always valid UTF-8."""
    raw = os.fspath(path)
    if "\\" not in raw and not any("\udc80" <= ch <= "\udcff" for ch in raw):
        return raw
    out = []
    for index, ch in enumerate(raw):
        if "\udc80" <= ch <= "\udcff":
            out.append(f"\\x{ord(ch) - 0xDC00:02x}")
        elif ch == "\\" and _ESCAPE.match(raw, index):
            out.append("\\x5c")
        else:
            out.append(ch)
    return "".join(out)


def fs_path(text: str) -> str:
    """The exact file-system name (surrogate-escaped str) of a path's text form."""
    if "\\x" not in text:
        return text

    def unescape(match: re.Match[str]) -> str:
        value = int(match.group(1), 16)
        return chr(0xDC00 + value) if value >= 0x80 else "\\" if value == 0x5C else match.group(0)

    return _ESCAPE.sub(unescape, text)


def _shown(raw: str | os.PathLike) -> str:
    """`raw` safe to put into a message (any lone surrogate escaped)."""
    return os.fspath(raw).encode("utf-8", "backslashreplace").decode("utf-8")


def is_inside(path: Path, roots: Sequence[Path]) -> bool:
    return any(path == root or root in path.parents for root in roots)


def confine(raw: str | os.PathLike, roots: Sequence[Path], *, where: str = "directory_path") -> Path:
    """The real path of `raw` (a text form when a str) if it lies inside a root (after resolving `..` and
    symlinks), else 403."""
    if "\x00" in str(raw):
        raise SightlineError(ErrorCode.VALIDATION_ERROR, "The path contains a NUL byte.", where=where, status=422)
    try:
        real = Path(fs_path(raw) if isinstance(raw, str) else raw).expanduser().resolve()
    except (OSError, RuntimeError, ValueError) as exc:  # ValueError: a lone surrogate no file name can hold
        raise SightlineError(ErrorCode.FORBIDDEN, f"The path cannot be resolved: {_shown(str(exc))}", where=where,
                             status=403) from None
    if not is_inside(real, roots):
        allowed = ", ".join(path_text(root) for root in roots) or "(none configured)"
        if not Path(str(raw)).expanduser().is_absolute():  # it was resolved from the service's own folder
            raise SightlineError(ErrorCode.VALIDATION_ERROR, f"{_shown(raw)} is not a full path: give the folder "
                                 f"from the top, inside the ingest roots ({allowed}).", where=where, status=422)
        raise SightlineError(
            ErrorCode.FORBIDDEN,
            f"{_shown(raw)} is outside the ingest roots ({allowed}); to allow it, start `sightline up --roots …` "
            "with it (or set SIGHTLINE_INGEST_ROOTS).",
            where=where,
            status=403,
        )
    return real


def _outside(text: str, why: str) -> SightlineError:
    return SightlineError(ErrorCode.FORBIDDEN, f"refused to read {text}: {why}", where=text, status=403)


def _real_path_of(fd: int, path: str) -> str | None:
    """Where the open file `fd` really is; None when that cannot be told for sure."""
    try:
        return os.readlink(f"/proc/self/fd/{fd}")  # Linux: the path of the opened file itself
    except OSError:
        real = os.path.realpath(path)
        opened, found = os.fstat(fd), os.stat(real)
        return real if (opened.st_dev, opened.st_ino) == (found.st_dev, found.st_ino) else None


def open_confined(text: str, roots: Sequence[Path]) -> BinaryIO:
    """Open a file for reading at read time, not earlier: never through a symbolic link in its last component
    (O_NOFOLLOW), and only if the file opened really lies inside a root (links swapped in on the way are
    caught too). `FORBIDDEN` (403) otherwise; an OSError when it cannot be opened."""
    path = fs_path(text)
    try:
        fd = os.open(path, _OPEN_FLAGS)
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.EMLINK):
            raise _outside(text, "it has become a symbolic link since the scan") from None
        raise
    try:
        real = _real_path_of(fd, path)
        if real is None or not is_inside(Path(real), roots):
            raise _outside(text, "it now leads outside the ingest roots")
        if not S_ISREG(os.fstat(fd).st_mode):
            raise SightlineError(ErrorCode.FILE_UNREADABLE, "not a regular file", where=text)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def read_at_most(handle: BinaryIO, limit: int) -> bytes:
    """The file's bytes, at most `limit` + 1 (one more tells a file over the limit). Sized by the file, not the
    limit: `read(limit + 1)` made a fresh mapping of the whole limit per file, and the kernel cleared every page
    the file filled in it (a fault per 4 kB, 750 for a 3 MB photo). A file that grew since is read on."""
    size = os.fstat(handle.fileno()).st_size
    data = handle.read(min(size, limit) + 1)
    if len(data) > size:
        data += handle.read(limit + 1 - len(data))
    return data


@dataclass
class ScanReport:
    ignored: int = 0  # not an image extension
    hidden: int = 0
    outside: list[str] = field(default_factory=list)  # symlinks leading outside the roots
    unreadable: list[tuple[str, str]] = field(default_factory=list)  # folders that could not be listed


def scan_folder(
    folder: Path, roots: Sequence[Path], *, recursive: bool, report: ScanReport
) -> Iterator[tuple[str, int | None, float | None]]:
    """(real path's text form, size, mtime) of every image file under `folder`, in a stable order (a folder's
    files by name, then its sub-folders by name, depth first); size and mtime are None for a file that cannot
    be stat'ed. Iterative: a tree of any depth is scanned; linked folders are not entered. A file is itself.
    """
    if folder.is_file():
        yield from _one_file(folder, roots, report)
        return
    stack = [str(folder)]
    while stack:
        current = stack.pop()
        try:
            with os.scandir(current) as listing:
                entries = sorted(listing, key=lambda entry: entry.name)
        except OSError as error:
            report.unreadable.append((path_text(current), _shown(error.strerror or str(error))))
            continue
        folders = []
        for entry in entries:
            if entry.name.startswith("."):
                report.hidden += 1
            elif entry.is_dir():
                if not entry.is_symlink():
                    folders.append(entry.path)
            elif os.path.splitext(entry.name)[1].lower() not in IMAGE_EXTENSIONS:
                report.ignored += 1
            else:
                found = _image_entry(Path(entry.path), roots, report)
                if found is not None:
                    yield found
        if recursive:
            stack.extend(reversed(folders))


def _one_file(
    path: Path, roots: Sequence[Path], report: ScanReport
) -> Iterator[tuple[str, int | None, float | None]]:
    if path.suffix.lower() not in IMAGE_EXTENSIONS:
        report.ignored += 1
    elif (found := _image_entry(path, roots, report)) is not None:
        yield found


def _image_entry(
    path: Path, roots: Sequence[Path], report: ScanReport
) -> tuple[str, int | None, float | None] | None:
    try:
        real = path.resolve()
    except (OSError, RuntimeError):
        report.outside.append(path_text(path))
        return None
    if not is_inside(real, roots):
        report.outside.append(path_text(path))
        return None
    try:
        stat = real.stat()
    except OSError:
        return (path_text(real), None, None)  # recorded as FILE_UNREADABLE by the pipeline
    return (path_text(real), stat.st_size, stat.st_mtime)


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
