"""The review tools' own state, in SQLite under the data dir: the near pairs a scan found (with the collection
marker they were found at), the pairs a user said are not duplicates, and the cached maps. Each call opens
its own short connection, so any thread may call."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any

from sightline.ingest.review.groups import Pair, ordered

SCHEMA = """
CREATE TABLE IF NOT EXISTS near_scan (collection TEXT PRIMARY KEY, marker TEXT NOT NULL, floor REAL NOT NULL);
CREATE TABLE IF NOT EXISTS near_pair (collection TEXT NOT NULL, a TEXT NOT NULL, b TEXT NOT NULL,
    score REAL NOT NULL, PRIMARY KEY (collection, a, b));
CREATE TABLE IF NOT EXISTS dismissed (collection TEXT NOT NULL, a TEXT NOT NULL, b TEXT NOT NULL,
    PRIMARY KEY (collection, a, b));
CREATE TABLE IF NOT EXISTS map_cache (collection TEXT PRIMARY KEY, marker TEXT NOT NULL, body TEXT NOT NULL);
"""


class ReviewState:
    def __init__(self, path: Path):
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        with self._db() as db:
            db.executescript(SCHEMA)

    @contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        with closing(sqlite3.connect(self.path, timeout=30)) as db, db:
            yield db

    # --- near pairs ---

    def near_scan(self, collection: str) -> tuple[str, float] | None:
        """(marker, floor) of the last finished scan, or None."""
        with self._db() as db:
            row = db.execute("SELECT marker, floor FROM near_scan WHERE collection = ?", (collection,)).fetchone()
        return (row[0], row[1]) if row else None

    def save_near(self, collection: str, marker: str, floor: float, pairs: dict[Pair, float]) -> None:
        with self._db() as db:
            db.execute("DELETE FROM near_pair WHERE collection = ?", (collection,))
            db.executemany("INSERT INTO near_pair VALUES (?, ?, ?, ?)",
                           ((collection, a, b, score) for (a, b), score in pairs.items()))
            db.execute("INSERT OR REPLACE INTO near_scan VALUES (?, ?, ?)", (collection, marker, floor))

    def near_pairs(self, collection: str, threshold: float) -> dict[Pair, float]:
        with self._db() as db:
            rows = db.execute("SELECT a, b, score FROM near_pair WHERE collection = ? AND score >= ?",
                              (collection, threshold)).fetchall()
        return {(a, b): score for a, b, score in rows}

    def forget_points(self, collection: str, ids: Iterable[str], marker: str | None) -> None:
        """Points left the collection through the review tools: drop their pairs; the scan stays current at
        `marker` (the collection's marker after the change) when given."""
        ids = list(ids)
        with self._db() as db:
            for table in ("near_pair", "dismissed"):
                db.executemany(f"DELETE FROM {table} WHERE collection = ? AND (a = ? OR b = ?)",  # noqa: S608
                               ((collection, i, i) for i in ids))
            if marker is not None:
                db.execute("UPDATE near_scan SET marker = ? WHERE collection = ?", (marker, collection))

    def forget_collection(self, collection: str) -> None:
        with self._db() as db:
            for table in ("near_scan", "near_pair", "dismissed", "map_cache"):
                db.execute(f"DELETE FROM {table} WHERE collection = ?", (collection,))  # noqa: S608

    # --- "not duplicates" ---

    def dismiss(self, collection: str, pairs: Iterable[Pair]) -> None:
        with self._db() as db:
            db.executemany("INSERT OR IGNORE INTO dismissed VALUES (?, ?, ?)",
                           ((collection, *ordered(a, b)) for a, b in pairs))

    def dismissed(self, collection: str) -> set[Pair]:
        with self._db() as db:
            rows = db.execute("SELECT a, b FROM dismissed WHERE collection = ?", (collection,)).fetchall()
        return {(a, b) for a, b in rows}

    # --- maps ---

    def cached_map(self, collection: str, marker: str) -> dict[str, Any] | None:
        with self._db() as db:
            row = db.execute("SELECT body FROM map_cache WHERE collection = ? AND marker = ?",
                             (collection, marker)).fetchone()
        return json.loads(row[0]) if row else None

    def save_map(self, collection: str, marker: str, body: dict[str, Any]) -> None:
        with self._db() as db:
            db.execute("INSERT OR REPLACE INTO map_cache VALUES (?, ?, ?)", (collection, marker, json.dumps(body)))
