"""The SQLite schema of the job store (`PRAGMA user_version` holds SCHEMA_VERSION).

Version 2 added the `sources` table (watched folders, `ingest.sources`), `jobs.unchanged` and the file states
"moved" and "removed"; version 3 added `indexed_files` (what the vector store holds per file, and the files a
person removed from the index: `jobdb.indexed`); version 4 added `failed_files` (the files a source's sync could
not read, kept out of its syncs while unchanged: `jobdb.failed`). Opening an older file migrates it
(`create_schema`: every table is created if missing)."""

from __future__ import annotations

import sqlite3

SCHEMA_VERSION = 4

_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    seq            INTEGER PRIMARY KEY AUTOINCREMENT,
    job_id         TEXT NOT NULL UNIQUE,
    collection     TEXT NOT NULL,
    kind           TEXT NOT NULL,
    source         TEXT NOT NULL,
    options        TEXT NOT NULL,
    state          TEXT NOT NULL,
    created_at     TEXT NOT NULL,
    started_at     TEXT,
    finished_at    TEXT,
    error          TEXT,
    run_started_at TEXT,                       -- start of the current (or last) running period
    run_base       INTEGER NOT NULL DEFAULT 0, -- files already processed when that period began
    version        INTEGER NOT NULL DEFAULT 0, -- bumped by every write that touches the job
    unchanged      INTEGER NOT NULL DEFAULT 0  -- files a sync found unchanged (counted "skipped", no row each)
);
CREATE INDEX IF NOT EXISTS jobs_collection ON jobs (collection);
CREATE INDEX IF NOT EXISTS jobs_state ON jobs (state);

CREATE TABLE IF NOT EXISTS files (
    id       INTEGER PRIMARY KEY,
    job      INTEGER NOT NULL,
    path     TEXT NOT NULL,
    size     INTEGER,
    mtime    REAL,
    state    TEXT NOT NULL,
    point_id TEXT,
    sha256   TEXT,
    UNIQUE (job, path)
);
CREATE INDEX IF NOT EXISTS files_job_state ON files (job, state);

CREATE TABLE IF NOT EXISTS job_errors (
    id        INTEGER PRIMARY KEY,
    job       INTEGER NOT NULL,
    path      TEXT NOT NULL,
    stage     TEXT NOT NULL,
    code      TEXT NOT NULL,
    message   TEXT NOT NULL,
    retriable INTEGER NOT NULL,
    at        TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS job_errors_job_path ON job_errors (job, path);

CREATE TABLE IF NOT EXISTS job_logs (
    id      INTEGER PRIMARY KEY AUTOINCREMENT,
    job     INTEGER NOT NULL,
    at      TEXT NOT NULL,
    level   TEXT NOT NULL,
    message TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS job_logs_job ON job_logs (job, id);

CREATE TABLE IF NOT EXISTS sources (
    source_id      TEXT PRIMARY KEY,
    collection     TEXT NOT NULL,
    path           TEXT NOT NULL,
    watch          INTEGER NOT NULL,
    exclude        TEXT NOT NULL,              -- JSON list of globs
    rescan_minutes INTEGER NOT NULL,           -- 0: no periodic re-scan
    offline        TEXT,                       -- why the folder cannot be read (NULL while it can)
    created_at     TEXT NOT NULL,
    last_sync_at   TEXT,
    last_job_id    TEXT,
    UNIQUE (collection, path)
);

CREATE TABLE IF NOT EXISTS indexed_files (
    collection TEXT NOT NULL,
    path       TEXT NOT NULL,              -- text form of the file's path
    size       INTEGER,
    mtime_ns   INTEGER,
    point_id   TEXT,                       -- NULL: a person removed it from the index (kept out while unchanged)
    sha256     TEXT,
    PRIMARY KEY (collection, path)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS indexed_files_removed ON indexed_files (collection, path) WHERE point_id IS NULL;

CREATE TABLE IF NOT EXISTS failed_files (
    collection TEXT NOT NULL,
    path       TEXT NOT NULL,              -- text form of the file's path
    size       INTEGER,
    mtime      REAL,                       -- seconds, as the sync's `files` row has it
    job_id     TEXT NOT NULL,              -- the sync job whose errors name the file
    code       TEXT NOT NULL,
    message    TEXT NOT NULL,
    PRIMARY KEY (collection, path)
) WITHOUT ROWID;
"""

COUNTED_STATES = ("done", "cached", "skipped", "failed", "moved", "removed", "pending")
# One COUNT per state over the covering (job, state) index: about twice as fast as GROUP BY state.
# The last column: the files a sync counted unchanged without a row each (added to "skipped").
COUNTS_SQL = "SELECT " + ", ".join(
    f"(SELECT COUNT(*) FROM files WHERE job = :job AND state = '{state}')" for state in COUNTED_STATES
) + ", (SELECT unchanged FROM jobs WHERE seq = :job)"


def create_schema(conn: sqlite3.Connection) -> None:
    # Statement by statement: executescript() would commit the surrounding transaction.
    for statement in _SCHEMA.split(";"):
        if statement.strip():
            conn.execute(statement)
    columns = {row[1] for row in conn.execute("PRAGMA table_info(jobs)")}
    if "unchanged" not in columns:  # a version-1 file
        conn.execute("ALTER TABLE jobs ADD COLUMN unchanged INTEGER NOT NULL DEFAULT 0")
    conn.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
