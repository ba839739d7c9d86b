"""The copying lane's unfinished work (review tasks of kind `copy` and `merge`), kept on disk (SQLite `copies.db`
under the data dir) so that a service stopped mid-way, killed or shut down, finishes it when it starts again
(`selection.start_review`). One rule for both: a row is written before the work starts and goes once its outcome
is known (completed, failed, or cancelled by a delete of the collection written into); only a stop leaves it.

A copy's row claims its target's name before the collection is made (a second claim of the name is a 409, so two
requests racing for one name cannot both fill it). A merge's row is its source's (one merge of a collection at a
time, as the review tasks run it). The file keeps the name it had when it held copies alone: the table of merges
is added to an existing file the first time it is opened, so a service upgraded mid-copy still resumes it."""

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
CREATE TABLE IF NOT EXISTS unfinished_merge (source TEXT PRIMARY KEY, target TEXT NOT NULL, task_id TEXT NOT NULL);
"""


@dataclass(frozen=True)
class UnfinishedCopy:
    target: str
    source: str
    ids: list[str]
    task_id: str  # the review task that fills it: the same id again once resumed


@dataclass(frozen=True)
class UnfinishedMerge:
    source: str
    target: str
    task_id: str  # the review task that merges: the same id again once resumed


class PendingCopies:
    """Each call opens its own short connection, so any thread may call."""

    def __init__(self, data_dir: Path):
        self.path = data_dir / "copies.db"

    @contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        """A connection; a file that is no SQLite database (or cannot be opened) is STORE_FAILED naming it."""
        try:
            with closing(sqlite3.connect(self.path, timeout=30)) as db, db:
                db.executescript(SCHEMA)
                yield db
        except sqlite3.IntegrityError:
            raise
        except sqlite3.Error as exc:
            raise SightlineError(ErrorCode.STORE_FAILED, f"The record of unfinished copies and merges, {self.path}, "
                                 f"cannot be used ({exc}): move it aside.", where="copies_db", status=503) from None

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

    def record_merge(self, merge: UnfinishedMerge) -> None:
        """Record the merge before its task starts. The caller knows no merge of its source runs, so a row of
        the source left by one that never ended (its start failed) is replaced."""
        with self._db() as db:
            db.execute("INSERT OR REPLACE INTO unfinished_merge VALUES (?, ?, ?)",
                       (merge.source, merge.target, merge.task_id))

    def forget_merge(self, task_id: str) -> None:
        with self._db() as db:
            db.execute("DELETE FROM unfinished_merge WHERE task_id = ?", (task_id,))

    def unfinished_merges(self) -> list[UnfinishedMerge]:
        with self._db() as db:
            rows = db.execute("SELECT source, target, task_id FROM unfinished_merge ORDER BY rowid").fetchall()
        return [UnfinishedMerge(*row) for row in rows]
