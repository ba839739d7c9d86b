"""The copies of a selection not yet finished, kept on disk (SQLite `copies.db` under the data dir) so that a
service stopped mid-copy, killed or shut down, finishes them when it starts again (`selection.resume_copies`).

A row claims its target's name before the collection is made (a second claim of the name is a 409, so two
requests racing for one name cannot both fill it) and goes once the copy's outcome is known: completed, failed
and cleaned up, or cancelled by a delete of the collection. Only a stop leaves it."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path

from sightline.errors import ErrorCode, SightlineError

SCHEMA = """
CREATE TABLE IF NOT EXISTS unfinished_copy (target TEXT PRIMARY KEY, source TEXT NOT NULL, ids TEXT NOT NULL,
    task_id TEXT NOT NULL);
"""


@dataclass(frozen=True)
class UnfinishedCopy:
    target: str
    source: str
    ids: list[str]
    task_id: str  # the review task that fills it: the same id again once resumed


class PendingCopies:
    """Each call opens its own short connection, so any thread may call."""

    def __init__(self, data_dir: Path):
        self.path = data_dir / "copies.db"

    @contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        with closing(sqlite3.connect(self.path, timeout=30)) as db, db:
            db.executescript(SCHEMA)
            yield db

    def claim(self, copy: UnfinishedCopy) -> None:
        """Record the copy before its collection is made; a 409 while another copy fills that name."""
        try:
            with self._db() as db:
                db.execute("INSERT INTO unfinished_copy VALUES (?, ?, ?, ?)",
                           (copy.target, copy.source, json.dumps(copy.ids), copy.task_id))
        except sqlite3.IntegrityError:
            raise SightlineError(ErrorCode.CONFLICT, f"Collection {copy.target!r} is already being made.",
                                 where="name", status=409) from None

    def forget(self, target: str) -> None:
        with self._db() as db:
            db.execute("DELETE FROM unfinished_copy WHERE target = ?", (target,))

    def unfinished(self) -> list[UnfinishedCopy]:
        with self._db() as db:
            rows = db.execute("SELECT target, source, ids, task_id FROM unfinished_copy ORDER BY rowid").fetchall()
        return [UnfinishedCopy(target, source, json.loads(ids), task_id) for target, source, ids, task_id in rows]
