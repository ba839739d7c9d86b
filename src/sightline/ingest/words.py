"""A photo's words: what the word half of the search box matches (issue 14).

One tokeniser for both sides, so a query and a payload always agree on what a word is:
`IMG_4411.JPG` → `img 4411 jpg`; `grandmaBirthday80th` → `grandmabirthday80th grandma birthday 80 th`;
`Zürich` → `zürich zurich`; `DSC_0042` → `dsc 0042 42`; a plural also gives its singular (`kids` → `kid`).
A run of letters and digits is kept whole *and* split at case and digit changes, so a query of the whole
(`iphone`) and of a part (`phone`) both match. Ids (long hexadecimal runs, as in upload folders) and
single letters carry no meaning and are dropped; so are a few English filler words (`a`, `of`, `photo`).

The payload's `words` field is one lower-case string of unique tokens, built from: the folder's segments
(relative to the ingest root that holds it), the file name, the format (with its aliases: `heif` → `heic`),
the caption, the camera make and model, the lens, and the year and month the photo was taken.
"""

from __future__ import annotations

import os
import re
import unicodedata
from collections.abc import Iterable, Sequence
from datetime import datetime, timezone
from functools import lru_cache
from pathlib import PurePath
from typing import Any

from sightline.imaging.formats import IMAGE_EXTENSIONS, SUPPORTED_FORMATS
from sightline.ingest.schemas import FORMAT_ALIASES

_RUN = re.compile(r"[^\W_]+")  # letters and digits: `_`, `-`, `.`, spaces and the rest separate
_HEX_ID = re.compile(r"[0-9a-f]{12,}")
STOPWORDS = frozenset(
    "a an and the of in on at to for with from by or is are this that some something like photo photos "
    "picture pictures image images".split()
)
# every spelling of a format a person may type, by the payload's format name
FORMAT_WORDS: dict[str, set[str]] = {}
for _alias, _name in FORMAT_ALIASES.items():
    FORMAT_WORDS.setdefault(_name, {_name}).add(_alias)
MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
          "november", "december")


# What may stand before and after a word by itself in a query ("(2019)", "june, 2019.") without making it
# part of a name: a year or month only means a date when it is a word by itself (see `date_tokens`).
OPENING = "\"'“‘([{"
CLOSING = "\"'”’)]},;:!?."

# What cameras and phones put before every file's number (IMG_4411, DSC_0042, PXL_2023...).
FILE_NAME_PREFIXES = frozenset("img dsc dscn dscf pxl mvimg imag dji gopr gp mg sam wp vid".split())
# A word that can only be a file's name: letters, then a number of 3 digits or more (`BURST_0022`, `P0022`,
# `scan-0002`); `covid19`, `80th` and `2019` are words
_NUMBERED_NAME = re.compile(r"[^\W\d_]+[_-]?\d{3,}")
# Every spelling of a format, extensions included, kept whole as a token: `cr2` is no `cr` and `2` (the `2`
# matched every file numbered 2).
FORMAT_TOKENS = frozenset({*SUPPORTED_FORMATS, *FORMAT_ALIASES, *(e.lstrip(".") for e in IMAGE_EXTENSIONS)})


# A file's extension right after its name in a query (`guitar.jpg`, `IMG_0022.JPG`): the name asks for a file,
# not for every file of its format, so the extension is no word of the query (nor a format fact: `understand`).
_EXTENSION = re.compile(r"(?<=[^\W_])\.(?:" + "|".join(sorted((e.lstrip(".") for e in IMAGE_EXTENSIONS), key=len,
                                                             reverse=True)) + r")(?![^\W_])", re.IGNORECASE)


def without_extensions(text: str) -> str:
    """`text` without the extensions of the file names in it: `guitar.jpg` → `guitar` (a bare `jpg` stays)."""
    return _EXTENSION.sub(" ", text)


def without_words(text: str, held: set[str]) -> str:
    """`text` without its words whose every token group meets `held` (and the stop words just before them:
    `dogs at home` → `dogs` for `home`); `text` itself when no other word would be left."""
    kept: list[str] = []
    pending: list[str] = []  # stop words (or ids) waiting for the word after them
    for word in text.split():
        groups = token_groups(word)
        if not groups:
            pending.append(word)
        elif all(held.intersection(group) for group in groups):
            pending = []
        else:
            kept += [*pending, word]
            pending = []
    return " ".join(kept + pending) if token_groups(" ".join(kept)) else text


def query_groups(text: str) -> tuple[tuple[str, ...], ...]:
    """The word groups of a query that rank a photo by its words: a file name's extension and a camera's
    file-name prefix aside (`IMG_0022.jpg` → `(0022, 22)`)."""
    return distinctive(token_groups(without_extensions(text)))


def distinctive(groups: tuple[tuple[str, ...], ...]) -> tuple[tuple[str, ...], ...]:
    """A query's word groups without file-name prefixes when something else is left: every photo of a
    camera holds `img`, so for `IMG_0013` only `0013` tells the photo asked for from the others."""
    kept = tuple(group for group in groups if not set(group) <= FILE_NAME_PREFIXES)
    return kept or groups


def name_parts(name: str) -> tuple[str, ...]:
    """A file name (or a query) as its lower-case parts, whatever separates them: `IMG_0022 (1)` → `img 0022 1`,
    `DSC9999` → `dsc 9999`."""
    return tuple(part.lower() for run in _RUN.findall(name) for part in split_run(run))


def asked_file(text: str) -> tuple[str, ...] | None:
    """The parts of the file name a query asks for (`name_parts`) when the query is one file name: one word with
    an image extension (`guitar.jpg`, `IMG_0022.JPG`), a camera's prefix and number (`IMG_0022`, `DSC9999`) or
    other letters and a number (`BURST_0022`: not every file of the burst); None for any other query."""
    words = text.split()
    if len(words) != 1:
        return None
    word = words[0].strip(OPENING + CLOSING)
    stem = without_extensions(word).strip()
    parts = name_parts(stem)
    if parts and stem != word or (len(parts) > 1 and parts[0] in FILE_NAME_PREFIXES and parts[1].isdigit()) \
            or _NUMBERED_NAME.fullmatch(stem):
        return parts
    return None


def names_file(asked: tuple[str, ...], filename: str) -> bool:
    """Whether `filename` is named as a query asked (`asked_file`): its stem holds the name asked for whole, part
    after part (`IMG_0022 (1).jpg`, `2019 IMG_0022.jpg`; `my new guitar.jpg` for `guitar.jpg`). `BURST_0022.jpg`
    and `IMG_00221.jpg` are not `IMG_0022`: another camera's file of that number, or another number."""
    parts = name_parts(os.path.splitext(filename)[0])
    return any(parts[start:start + len(asked)] == asked for start in range(len(parts) - len(asked) + 1))


def date_tokens(text: str | None) -> frozenset[str]:
    """The words of a query that may match a photo's date words (`date_words`): a year or a month name that is
    a word by itself (`2019`, `June`, "(2019)"), never one inside a name (`IMG_2019`, `DSC2019`, `2019-trip.jpg`:
    a file's number, not when it was taken)."""
    words = (word.lstrip(OPENING).rstrip(CLOSING).lower() for word in (text or "").split())
    return frozenset(word for word in words if word in MONTHS or (len(word) == 4 and word.isdigit()))


def tokens(text: str | None) -> list[str]:
    """The unique tokens of `text`, in order of first appearance (lower case, stop words left out)."""
    return list(dict.fromkeys(token for group in token_groups(text) for token in group))


@lru_cache(maxsize=8192)  # a library repeats its folders, cameras and captions: each is split once
def token_groups(text: str | None) -> tuple[tuple[str, ...], ...]:
    """The tokens of each word of `text` (its spellings and parts: `Kids_Party` → `(kids, kid), (party,)`);
    a word of stop words, ids and single letters only gives no group."""
    groups: list[tuple[str, ...]] = []
    for run in _RUN.findall(text or ""):
        if _is_id(run.lower()):
            continue
        group = tuple(token for token in dict.fromkeys(_variants(run))
                      if (len(token) > 1 or token.isdigit()) and token not in STOPWORDS)
        if group:
            groups.append(group)
    return tuple(groups)


def split_run(run: str) -> list[str]:
    """A run of letters and digits cut where the case or the kind of character changes:
    `IMGFile80th` → `IMG File 80 th` (any script's upper and lower case)."""
    if run.isdigit() or (run.isalpha() and (run.islower() or run.isupper())):
        return [run]  # the common cases, without a walk over every character
    parts: list[str] = []
    start = 0
    for i in range(1, len(run)):
        before, here = run[i - 1], run[i]
        after = run[i + 1] if i + 1 < len(run) else ""
        if (before.isdigit() != here.isdigit()
                or (before.islower() and here.isupper())
                or (before.isupper() and here.isupper() and after.islower())):
            parts.append(run[start:i])
            start = i
    parts.append(run[start:])
    return parts


def _variants(run: str) -> list[str]:
    if run.lower() in FORMAT_TOKENS:
        return [run.lower()]
    parts = split_run(run)
    out = [run.lower(), *(part.lower() for part in parts)] if len(parts) > 1 else [run.lower()]
    extra: list[str] = []
    for token in out:
        folded = unicodedata.normalize("NFKD", token).encode("ascii", "ignore").decode()
        if folded and folded != token:
            extra.append(folded)
        if token.isdigit() and token.startswith("0") and token.strip("0"):
            extra.append(token.lstrip("0"))
        if len(token) > 3 and token.endswith("s") and not token.endswith("ss") and not token.isdigit():
            extra.append(token[:-1])
    return out + extra


def _is_id(token: str) -> bool:
    return _HEX_ID.fullmatch(token) is not None and any(c.isdigit() for c in token) \
        and any(c.isalpha() for c in token)


def relative_folder(folder: str, roots: Sequence[PurePath | str] = ()) -> str:
    """`folder` relative to the deepest root that holds it (the whole path when none does)."""
    return _relative_folder(folder, tuple(str(root) for root in roots))


@lru_cache(maxsize=8192)
def _relative_folder(folder: str, roots: tuple[str, ...]) -> str:
    path = PurePath(folder)
    best: PurePath | None = None
    for root in map(PurePath, roots):
        if path.is_relative_to(root) and (best is None or len(root.parts) > len(best.parts)):
            best = root
    return str(path.relative_to(best)) if best is not None else str(path)


def field_words(payload: dict[str, Any], roots: Sequence[PurePath | str] = ()) -> dict[str, list[str]]:
    """The tokens of each field a photo's words come from (what the search reports as `matched`: folder,
    filename, caption, camera, lens, format, date); an empty list for a field the payload lacks."""
    folder = payload.get("folder")
    stem, suffix = os.path.splitext(payload.get("filename") or "")
    suffix = suffix.lstrip(".").lower()
    formats = {payload.get("format") or "", suffix} - {""}
    format_words = set().union(*(FORMAT_WORDS.get(name, {name}) for name in formats)) if formats else set()
    camera = " ".join(str(payload.get(key) or "") for key in ("camera_make", "camera_model", "camera"))
    return {
        "folder": tokens(relative_folder(folder, roots)) if folder else [],
        "filename": tokens(stem),
        "caption": tokens(payload.get("caption")),
        "camera": tokens(camera),
        "lens": tokens(payload.get("lens")),
        "format": sorted(format_words),
        "date": date_words(payload.get("taken_at_ts")),
    }


def date_words(taken_at_ts: float | None) -> list[str]:
    """The year and month name a photo was taken in (UTC, as the payload's timestamps are)."""
    if not isinstance(taken_at_ts, (int, float)):
        return []
    try:
        moment = datetime.fromtimestamp(taken_at_ts, timezone.utc)
    except (OverflowError, OSError, ValueError):
        return []
    return [str(moment.year), MONTHS[moment.month - 1]]


def photo_words(payload: dict[str, Any], roots: Sequence[PurePath | str] = ()) -> str:
    """The payload's `words` field: every field's tokens, unique, as one string."""
    return join(token for words in field_words(payload, roots).values() for token in words)


def join(words: Iterable[str]) -> str:
    return " ".join(dict.fromkeys(words))

